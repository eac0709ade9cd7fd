// rkeops/vmath.h -- branch-free vector math for generated operators.
//
// Each function is overloaded for float, double, vfloat and vdouble. Scalar
// overloads call the compiler's builtins (libm); vector overloads are written
// here with GCC vector extensions only (see simd.h), so the header is cheap
// to compile.
//
// Accuracy (max error in ulps, tests/vmath/run.sh; float: every float, on
// AVX-512 with FMA; double: 10^7 random and structured points):
//            float  double
//   exp      1.01   0.76    (float: Cephes expf polynomial; double
//                           without AVX-512: 0.96)
//   log      0.89   0.81
//   sin, cos 0.56   0.83    for |x| <= 1.6e9; beyond, per lane libm
//   sqrt     0.5    0.5     (correctly rounded), inv 0.5
//   rsqrt    1.49   1.49    (1 / sqrt(x), two roundings)
// Special values follow C99 Annex F (NaN in, NaN out; exp overflows to +Inf
// and underflows gradually through the denormals to +0; log(0) = -Inf,
// log(x < 0) = NaN; sin/cos(+-Inf) = NaN; sin(-0) = -0), and KeOps for
// rsqrt: rsqrt(+-0) = 0, rsqrt(+Inf) = 0, rsqrt(x < 0) = NaN.
//
// Requirements on flags: no -ffast-math / -ffinite-math-only (NaN and Inf
// handling and the compensated sums need IEEE semantics). sqrt and rsqrt of
// vectors become one vsqrtps/vsqrtpd only with -fno-math-errno (otherwise
// they stay correct but run lane by lane).
//
// Polynomial coefficients: exp(float) uses the published Cephes expf
// coefficients; all others are Chebyshev interpolants of the stated
// function on the stated interval, computed for rkeops with mpmath.chebyfit
// (60 digits) and rounded to the target precision; the max error of each
// (with rounded coefficients) is given next to it, in ulps of the result.
#ifndef RKEOPS_VMATH_H
#define RKEOPS_VMATH_H

#include "simd.h"

namespace rk {

namespace vm {
RK_INLINE vfloat bc(float c) { return c - vfloat{}; }
RK_INLINE vdouble bc(double c) { return c - vdouble{}; }

// Horner's scheme with FMAs, coefficients from the highest degree down:
// horner(x, c0, c1, c2) = (c0 x + c1) x + c2.
template <class V> RK_INLINE V horner_from(V p, V) { return p; }
template <class V, class S, class... Cs>
RK_INLINE V horner_from(V p, V x, S c, Cs... cs) {
  return horner_from(fma(p, x, bc(c)), x, cs...);
}
template <class V, class S, class... Cs>
RK_INLINE V horner(V x, S c0, Cs... cs) {
  return horner_from(bc(c0), x, cs...);
}

// Cephes expf: e^r = 1 + r + r^2 * P(r), |r| <= ln2/2.
RK_INLINE vfloat expf_reduced(vfloat r) {
  const vfloat p = horner(r, 1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f,
                          1.6666665459e-1f, 5.0000001201e-1f);
  return fma(p, r * r, r) + 1.0f;
}
}  // namespace vm

// ---------------------------------------------------------------- exp ----
RK_INLINE float exp(float x) { return __builtin_expf(x); }
RK_INLINE double exp(double x) { return __builtin_exp(x); }

// exp(x) = 2^n * e^r, n = round(x / ln2), r = x - n*ln2 (Cody-Waite, |r| <=
// ln2/2). 2^n is applied as 2^n1 * 2^n2 with n1 = n >> 1, n2 = n - n1, so
// that n = 128 overflows to +Inf and n down to -150 rounds once into the
// denormals. NaN inputs give NaN (see the clamp).
#if RK_VBYTES == 64 && defined(__AVX512F__) && defined(__GNUC__) && !defined(__clang__)
// With AVX-512, rounding (vrndscale) and scaling by 2^n (vscalef, which
// handles overflow, gradual underflow and NaN in one instruction) are single
// instructions, reached through GCC's builtins so that no intrinsics header
// is included: 15 instructions per vector instead of 24.
#define RK_EXP_AVX512 1
#endif

RK_INLINE vfloat exp(vfloat x) {
  using namespace vm;
#ifdef RK_EXP_AVX512
  // Clamp to [-104, 88.8] keeping NaN: vmaxps/vminps return their second
  // operand when either is NaN.
  x = __builtin_ia32_maxps512_mask(bc(-104.0f), x, x, (unsigned short)-1, 4);
  x = __builtin_ia32_minps512_mask(bc(88.8f), x, x, (unsigned short)-1, 4);
  const vfloat n = __builtin_ia32_rndscaleps_mask(x * 1.44269504088896341f, 8, x, (unsigned short)-1, 4);
  vfloat r = fma(n, bc(-0.693359375f), x);
  r = fma(n, bc(2.12194440e-4f), r);
  const vfloat y = expf_reduced(r);
  return __builtin_ia32_scalefps512_mask(y, n, y, (unsigned short)-1, 4);
#else
  const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to integer
  // Clamp to [-104, 88.8]: e^88.8 > FLT_MAX (n = 128: +Inf), e^-104 < 2^-150
  // (result 0).
#if defined(__clang__)
  // clang turns these into vminps/vmaxps; NaN is kept (comparisons with NaN
  // are false) and propagates through the arithmetic.
  x = x > 88.8f ? bc(88.8f) : x;
  x = x < -104.0f ? bc(-104.0f) : x;
#else
  // GCC emits compare + blend for the float form; integer min/max on the
  // bits is ~20% faster overall: as signed ints, floats >= 0 are ordered
  // and negative ones are below; as unsigned ints, negative floats are
  // ordered by magnitude above the positive ones. +-NaN get clamped here and
  // are restored at the end.
  const vfloat x0 = x;
  {
    vint32 xi = (vint32)x;
    const vint32 hi = (vint32)bc(88.8f);
    xi = xi > hi ? hi : xi;
    vuint32 xu = (vuint32)xi;
    const vuint32 lo = (vuint32)bc(-104.0f);
    xu = xu > lo ? lo : xu;
    x = (vfloat)xu;
  }
#endif
  vfloat t = fma(x, bc(1.44269504088896341f), bc(magic));
  vfloat n = t - magic;
  vuint32 nu = (vuint32)t - (vuint32)bc(magic);  // n as integer, low bits
  vfloat r = fma(n, bc(-0.693359375f), x);       // exact: n*C1 has <= 17 bits
  r = fma(n, bc(2.12194440e-4f), r);             // ln2 = C1 - 2.12194440e-4
  vfloat y = expf_reduced(r);
  vint32 n1 = (vint32)nu >> 1;
  vuint32 n2 = nu - (vuint32)n1;
  vfloat s1 = (vfloat)(((vuint32)n1 + 127u) << 23);
  vfloat s2 = (vfloat)((n2 + 127u) << 23);
#if defined(__clang__)
  return y * s1 * s2;
#else
  return x0 == x0 ? y * s1 * s2 : x0;
#endif
#endif
}

namespace vm {
// x - n ln2 for the double exp's reductions (Cody-Waite: ln2_hi has 40
// significant bits, so n * ln2_hi is exact for |n| < 2^13).
RK_INLINE vdouble minus_n_ln2(vdouble x, vdouble n) {
  const vdouble r = fma(n, bc(-0x1.62e42fefa2000p-1), x);
  return fma(n, bc(-0x1.9ef35793c7673p-41), r);
}
}  // namespace vm

#ifdef RK_EXP_AVX512
// With AVX-512 the double exp uses a table of 2^(j/8), j = 0..7, held in
// one register (as a sum hi + lo of two doubles) and indexed by vpermpd:
// x = (k/8) ln2 + r, |r| <= ln2/16, so a degree-7 polynomial suffices
// instead of degree 12, and n = k/8 is found with one FMA (its ulp is 1/8
// after adding 1.5 * 2^49; the low 3 bits of that sum are k mod 8).
// vscalefpd multiplies by 2^floor(k/8). This saves a third of the
// instructions: exp dominates a Gaussian kernel's inner loop.
RK_INLINE vdouble exp(vdouble x) {
  using namespace vm;
  // Clamp to [-746, 746] keeping NaN (vmaxpd/vminpd return their second
  // operand when either is NaN; vrangepd would take one instruction but
  // loses NaN). Beyond, vscalefpd saturates to +Inf or 0, and k stays exact.
  x = __builtin_ia32_maxpd512_mask(bc(-746.0), x, x, (unsigned char)-1, 4);
  x = __builtin_ia32_minpd512_mask(bc(746.0), x, x, (unsigned char)-1, 4);
  const double magic = 0x1.8p49;  // ulp 1/8
  const vdouble t = fma(x, bc(1.4426950408889634), bc(magic));
  const vdouble n = t - magic;  // k / 8, exact
  const vdouble r = minus_n_ln2(x, n);
  // e^r - 1 = r + r^2 * Q(r), |r| <= ln2/16, fit error 0.045 ulp
  const vdouble q = horner(r, 0x1.a01e2c15a33f3p-13, 0x1.6c1b7131a0993p-10, 0x1.1111110e10556p-7,
                           0x1.5555554e93acap-5, 0x1.555555555556ap-3, 0x1.000000000002ep-1);
  const vdouble p = fma(q, r * r, r);
  // 2^(j/8) = hi + lo, rounded to nearest (mpmath, 60 digits)
  const vdouble hi = {0x1p+0, 0x1.172b83c7d517bp+0, 0x1.306fe0a31b715p+0, 0x1.4bfdad5362a27p+0,
                      0x1.6a09e667f3bcdp+0, 0x1.8ace5422aa0dbp+0, 0x1.ae89f995ad3adp+0,
                      0x1.d5818dcfba487p+0};
  const vdouble lo = {0.0, -0x1.19041b9d78a76p-55, 0x1.6f46ad23182e4p-55, 0x1.d4397afec42e2p-56,
                      -0x1.bdd3413b26456p-54, 0x1.6e9f156864b27p-54, 0x1.7a1cd345dcc81p-54,
                      0x1.2ed02d75b3707p-55};
  typedef long long v8ll __attribute__((vector_size(64)));
  const v8ll j = (v8ll)t;  // vpermpd reads the low 3 bits
  const vdouble th = __builtin_ia32_permvardf512_mask(hi, j, hi, (unsigned char)-1);
  const vdouble tl = __builtin_ia32_permvardf512_mask(lo, j, lo, (unsigned char)-1);
  const vdouble y = th + fma(th, p, tl);
  return __builtin_ia32_scalefpd512_mask(y, n, y, (unsigned char)-1, 4);
}
#else
RK_INLINE vdouble exp(vdouble x) {
  using namespace vm;
  const double magic = 6755399441055744.0;  // 1.5 * 2^52
  x = x > 710.0 ? bc(710.0) : x;    // n = 1024: +Inf
  x = x < -746.0 ? bc(-746.0) : x;  // below 2^-1075: 0
  vdouble t = fma(x, bc(1.4426950408889634), bc(magic));
  vdouble n = t - magic;
  vuint64 nu = (vuint64)t - (vuint64)bc(magic);
  const vdouble r = minus_n_ln2(x, n);
  // e^r = 1 + r + r^2 * Q(r), |r| <= 0.3467, fit error 0.003 ulp
  const vdouble q = horner(r, 0x1.1f7315649f2d7p-29, 0x1.af4e092e1705bp-26, 0x1.27e4db5bb725ap-22,
                           0x1.71de02225a2f3p-19, 0x1.a01a01a6db488p-16, 0x1.a01a01abeccc3p-13,
                           0x1.6c16c16c162cfp-10, 0x1.11111111100d3p-7, 0x1.5555555555556p-5,
                           0x1.5555555555557p-3, 0.5);
  vdouble y = fma(q, r * r, r) + 1.0;
  vint64 n1 = (vint64)nu >> 1;
  vuint64 n2 = nu - (vuint64)n1;
  vdouble s1 = (vdouble)(((vuint64)n1 + 1023u) << 52);
  vdouble s2 = (vdouble)((n2 + 1023u) << 52);
  return y * s1 * s2;
}
#endif

// ---------------------------------------------------------------- log ----
RK_INLINE float log(float x) { return __builtin_logf(x); }
RK_INLINE double log(double x) { return __builtin_log(x); }

// x = 2^k * m, m in [sqrt(1/2), sqrt(2)) found by integer arithmetic on the
// bits (denormals are first scaled into the normal range); f = m - 1 exact;
// log x = k*ln2 + log1p(f). Special values are patched at the end.
RK_INLINE vfloat log(vfloat x) {
  using namespace vm;
  vint32 sub = x < 1.17549435e-38f;  // denormal (or <= 0, patched below)
  vfloat xs = sub ? x * 8388608.0f : x;  // * 2^23
  vuint32 ix = (vuint32)xs - 0x3f3504f3u;  // bits of sqrt(1/2)
  vint32 k = ((vint32)ix >> 23) + (sub & -23);
  vfloat f = (vfloat)((ix & 0x007fffffu) + 0x3f3504f3u) - 1.0f;
  // log1p(f) = f - f^2/2 + f^3 P(f), f in [-0.293, 0.415], fit error 0.06 ulp
  vfloat p = horner(f, 0x1.1d8ea6p-4f, -0x1.d635bcp-4f, 0x1.dea282p-4f, -0x1.fcf4c6p-4f, 0x1.23d21ap-3f,
                    -0x1.555b4ap-3f, 0x1.999d5ap-3f, -0x1.fffffcp-3f, 0x1.555554p-2f);
  vfloat t = (f * f) * fma(f, p, bc(-0.5f));  // f^3 P - f^2/2
  vfloat kf = __builtin_convertvector(k, vfloat);
  vfloat lo = fma(kf, bc(-2.12194440e-4f), t);   // ln2 = 0.693359375 - 2.12e-4
  vfloat res = fma(kf, bc(0.693359375f), f + lo);  // k*C1 exact
  res = x < __builtin_inff() ? res : x;            // +Inf, NaN
  res = x < 0.0f ? bc(__builtin_nanf("")) : res;   // negative, -Inf
  res = x == 0.0f ? bc(-__builtin_inff()) : res;   // +-0
  return res;
}

RK_INLINE vdouble log(vdouble x) {
  using namespace vm;
  const double magic = 6755399441055744.0;
  vint64 sub = x < 2.2250738585072014e-308;
  vdouble xs = sub ? x * 18014398509481984.0 : x;  // * 2^54
  vuint64 ix = (vuint64)xs - 0x3fe6a09e667f3bcdull;
  vint64 k = ((vint64)ix >> 52) + (sub & -54);
  vdouble f = (vdouble)((ix & 0x000fffffffffffffull) + 0x3fe6a09e667f3bcdull) - 1.0;
  // log1p(f) = 2 atanh(s) = 2s + s R, s = f/(2+f), R = z T(z), z = s^2
  // (z <= 0.0295, fit error 0.04 ulp), arranged as f - (h - s (h + R)),
  // h = f^2/2, so that the large terms are exact.
  vdouble s = f / (2.0 + f);
  vdouble z = s * s;
  vdouble q = horner(z, 0x1.2b584aae78a57p-3, 0x1.39fe606542ddep-3, 0x1.7462b4ab2ef6bp-3,
                     0x1.c71c62e5800a1p-3, 0x1.2492492df148dp-2, 0x1.99999999952e2p-2,
                     0x1.5555555555558p-1);
  vdouble R = z * q;
  vdouble h = 0.5 * f * f;
  vdouble kd = (vdouble)((vuint64)k + (vuint64)bc(magic)) - magic;  // int64 -> double
  vdouble u = fma(s, h + R, kd * 0x1.9ef35793c7673p-41);  // + k*ln2_lo
  vdouble res = fma(kd, bc(0x1.62e42fefa2000p-1), f - (h - u));  // k*ln2_hi exact
  res = x < __builtin_inf() ? res : x;
  res = x < 0.0 ? bc(__builtin_nan("")) : res;
  res = x == 0.0 ? bc(-__builtin_inf()) : res;
  return res;
}

// --------------------------------------------------------------- sqrt ----
// One vsqrtps/vsqrtpd of RK_VBYTES on x86 (see fma_lanes in simd.h for why
// not a lane loop). Elsewhere the lane loop compiles to one vector sqrt with
// -fno-math-errno; with errno semantics GCC keeps a scalar sqrt (and a libm
// call for negative or NaN lanes) per lane: same results, slower.
RK_INLINE float sqrt(float x) { return __builtin_sqrtf(x); }
RK_INLINE double sqrt(double x) { return __builtin_sqrt(x); }
#if RK_VBYTES == 64 && defined(__AVX512F__) && RK_HAS_BUILTIN(__builtin_ia32_sqrtps512_mask)
RK_INLINE vfloat sqrt(vfloat x) { return __builtin_ia32_sqrtps512_mask(x, x, (unsigned short)-1, 4); }
RK_INLINE vdouble sqrt(vdouble x) { return __builtin_ia32_sqrtpd512_mask(x, x, (unsigned char)-1, 4); }
#elif RK_VBYTES == 32 && defined(__AVX__) && RK_HAS_BUILTIN(__builtin_ia32_sqrtps256)
RK_INLINE vfloat sqrt(vfloat x) { return __builtin_ia32_sqrtps256(x); }
RK_INLINE vdouble sqrt(vdouble x) { return __builtin_ia32_sqrtpd256(x); }
#else
RK_INLINE vfloat sqrt(vfloat x) {
  vfloat r = x;
  for (int k = 0; k < simd<float>::lanes; k++) r[k] = __builtin_sqrtf(x[k]);
  return r;
}
RK_INLINE vdouble sqrt(vdouble x) {
  vdouble r = x;
  for (int k = 0; k < simd<double>::lanes; k++) r[k] = __builtin_sqrt(x[k]);
  return r;
}
#endif

// ------------------------------------------------------------ inv, rsqrt --
// inv(x) = 1/x. rsqrt(x) = 1/sqrt(x) with the KeOps convention rsqrt(0) = 0
// (also for -0); rsqrt(+Inf) = 0, rsqrt(x < 0) = NaN.
RK_INLINE float inv(float x) { return 1.0f / x; }
RK_INLINE double inv(double x) { return 1.0 / x; }
RK_INLINE vfloat inv(vfloat x) { return 1.0f / x; }
RK_INLINE vdouble inv(vdouble x) { return 1.0 / x; }
RK_INLINE float rsqrt(float x) { return x == 0.0f ? 0.0f : 1.0f / __builtin_sqrtf(x); }
RK_INLINE double rsqrt(double x) { return x == 0.0 ? 0.0 : 1.0 / __builtin_sqrt(x); }
RK_INLINE vfloat rsqrt(vfloat x) {
  vfloat r = 1.0f / rk::sqrt(x);
  return x == 0.0f ? vfloat{} : r;
}
RK_INLINE vdouble rsqrt(vdouble x) {
  vdouble r = 1.0 / rk::sqrt(x);
  return x == 0.0 ? vdouble{} : r;
}

// ----------------------------------------------------------- sin, cos ----
RK_INLINE float sin(float x) { return __builtin_sinf(x); }
RK_INLINE double sin(double x) { return __builtin_sin(x); }
RK_INLINE float cos(float x) { return __builtin_cosf(x); }
RK_INLINE double cos(double x) { return __builtin_cos(x); }

namespace vm {
// Reduction x = n pi/2 + r, |r| <= pi/4 (Cody-Waite): pi/2 = P1 + P2 + P3 +
// P4 + P5, P1..P4 with 23 significant bits so that n*Pk is exact for
// |n| < 2^30, i.e. |x| < 1.6e9 (larger lanes are computed by libm).
// x - n P1 - n P2 is exact; the rest is accumulated as a double-double
// (r, rl) with exact two-sums, so that r keeps full relative accuracy even
// when x is very close to a multiple of pi/2. The float versions compute in
// double with x - n P1 - n P2 - n (P3 + P4 + P5), ample for float.
// Returns sin (COS = false) or cos (COS = true) of x.
const double kPio2_1 = 0x1.921fb4p+0;
const double kPio2_2 = 0x1.4442dp-24;
const double kPio2_3 = 0x1.846988p-48;
const double kPio2_4 = 0x1.8cc514p-72;
const double kPio2_5 = 0x1.80dc1cd129025p-95;
const double kPio2_3f = 0x1.8469898cc5170p-48;  // P3 + P4 + P5 rounded
const double kSinCosLimit = 1.6e9;

template <bool COS, bool FLOAT, class VD, class VI>
RK_INLINE VD sincos_core(VD x) {
  typedef __attribute__((vector_size(sizeof(VD)))) u64 VU;
  const double magic = 6755399441055744.0;
  const VD zero = VD{};
  VD t = fma(x, 0.63661977236758134 - zero, magic - zero);
  VD n = t - magic;
  VU q = (VU)t;  // low bits: n mod 4
  VD r = fma(n, -kPio2_1 - zero, x);  // exact
  r = fma(n, -kPio2_2 - zero, r);     // exact
  VD z, s, c;
  if (FLOAT) {
    r = fma(n, -kPio2_3f - zero, r);
    z = r * r;
    // float accuracy suffices: fits with errors 0.05 and 0.02 float ulp
    VD ps = fma(fma(fma(2.7243811473454116e-06 - zero, z, -0.00019840039021801203 - zero), z,
                    0.008333331905305386 - zero), z, -0.1666666716337204 - zero);
    VD pc = fma(fma(2.4542896426282823e-05 - zero, z, -0.0013888279208913445 - zero), z,
                0.0416666641831398 - zero);
    s = fma(r * z, ps, r);
    c = fma(z * z, pc, 1.0 - 0.5 * z);
  } else {
    VD w3 = n * kPio2_3, w4 = n * kPio2_4;  // exact
    VD h = r - w3, b = h - r;               // two-sum r - w3 = h + e
    VD e = (r - (h - b)) - (w3 + b);
    VD h2 = h - w4;                         // two-sum h - w4 = h2 + e2
    b = h2 - h;
    VD e2 = (h - (h2 - b)) - (w4 + b);
    VD lo = (e + e2) - n * kPio2_5;
    r = h2 + lo;                            // fast two-sum: r + rl exact
    VD rl = lo - (r - h2);
    z = r * r;
    // sin(r) = r + r z S(z), cos(r) = 1 - z/2 + z^2 C(z), |r| <= pi/4,
    // fit errors 0.20 and 0.012 ulp; rl enters to first order.
    VD ps = fma(0x1.5dfb4dfaf15abp-33 - zero, z, -0x1.ae5fdeb852566p-26 - zero);
    ps = fma(ps, z, 0x1.71de376b9c575p-19 - zero);
    ps = fma(ps, z, -0x1.a01a019e623afp-13 - zero);
    ps = fma(ps, z, 0x1.1111111110b23p-7 - zero);
    ps = fma(ps, z, -0x1.5555555555555p-3 - zero);
    VD pc = fma(-0x1.906dd38cb66a1p-37 - zero, z, 0x1.1eeb52bea9072p-29 - zero);
    pc = fma(pc, z, -0x1.27e4fa025e03dp-22 - zero);
    pc = fma(pc, z, 0x1.a01a019f3df42p-16 - zero);
    pc = fma(pc, z, -0x1.6c16c16c1691fp-10 - zero);
    pc = fma(pc, z, 0x1.5555555555555p-5 - zero);
    s = r + fma(r * z, ps, rl * (1.0 - 0.5 * z));
    VD hz = 0.5 * z, w = 1.0 - hz;  // 1 - hz = w + ((1 - w) - hz) exactly
    c = w + (((1.0 - w) - hz) + fma(z * z, pc, -(r * rl)));
  }
  VI odd = (VI)((q & 1) != 0);
  VD res = COS ? (odd ? s : c) : (odd ? c : s);
  VU sign = ((COS ? q + 1 : q) & 2) << 62;
  return (VD)((VU)res ^ sign);
}

// Lanes with |x| > kSinCosLimit: libm, out of line (rare, cold).
static inline __attribute__((noinline, cold)) void sincos_libm(bool cos, int n, const double* x,
                                                              const i64* big, double* res) {
  for (int k = 0; k < n; k++)
    if (big[k]) res[k] = cos ? __builtin_cos(x[k]) : __builtin_sin(x[k]);
}
static inline __attribute__((noinline, cold)) void sincos_libm(bool cos, int n, const float* x,
                                                              const i32* big, float* res) {
  for (int k = 0; k < n; k++)
    if (big[k]) res[k] = cos ? __builtin_cosf(x[k]) : __builtin_sinf(x[k]);
}

// Lanes with |x| beyond the vector reduction's range (flagged in `big`) are
// recomputed by libm, one by one; the others keep `res`.
template <class S, class I, class V, class M>
static inline V sincos_big_lanes(bool cos, V x, V res, M big) {
  constexpr int L = sizeof(V) / sizeof(S);
  S xs[L], rs[L];
  I bs[L];
  __builtin_memcpy(xs, &x, sizeof xs);
  __builtin_memcpy(rs, &res, sizeof rs);
  __builtin_memcpy(bs, &big, sizeof bs);
  sincos_libm(cos, L, xs, bs, rs);
  __builtin_memcpy(&res, rs, sizeof rs);
  return res;
}

template <bool COS>
RK_INLINE vdouble sincos_d(vdouble x) {
  vdouble res = sincos_core<COS, false, vdouble, vint64>(x);
  if (!COS) res = x == 0.0 ? x : res;  // sin(-0) = -0
  vdouble ax = (vdouble)((vuint64)x & 0x7fffffffffffffffull);
  vint64 big = (ax > kSinCosLimit) & (ax < __builtin_inf());
  if (__builtin_expect(any(big), 0)) res = sincos_big_lanes<double, i64>(COS, x, res, big);
  return res;
}

template <bool COS>
RK_INLINE vfloat sincos_f(vfloat x) {
  vdouble lo, hi;
  to_double(x, &lo, &hi);
  lo = sincos_core<COS, true, vdouble, vint64>(lo);
  hi = sincos_core<COS, true, vdouble, vint64>(hi);
  vfloat res = to_float(lo, hi);
  if (!COS) res = x == 0.0f ? x : res;
  vfloat ax = (vfloat)((vuint32)x & 0x7fffffffu);
  vint32 big = (ax > (float)kSinCosLimit) & (ax < __builtin_inff());
  if (__builtin_expect(any(big), 0)) res = sincos_big_lanes<float, i32>(COS, x, res, big);
  return res;
}
}  // namespace vm

RK_INLINE vfloat sin(vfloat x) { return vm::sincos_f<false>(x); }
RK_INLINE vfloat cos(vfloat x) { return vm::sincos_f<true>(x); }
RK_INLINE vdouble sin(vdouble x) { return vm::sincos_d<false>(x); }
RK_INLINE vdouble cos(vdouble x) { return vm::sincos_d<true>(x); }

}  // namespace rk

#endif  // RKEOPS_VMATH_H
