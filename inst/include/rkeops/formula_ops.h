// Operations of the formula language that are not plain C++ operators,
// written once for scalars and SIMD vectors alike (T is float, double,
// vfloat or vdouble). Semantics follow spec sections 3.3-3.4 and 6.5.
#pragma once
#include "rkeops/vmath.h"

#define RK_OP template <class T> static inline RK_HD __attribute__((always_inline)) T

namespace rk {

template <class T> struct elem { using type = T; };
template <> struct elem<vfloat> { using type = float; };
template <> struct elem<vdouble> { using type = double; };

// A constant of type T (scalar, or broadcast to every lane).
template <class T>
static inline RK_HD __attribute__((always_inline)) T cst(double v) {
  return T{} + static_cast<typename elem<T>::type>(v);
}

// Applies a scalar function lane by lane: for the functions where a vector
// implementation would not pay (rare in kernels), correctness first.
template <class F> static inline RK_HD __attribute__((always_inline)) float lanewise(float x, F f) { return f(x); }
template <class F> static inline RK_HD __attribute__((always_inline)) double lanewise(double x, F f) { return f(x); }
#ifndef __CUDACC__  // no vector types in device code
template <class F> static inline RK_HD __attribute__((always_inline)) vfloat lanewise(vfloat x, F f) {
  for (int k = 0; k < simd<float>::lanes; ++k) x[k] = f(x[k]);
  return x;
}
template <class F> static inline RK_HD __attribute__((always_inline)) vdouble lanewise(vdouble x, F f) {
  for (int k = 0; k < simd<double>::lanes; ++k) x[k] = f(x[k]);
  return x;
}
#endif
template <class F> static inline RK_HD __attribute__((always_inline)) float lanewise2(float x, float y, F f) { return f(x, y); }
template <class F> static inline RK_HD __attribute__((always_inline)) double lanewise2(double x, double y, F f) { return f(x, y); }
#ifndef __CUDACC__
template <class F> static inline RK_HD __attribute__((always_inline)) vfloat lanewise2(vfloat x, vfloat y, F f) {
  for (int k = 0; k < simd<float>::lanes; ++k) x[k] = f(x[k], y[k]);
  return x;
}
template <class F> static inline RK_HD __attribute__((always_inline)) vdouble lanewise2(vdouble x, vdouble y, F f) {
  for (int k = 0; k < simd<double>::lanes; ++k) x[k] = f(x[k], y[k]);
  return x;
}
#endif

// comparisons as 0/1 values
RK_OP eq(T a, T b) { return select(a == b, cst<T>(1), cst<T>(0)); }
RK_OP ne(T a, T b) { return select(a != b, cst<T>(1), cst<T>(0)); }
RK_OP lt(T a, T b) { return select(a < b, cst<T>(1), cst<T>(0)); }
RK_OP le(T a, T b) { return select(a <= b, cst<T>(1), cst<T>(0)); }

RK_OP abs(T x) { return select(x < cst<T>(0), -x, select(x == cst<T>(0), cst<T>(0), x)); }
// 1, -1 or 0 (NaN gives 0)
RK_OP sign(T x) { return select(x > cst<T>(0), cst<T>(1), select(x < cst<T>(0), cst<T>(-1), cst<T>(0))); }
// 0 for x < 0, else 1 (so Step(0) = 1, NaN gives 1)
RK_OP step(T x) { return select(x < cst<T>(0), cst<T>(0), cst<T>(1)); }
RK_OP relu(T x) { return select(x < cst<T>(0), cst<T>(0), x); }
RK_OP xlogx(T x) { return select(x == cst<T>(0), cst<T>(0), x * rk::log(x)); }
RK_OP sinxdivx(T x) { return select(x == cst<T>(0), cst<T>(1), rk::sin(x) / x); }
RK_OP ifelse(T c, T a, T b) { return select(c >= cst<T>(0), a, b); }
// lo if x < lo, hi if x > hi, else x (NaN stays NaN)
RK_OP clamp(T x, T lo, T hi) { return select(x < lo, lo, select(x > hi, hi, x)); }
RK_OP diffclamp(T x, T lo, T hi) { return select(x >= lo, select(x <= hi, cst<T>(1), cst<T>(0)), cst<T>(0)); }

RK_OP floor(T x) {
  return lanewise(x, [](auto v) { return sizeof(v) == 4 ? __builtin_floorf(v) : __builtin_floor(v); });
}
RK_OP trunc(T x) {
  return lanewise(x, [](auto v) { return sizeof(v) == 4 ? __builtin_truncf(v) : __builtin_trunc(v); });
}
// C's round: halves away from zero
RK_OP round0(T x) {
  return lanewise(x, [](auto v) { return sizeof(v) == 4 ? __builtin_roundf(v) : __builtin_round(v); });
}
template <int D, class T>
static inline RK_HD __attribute__((always_inline)) T round(T x) {
  if constexpr (D == 0) {
    return round0(x);
  } else {
    double s = 1;
    for (int k = 0; k < D; ++k) s *= 10;
    return round0(x * cst<T>(s)) / cst<T>(s);
  }
}
// x - n * floor((x - o) / n): in [o, o + n) for n > 0
RK_OP mod(T x, T n, T o) { return x - n * rk::floor((x - o) / n); }

RK_OP asin(T x) {
  return lanewise(x, [](auto v) { return sizeof(v) == 4 ? __builtin_asinf(v) : __builtin_asin(v); });
}
RK_OP acos(T x) {
  return lanewise(x, [](auto v) { return sizeof(v) == 4 ? __builtin_acosf(v) : __builtin_acos(v); });
}
RK_OP atan(T x) {
  return lanewise(x, [](auto v) { return sizeof(v) == 4 ? __builtin_atanf(v) : __builtin_atan(v); });
}
RK_OP atan2(T y, T x) {
  return lanewise2(y, x, [](auto a, auto b) { return sizeof(a) == 4 ? __builtin_atan2f(a, b) : __builtin_atan2(a, b); });
}
RK_OP powf(T x, T y) {
  return lanewise2(x, y, [](auto a, auto b) { return sizeof(a) == 4 ? __builtin_powf(a, b) : __builtin_pow(a, b); });
}

// x**n for an integer constant n, by repeated squaring
template <long long N, class T>
static inline RK_HD __attribute__((always_inline)) T powi(T x) {
  if constexpr (N < 0) {
    return cst<T>(1) / powi<-N>(x);
  } else if constexpr (N == 0) {
    return cst<T>(1);
  } else if constexpr (N == 1) {
    return x;
  } else {
    T h = powi<N / 2>(x);
    if constexpr (N % 2 == 0) return h * h;
    else return h * h * x;
  }
}

// Running max/min over components: strict comparison, so the first maximum
// wins and a NaN never replaces the current value (spec 3.4).
RK_OP keep_max(T cur, T x) { return select(x > cur, x, cur); }
RK_OP keep_min(T cur, T x) { return select(x < cur, x, cur); }
RK_OP keep_arg_max(T idx, T cur, T x, T k) { return select(x > cur, k, idx); }
RK_OP keep_arg_min(T idx, T cur, T x, T k) { return select(x < cur, k, idx); }

}  // namespace rk

#undef RK_OP
