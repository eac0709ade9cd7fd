// rkeops/simd.h -- portable SIMD vectors for generated operators.
//
// Only GCC vector extensions and __builtin_* functions: no <immintrin.h>,
// no <cmath>, no STL, so that including this header costs next to nothing
// at compile time. Works with g++ >= 9 and clang++ >= 10.
//
// RK_VBYTES is the vector width in bytes. A build may force a path by
// defining it (e.g. -DRK_VBYTES=16); otherwise it follows the target:
// 64 with AVX-512F, 32 with AVX, else 16 (SSE2, NEON, generic).
#ifndef RKEOPS_SIMD_H
#define RKEOPS_SIMD_H

#ifndef RK_VBYTES
#if defined(__AVX512F__)
#define RK_VBYTES 64
#elif defined(__AVX__)
#define RK_VBYTES 32
#else
#define RK_VBYTES 16
#endif
#endif

#if RK_VBYTES != 16 && RK_VBYTES != 32 && RK_VBYTES != 64
#error "RK_VBYTES must be 16, 32 or 64"
#endif

#define RK_INLINE static inline __attribute__((always_inline))

// RK_HD marks the scalar functions of reductions.h and formula_ops.h that GPU
// kernels also call: __host__ __device__ under nvcc (gpu_scalar.h defines it
// before this header is skipped), nothing for the CPU.
#ifndef RK_HD
#define RK_HD
#endif

// RK_HAS_FMA: the target has fused multiply-add instructions (GCC defines
// __FP_FAST_FMA, clang only the ISA macros).
#if defined(__FP_FAST_FMA) || defined(__FMA__) || defined(__ARM_FEATURE_FMA)
#define RK_HAS_FMA 1
#else
#define RK_HAS_FMA 0
#endif

namespace rk {

typedef __INT32_TYPE__ i32;
typedef __INT64_TYPE__ i64;
typedef __UINT32_TYPE__ u32;
typedef __UINT64_TYPE__ u64;

// Vector types. Comparisons of vfloat give vint32, of vdouble give vint64
// (all bits set in true lanes), usable as masks with rk::select.
// (The mask types are taken from the comparisons themselves: GCC gives
// vectors of `long`, clang of `long long`, and overloads must match exactly.)
typedef float vfloat __attribute__((vector_size(RK_VBYTES)));
typedef double vdouble __attribute__((vector_size(RK_VBYTES)));
typedef decltype(vfloat{} < vfloat{}) vint32;
typedef decltype(vdouble{} < vdouble{}) vint64;
typedef u32 vuint32 __attribute__((vector_size(RK_VBYTES)));
typedef u64 vuint64 __attribute__((vector_size(RK_VBYTES)));

// Unaligned, aliasing-safe variants, only for loads and stores.
typedef float vfloat_u
    __attribute__((vector_size(RK_VBYTES), aligned(alignof(float)), __may_alias__));
typedef double vdouble_u
    __attribute__((vector_size(RK_VBYTES), aligned(alignof(double)), __may_alias__));

// Half a vfloat: as many lanes as vdouble (float <-> double conversions).
typedef float vfloat_h __attribute__((vector_size(RK_VBYTES / 2)));

typedef float vfloat16b __attribute__((vector_size(16)));
typedef double vdouble16b __attribute__((vector_size(16)));
RK_INLINE float hsum16(vfloat16b a) { return (a[0] + a[2]) + (a[1] + a[3]); }
RK_INLINE double hsum16(vdouble16b a) { return a[0] + a[1]; }

// Pairwise sum of the lanes of a RK_VBYTES vector of T: add the high half
// to the low half until 16 bytes remain (halves moved by memcpy, which
// compiles to register extracts), then the last lanes.
template <class T, class V>
RK_INLINE T hsum_tree(V v) {
  typedef T v16 __attribute__((vector_size(16)));
  v16 a;
#if RK_VBYTES == 64
  typedef T v32 __attribute__((vector_size(32)));
  v32 h0, h1;
  __builtin_memcpy(&h0, &v, 32);
  __builtin_memcpy(&h1, reinterpret_cast<const char*>(&v) + 32, 32);
  h0 += h1;
  v16 b;
  __builtin_memcpy(&a, &h0, 16);
  __builtin_memcpy(&b, reinterpret_cast<const char*>(&h0) + 16, 16);
  a += b;
#elif RK_VBYTES == 32
  v16 b;
  __builtin_memcpy(&a, &v, 16);
  __builtin_memcpy(&b, reinterpret_cast<const char*>(&v) + 16, 16);
  a += b;
#else
  __builtin_memcpy(&a, &v, 16);
#endif
  return hsum16(a);
}

template <class T> struct simd;

template <> struct simd<float> {
  using scalar = float;
  using vec = vfloat;
  using ivec = vint32;  // mask / integer vector with the same lane count
  static constexpr int lanes = RK_VBYTES / sizeof(float);
  RK_INLINE vec load(const float* p) { return *reinterpret_cast<const vfloat_u*>(p); }
  RK_INLINE void store(float* p, vec v) { *reinterpret_cast<vfloat_u*>(p) = v; }
  // x - 0 (not x + 0) keeps the sign of -0.
  RK_INLINE vec broadcast(float x) { return x - vec{}; }
  RK_INLINE vec zero() { return vec{}; }
  // Pairwise tree sum: error grows as log2(lanes), not lanes.
  RK_INLINE float hsum(vec v) { return hsum_tree<float>(v); }
};

template <> struct simd<double> {
  using scalar = double;
  using vec = vdouble;
  using ivec = vint64;
  static constexpr int lanes = RK_VBYTES / sizeof(double);
  RK_INLINE vec load(const double* p) { return *reinterpret_cast<const vdouble_u*>(p); }
  RK_INLINE void store(double* p, vec v) { *reinterpret_cast<vdouble_u*>(p) = v; }
  RK_INLINE vec broadcast(double x) { return x - vec{}; }
  RK_INLINE vec zero() { return vec{}; }
  RK_INLINE double hsum(vec v) { return hsum_tree<double>(v); }
};

// select(mask, a, b): a where mask is true, b elsewhere. The mask comes
// from a comparison (a vint32/vint64 vector for vectors, bool for scalars).
RK_INLINE float select(bool m, float a, float b) { return m ? a : b; }
RK_INLINE double select(bool m, double a, double b) { return m ? a : b; }
RK_INLINE vfloat select(vint32 m, vfloat a, vfloat b) { return m ? a : b; }
RK_INLINE vdouble select(vint64 m, vdouble a, vdouble b) { return m ? a : b; }
RK_INLINE vint32 select(vint32 m, vint32 a, vint32 b) { return m ? a : b; }
RK_INLINE vint64 select(vint64 m, vint64 a, vint64 b) { return m ? a : b; }

// fma(a, b, c) = a*b + c. Scalars: always fused (correctly rounded).
// Vectors: fused whenever the target has FMA, otherwise a*b + c (which GCC
// may contract).
//
// On x86 the vector forms call the full-width instruction builtins. A
// per-lane loop of __builtin_fmaf would be left to GCC's SLP vectoriser,
// which packs it at the *preferred* vector width of the tuning, not at
// RK_VBYTES: Intel tunings (skylake-avx512 .. sapphirerapids) prefer 256-bit
// vectors and then emit 16 scalar vfmadd231ss plus shuffles for one 512-bit
// fma (exp 20x slower). Every vector operation of these headers must be a
// whole-vector operator or such a builtin, never a loop over lanes, so that
// the width chosen here is the width emitted on every tuning; the test
// test-object-code.R checks the object code of a compiled operator.
#if defined(__has_builtin)
#define RK_HAS_BUILTIN(x) __has_builtin(x)
#else
#define RK_HAS_BUILTIN(x) 0
#endif

#if RK_HAS_FMA && RK_VBYTES == 64 && defined(__AVX512F__) && \
    RK_HAS_BUILTIN(__builtin_ia32_vfmaddps512_mask)
RK_INLINE vfloat fma_lanes(vfloat a, vfloat b, vfloat c) {
  return __builtin_ia32_vfmaddps512_mask(a, b, c, (unsigned short)-1, 4);  // 4: current rounding
}
RK_INLINE vdouble fma_lanes(vdouble a, vdouble b, vdouble c) {
  return __builtin_ia32_vfmaddpd512_mask(a, b, c, (unsigned char)-1, 4);
}
#define RK_FMA_LANES 1
#elif RK_HAS_FMA && RK_VBYTES == 32 && defined(__FMA__) && RK_HAS_BUILTIN(__builtin_ia32_vfmaddps256)
RK_INLINE vfloat fma_lanes(vfloat a, vfloat b, vfloat c) { return __builtin_ia32_vfmaddps256(a, b, c); }
RK_INLINE vdouble fma_lanes(vdouble a, vdouble b, vdouble c) { return __builtin_ia32_vfmaddpd256(a, b, c); }
#define RK_FMA_LANES 1
#elif RK_HAS_FMA && RK_VBYTES == 16 && defined(__FMA__) && RK_HAS_BUILTIN(__builtin_ia32_vfmaddps)
RK_INLINE vfloat fma_lanes(vfloat a, vfloat b, vfloat c) { return __builtin_ia32_vfmaddps(a, b, c); }
RK_INLINE vdouble fma_lanes(vdouble a, vdouble b, vdouble c) { return __builtin_ia32_vfmaddpd(a, b, c); }
#define RK_FMA_LANES 1
#else
#define RK_FMA_LANES 0
#endif

RK_INLINE float fma(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
RK_INLINE double fma(double a, double b, double c) { return __builtin_fma(a, b, c); }
RK_INLINE vfloat fma(vfloat a, vfloat b, vfloat c) {
#if RK_FMA_LANES
  return fma_lanes(a, b, c);
#elif RK_HAS_FMA
  // Not x86 (NEON, ...): no full-width builtin to call; the compilers
  // targeting these have one vector width, so the loop packs to it.
  vfloat r = c;
  for (int k = 0; k < simd<float>::lanes; k++) r[k] = __builtin_fmaf(a[k], b[k], c[k]);
  return r;
#else
  return a * b + c;
#endif
}
RK_INLINE vdouble fma(vdouble a, vdouble b, vdouble c) {
#if RK_FMA_LANES
  return fma_lanes(a, b, c);
#elif RK_HAS_FMA
  vdouble r = c;
  for (int k = 0; k < simd<double>::lanes; k++) r[k] = __builtin_fma(a[k], b[k], c[k]);
  return r;
#else
  return a * b + c;
#endif
}

// True if any lane of a comparison mask is set.
RK_INLINE bool any(vint32 m) {
  i32 acc = 0;
  for (int k = 0; k < simd<float>::lanes; k++) acc |= m[k];
  return acc != 0;
}
RK_INLINE bool any(vint64 m) {
  i64 acc = 0;
  for (int k = 0; k < simd<double>::lanes; k++) acc |= m[k];
  return acc != 0;
}

// Bit casts between same-size vectors (vector casts reinterpret bits).
RK_INLINE vint32 as_int(vfloat v) { return (vint32)v; }
RK_INLINE vint64 as_int(vdouble v) { return (vint64)v; }
RK_INLINE vfloat as_float(vint32 v) { return (vfloat)v; }
RK_INLINE vdouble as_double(vint64 v) { return (vdouble)v; }

// Widen the low and high halves of a vfloat to two vdouble, and back.
RK_INLINE void to_double(vfloat x, vdouble* lo, vdouble* hi) {
  vfloat_h a, b;
  __builtin_memcpy(&a, &x, sizeof a);
  __builtin_memcpy(&b, reinterpret_cast<const char*>(&x) + sizeof a, sizeof b);
  *lo = __builtin_convertvector(a, vdouble);
  *hi = __builtin_convertvector(b, vdouble);
}
RK_INLINE vfloat to_float(vdouble lo, vdouble hi) {
  vfloat_h a = __builtin_convertvector(lo, vfloat_h);
  vfloat_h b = __builtin_convertvector(hi, vfloat_h);
  vfloat x;
  __builtin_memcpy(&x, &a, sizeof a);
  __builtin_memcpy(reinterpret_cast<char*>(&x) + sizeof a, &b, sizeof b);
  return x;
}

}  // namespace rk

#endif  // RKEOPS_SIMD_H
