// Reductions, written once as init / accumulate / flush / finalize so that
// the same definition serves the SIMD lanes, the scalar tail, and the merge of
// partial results (tiles now; threads and chunks later).
//
//   acc   : per-lane accumulator (type T = scalar or SIMD vector), ACC slots
//   state : per-output-row running state (scalars), STATE slots
#pragma once
#include "rkeops/simd.h"

namespace rk {

// Sum: lanes accumulate one tile of j (a block of the block_sum scheme), then
// are summed pairwise and flushed into a double-precision row state, so a
// float32 sum over 10^7 terms keeps about 1e-6 relative accuracy.
template <class real, int DIM>
struct SumReduction {
  static constexpr int ACC = DIM;
  static constexpr int STATE = DIM;
  static constexpr bool NEEDS_INDEX = false;
  using state_t = double;

  template <class T>
  static inline void init(T* acc) {
    for (int k = 0; k < DIM; ++k) acc[k] = T{};
  }
  template <class T>
  static inline void accumulate(T* acc, const T* f, const T&) {
    for (int k = 0; k < DIM; ++k) acc[k] += f[k];
  }
  static inline void init_state(state_t* st) {
    for (int k = 0; k < DIM; ++k) st[k] = 0;
  }
  template <class V>
  static inline void flush(state_t* st, const V* acc) {
    for (int k = 0; k < DIM; ++k) st[k] += simd<real>::hsum(acc[k]);
  }
  static inline void flush_scalar(state_t* st, const real* acc) {
    for (int k = 0; k < DIM; ++k) st[k] += acc[k];
  }
  static inline void finalize(const state_t* st, double* out, i64 ld) {
    for (int k = 0; k < DIM; ++k) out[k * ld] = static_cast<real>(st[k]);
  }
};

}  // namespace rk
