// rkeops/gpu_scalar.h -- what simd.h and vmath.h provide, for nvcc: the
// scalar types and functions only, as __host__ __device__. Included by
// gpu_kernel.h before reductions.h and formula_ops.h under __CUDACC__; it
// takes the include guards of simd.h and vmath.h, so that no vector type
// (GCC vector extensions) reaches device code. The scalar math maps to the
// CUDA math library, as vmath.h's scalar overloads map to libm.
#ifndef RKEOPS_GPU_SCALAR_H
#define RKEOPS_GPU_SCALAR_H
#ifndef __CUDACC__
#error "gpu_scalar.h is for nvcc only"
#endif
#define RKEOPS_SIMD_H
#define RKEOPS_VMATH_H
#define RK_HD __host__ __device__
#define RK_INLINE static __host__ __device__ __forceinline__
#define RK_VBYTES 16
#define RK_HAS_FMA 1

namespace rk {

typedef __INT32_TYPE__ i32;
typedef __INT64_TYPE__ i64;
typedef __UINT32_TYPE__ u32;
typedef __UINT64_TYPE__ u64;

// Placeholders: the names of the vector types are declared (reductions.h and
// formula_ops.h mention them in overloads) but nothing of them is used.
struct vfloat {};
struct vdouble {};
struct vint32 { RK_HD vint32 operator&(vint32) const { return *this; } };
struct vint64 { RK_HD vint64 operator&(vint64) const { return *this; } };

template <class T> struct simd;
template <> struct simd<float> {
  using scalar = float;
  using vec = float;
  static constexpr int lanes = 1;
  RK_INLINE float load(const float* p) { return *p; }
  RK_INLINE void store(float* p, float v) { *p = v; }
  RK_INLINE float broadcast(float x) { return x; }
  RK_INLINE float zero() { return 0.0f; }
  RK_INLINE float hsum(float v) { return v; }
};
template <> struct simd<double> {
  using scalar = double;
  using vec = double;
  static constexpr int lanes = 1;
  RK_INLINE double load(const double* p) { return *p; }
  RK_INLINE void store(double* p, double v) { *p = v; }
  RK_INLINE double broadcast(double x) { return x; }
  RK_INLINE double zero() { return 0.0; }
  RK_INLINE double hsum(double v) { return v; }
};

RK_INLINE float select(bool m, float a, float b) { return m ? a : b; }
RK_INLINE double select(bool m, double a, double b) { return m ? a : b; }
RK_INLINE float fma(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
RK_INLINE double fma(double a, double b, double c) { return __builtin_fma(a, b, c); }
RK_INLINE bool any(vint32) { return false; }
RK_INLINE bool any(vint64) { return false; }

RK_INLINE float exp(float x) { return __builtin_expf(x); }
RK_INLINE double exp(double x) { return __builtin_exp(x); }
RK_INLINE float log(float x) { return __builtin_logf(x); }
RK_INLINE double log(double x) { return __builtin_log(x); }
RK_INLINE float sqrt(float x) { return __builtin_sqrtf(x); }
RK_INLINE double sqrt(double x) { return __builtin_sqrt(x); }
RK_INLINE float inv(float x) { return 1.0f / x; }
RK_INLINE double inv(double x) { return 1.0 / x; }
RK_INLINE float rsqrt(float x) { return x == 0.0f ? 0.0f : 1.0f / __builtin_sqrtf(x); }
RK_INLINE double rsqrt(double x) { return x == 0.0 ? 0.0 : 1.0 / __builtin_sqrt(x); }
RK_INLINE float sin(float x) { return __builtin_sinf(x); }
RK_INLINE double sin(double x) { return __builtin_sin(x); }
RK_INLINE float cos(float x) { return __builtin_cosf(x); }
RK_INLINE double cos(double x) { return __builtin_cos(x); }

}  // namespace rk

#endif  // RKEOPS_GPU_SCALAR_H
