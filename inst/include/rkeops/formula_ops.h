// Operations of the formula language that are not plain C++ operators,
// written once for scalars and SIMD vectors alike (T is either).
#pragma once
#include "rkeops/vmath.h"

namespace rk {

// x**n for an integer constant n, by repeated squaring (exact for small n).
template <long long N, class T>
static inline __attribute__((always_inline)) T powi(T x) {
  if constexpr (N < 0) {
    return (T{} + 1.0f) / powi<-N>(x);
  } else if constexpr (N == 0) {
    return T{} + 1.0f;
  } else if constexpr (N == 1) {
    return x;
  } else {
    T h = powi<N / 2>(x);
    if constexpr (N % 2 == 0) return h * h;
    else return h * h * x;
  }
}

}  // namespace rk
