// Reductions, written once so that the same definition serves the SIMD lanes,
// the scalar tail, and the merge of partial results (tiles now; threads and
// chunks later). The driver (cpu_kernel.h) uses, for each reduction Red:
//
//   ACC, STATE, state_t        per-lane accumulator slots (of the value type
//                              T: scalar or SIMD vector); per-output-row state
//                              (STATE values of state_t)
//   init_state(st)             empty state (spec 4.5 values once finalized)
//   init(acc, st)              start a tile of the reduced side (fresh, or
//                              resumed from st for the direct/Kahan schemes)
//   accumulate(acc, f, jidx)   fold one term; jidx = index of the term
//                              relative to the tile start (exact in float32:
//                              tiles are much shorter than 2^24)
//   flush(st, acc, j0)         fold the lanes of a tile starting at j0 into st
//   flush_scalar(st, acc, j0)  the same for the scalar tail (one lane)
//   merge(st, other)           fold a state covering later indices into st
//   finalize(st, out, ld)      write the output columns (out[c * ld])
//
// Indices are kept exactly: relative to the tile in the lanes, then as 64-bit
// integers in the state, and written as doubles (exact up to 2^53, also in
// float32). Ordering rules (spec 4.2): terms are scanned in increasing index,
// only a strict improvement replaces the best, lanes and tiles merge with
// the smaller index winning among equal values, NaN never wins.
#pragma once
#include "rkeops/simd.h"
#include "rkeops/vmath.h"

namespace rk {

// Summation schemes of sum-type reductions (spec 6.3).
enum { kBlockSum = 0, kDirectSum = 1, kKahanSum = 2 };

namespace red {

RK_INLINE bool any(bool m) { return m; }
using rk::any;
RK_INLINE bool mand(bool a, bool b) { return a && b; }
RK_INLINE vint32 mand(vint32 a, vint32 b) { return a & b; }
RK_INLINE vint64 mand(vint64 a, vint64 b) { return a & b; }

template <class T, class real>
RK_INLINE T splat(real x) {
  return T{} + x;
}

template <class real> RK_HD constexpr real inf() { return static_cast<real>(__builtin_inf()); }

template <bool B, class A, class C> struct cond { using type = A; };
template <class A, class C> struct cond<false, A, C> { using type = C; };

template <class V> struct lanes_of { static constexpr int n = sizeof(V) / sizeof(V{}[0]); };
template <> struct lanes_of<float> { static constexpr int n = 1; };
template <> struct lanes_of<double> { static constexpr int n = 1; };

// Log-sum-exp fold (spec 4.3): state (m, s[NS]) absorbs a term (f, g[NS]) or,
// with MERGE, another state (m2 = f, s2 = g). Invariant: s * exp(m) = sum of
// exp(F) * G. A term f = -inf contributes nothing; merging two states whose
// m are both -inf adds their s. NaN and +inf propagate as IEEE dictates.
template <int NS, bool MERGE, class T, class real>
RK_INLINE void lse_fold(T& m, T* s, const T& f, const T* g, real) {
  const T ninf = splat<T>(-inf<real>());
  const auto up = f > m;
  T d = select(up, m - f, f - m);  // <= 0, NaN if both are the same infinity
  if constexpr (MERGE)
    d = select(mand(f == ninf, m == ninf), T{}, d);
  else
    d = select(f == ninf, ninf, d);
  const T e = rk::exp(d);
  const T one = splat<T>(static_cast<real>(1));
  const T scale = select(up, e, one), wt = select(up, one, e);
  for (int c = 0; c < NS; ++c) s[c] = rk::fma(g[c], wt, s[c] * scale);
  m = select(up, f, m);
}

// Kahan-compensated variant: comp[c] is the compensation of s[c] (the true
// sum is s - comp); it is rescaled with s when m increases.
template <int NS, class T, class real>
RK_INLINE void lse_fold_kahan(T& m, T* s, T* comp, const T& f, const T* g, real) {
  const T ninf = splat<T>(-inf<real>());
  const auto up = f > m;
  T d = select(up, m - f, f - m);
  d = select(f == ninf, ninf, d);
  const T e = rk::exp(d);
  const T one = splat<T>(static_cast<real>(1));
  const T scale = select(up, e, one), wt = select(up, one, e);
  for (int c = 0; c < NS; ++c) {
    const T sc = s[c] * scale;
    const T cc = comp[c] * scale;
    const T y = g[c] * wt - cc;
    const T t = sc + y;
    comp[c] = (t - sc) - y;
    s[c] = t;
  }
  m = select(up, f, m);
}

// Folds the SIMD lanes of a tile's accumulators into the row state one lane
// at a time, with the reduction's own scalar flush: for the reductions whose
// lanes cannot simply be added (orders, indices, log-sum-exp states).
template <class real, int ACC, class V, class State, class Flush>
static inline RK_HD void flush_lanes(State* st, const V* acc, i64 j0, Flush flush_scalar) {
  for (int l = 0; l < simd<real>::lanes; ++l) {
    real a[ACC];
    for (int k = 0; k < ACC; ++k) a[k] = acc[k][l];
    flush_scalar(st, a, j0);
  }
}

}  // namespace red

// ---------------------------------------------------------------- Sum ----
// block_sum (default): lanes accumulate one tile of the reduced side (a
// block), then are summed pairwise and flushed into a double-precision row
// state, so a float32 sum over 10^7 terms keeps about 1e-6 relative accuracy.
// direct_sum: each lane is one running sum in the computation type, kept
// across tiles (stored in the state between tiles), lanes summed at the end.
// kahan_scheme: the same running sums with Kahan compensation.
template <class real, int DIM, int SCHEME = kBlockSum>
struct SumReduction {
  static constexpr int W = simd<real>::lanes;
  static constexpr bool BLOCK = SCHEME == kBlockSum;
  static constexpr bool KAHAN = SCHEME == kKahanSum;
  static constexpr int ACC = KAHAN ? 2 * DIM : DIM;  // sums, then compensations
  static constexpr int STATE = BLOCK ? DIM : ACC * W;
  static constexpr bool NEEDS_INDEX = false;
  using state_t = typename red::cond<BLOCK, double, real>::type;

  static inline RK_HD void init_state(state_t* st) {
    for (int k = 0; k < STATE; ++k) st[k] = 0;
  }
  template <class T>
  static inline RK_HD void init(T* acc, const state_t* st) {
    constexpr int L = red::lanes_of<T>::n;
    for (int k = 0; k < ACC; ++k) {
      if constexpr (BLOCK) {
        acc[k] = T{};
      } else if constexpr (L == 1) {
        acc[k] = st[k * W];
      } else {
        acc[k] = simd<real>::load(st + k * W);
      }
    }
  }
  template <class T>
  static inline RK_HD void accumulate(T* acc, const T* f, const T&) {
    for (int k = 0; k < DIM; ++k) {
      if constexpr (KAHAN) {
        const T y = f[k] - acc[DIM + k];
        const T t = acc[k] + y;
        acc[DIM + k] = (t - acc[k]) - y;
        acc[k] = t;
      } else {
        acc[k] += f[k];
      }
    }
  }
  template <class V>
  static inline RK_HD void flush(state_t* st, const V* acc, i64) {
    for (int k = 0; k < ACC; ++k) {
      if constexpr (BLOCK) st[k] += simd<real>::hsum(acc[k]);
      else simd<real>::store(st + k * W, acc[k]);
    }
  }
  static inline RK_HD void flush_scalar(state_t* st, const real* acc, i64) {
    for (int k = 0; k < ACC; ++k) {
      if constexpr (BLOCK) st[k] += acc[k];
      else st[k * W] = acc[k];
    }
  }
  // Lane-wise: the lanes of `other` continue those of `st`.
  static inline RK_HD void merge(state_t* st, const state_t* other) {
    if constexpr (KAHAN) {
      for (int k = 0; k < DIM; ++k)
        for (int l = 0; l < W; ++l) {
          real* s = st + k * W + l;
          real* c = st + (DIM + k) * W + l;
          const real y = (other[k * W + l] - other[(DIM + k) * W + l]) - *c;
          const real t = *s + y;
          *c = (t - *s) - y;
          *s = t;
        }
    } else {
      for (int k = 0; k < STATE; ++k) st[k] += other[k];
    }
  }
  static inline RK_HD void finalize(const state_t* st, double* out, i64 ld) {
    for (int k = 0; k < DIM; ++k) {
      if constexpr (BLOCK) {
        out[k * ld] = static_cast<real>(st[k]);
      } else if constexpr (KAHAN) {
        double t = 0;
        for (int l = 0; l < W; ++l)
          t += static_cast<double>(st[k * W + l]) - static_cast<double>(st[(DIM + k) * W + l]);
        out[k * ld] = static_cast<real>(t);
      } else {
        out[k * ld] = simd<real>::hsum(simd<real>::load(st + k * W));
      }
    }
  }
};

// ------------------------------------------------------- Min, Max, Arg ----
// OUT: 0 values (D columns), 1 indices (D), 2 values then indices (2D).
// Per lane: the best value of each component and its index (relative to the
// tile); the state: the best value and its absolute index.
template <class real, int D, bool IS_MAX, int OUT>
struct MinMaxReduction {
  static constexpr bool TRACK = OUT != 0;
  static constexpr int ACC = TRACK ? 2 * D : D;
  static constexpr int STATE = D;
  static constexpr bool NEEDS_INDEX = TRACK;
  struct state_t {
    real v;
    i64 i;
  };
  static constexpr real START = IS_MAX ? -red::inf<real>() : red::inf<real>();

  template <class T>
  static inline RK_HD auto better(const T& a, const T& b) {
    if constexpr (IS_MAX) return a > b;
    else return a < b;
  }
  // The one rule: strict improvement, or equal value with a smaller index.
  static inline RK_HD void take(state_t& s, real v, i64 i) {
    if (better(v, s.v) || (TRACK && v == s.v && i < s.i)) {
      s.v = v;
      s.i = i;
    }
  }

  static inline RK_HD void init_state(state_t* st) {
    for (int k = 0; k < D; ++k) st[k] = state_t{START, 0};
  }
  template <class T>
  static inline RK_HD void init(T* acc, const state_t*) {
    for (int k = 0; k < D; ++k) acc[k] = red::splat<T>(START);
    if constexpr (TRACK)
      for (int k = 0; k < D; ++k) acc[D + k] = T{};
  }
  template <class T>
  static inline RK_HD void accumulate(T* acc, const T* f, const T& jidx) {
    for (int k = 0; k < D; ++k) {
      const auto m = better(f[k], acc[k]);
      acc[k] = select(m, f[k], acc[k]);
      if constexpr (TRACK) acc[D + k] = select(m, jidx, acc[D + k]);
    }
  }
  static inline RK_HD void flush_scalar(state_t* st, const real* acc, i64 j0) {
    for (int k = 0; k < D; ++k) {
      // A lane still at the start value never saw a winning term.
      if (acc[k] == START) continue;
      take(st[k], acc[k], TRACK ? j0 + static_cast<i64>(acc[D + k]) : 0);
    }
  }
  template <class V>
  static inline RK_HD void flush(state_t* st, const V* acc, i64 j0) {
    red::flush_lanes<real, ACC>(st, acc, j0, flush_scalar);
  }
  static inline RK_HD void merge(state_t* st, const state_t* other) {
    for (int k = 0; k < D; ++k)
      if (other[k].v != START) take(st[k], other[k].v, other[k].i);
  }
  static inline RK_HD void finalize(const state_t* st, double* out, i64 ld) {
    for (int k = 0; k < D; ++k) {
      if (OUT != 1) out[k * ld] = st[k].v;
      if (OUT == 1) out[k * ld] = static_cast<double>(st[k].i);
      if (OUT == 2) out[(D + k) * ld] = static_cast<double>(st[k].i);
    }
  }
};

// ----------------------------------------------------------- K-min ----
// OUT: 0 values (K*D columns, column r*D + c), 1 indices (same layout),
// 2 both (column r*2D + c the value, r*2D + D + c its index).
// Per lane and component: a sorted list of the K best (value, index) pairs,
// in registers; a new term is inserted after every stored value <= it (so
// equal values keep increasing indices), with an early rejection test
// against the current K-th value. Lanes and tiles merge by (value, index).
template <class real, int D, int K, int OUT>
struct KMinReduction {
  static constexpr bool TRACK = OUT != 0;
  static constexpr int ACC = TRACK ? 2 * K * D : K * D;  // values [c*K + r], then indices
  static constexpr int STATE = K * D;                    // [c*K + r]
  static constexpr bool NEEDS_INDEX = TRACK;
  struct state_t {
    real v;
    i64 i;
  };

  // Inserts (v, i) into the sorted list s[0..K-1] ordered by (value, index).
  static inline RK_HD bool insert(state_t* s, real v, i64 i) {
    int p = K;
    for (int r = K - 1; r >= 0; --r) {
      if (v < s[r].v || (TRACK && v == s[r].v && i < s[r].i)) p = r;
      else break;
    }
    if (p == K) return false;
    for (int r = K - 1; r > p; --r) s[r] = s[r - 1];
    s[p] = state_t{v, i};
    return true;
  }

  static inline RK_HD void init_state(state_t* st) {
    for (int k = 0; k < STATE; ++k) st[k] = state_t{red::inf<real>(), 0};
  }
  // Relative index of the placeholder below: beyond any tile, exact in float.
  static constexpr real kBeyond = static_cast<real>(1 << 24);

  // Each lane's list starts empty except for its K-th slot, which holds the
  // row's current K-th value (a placeholder with an index beyond the tile):
  // terms that cannot enter the row's K best are then rejected early, and
  // the placeholder itself never enters the state (equal value, larger index).
  template <class T>
  static inline RK_HD void init(T* acc, const state_t* st) {
    for (int k = 0; k < K * D; ++k) acc[k] = red::splat<T>(red::inf<real>());
    if constexpr (TRACK)
      for (int k = 0; k < K * D; ++k) acc[K * D + k] = T{};
    for (int c = 0; c < D; ++c) {
      acc[c * K + K - 1] = red::splat<T>(st[c * K + K - 1].v);
      if constexpr (TRACK) acc[K * D + c * K + K - 1] = red::splat<T>(kBeyond);
    }
  }
  template <class T>
  static inline RK_HD void accumulate(T* acc, const T* f, const T& jidx) {
    for (int c = 0; c < D; ++c) {
      T* v = acc + c * K;
      T* ix = acc + K * D + c * K;
      const T x = f[c];
      auto mr = x < v[K - 1];
      if (!red::any(mr)) continue;
      // Slot r takes v[r-1] if x goes before r-1, x if it goes exactly at r,
      // else keeps v[r]; the masks compare x with the old list only.
      for (int r = K - 1; r >= 1; --r) {
        const auto mp = x < v[r - 1];
        v[r] = select(mp, v[r - 1], select(mr, x, v[r]));
        if constexpr (TRACK) ix[r] = select(mp, ix[r - 1], select(mr, jidx, ix[r]));
        mr = mp;
      }
      v[0] = select(mr, x, v[0]);
      if constexpr (TRACK) ix[0] = select(mr, jidx, ix[0]);
    }
  }
  static inline RK_HD void flush_scalar(state_t* st, const real* acc, i64 j0) {
    for (int c = 0; c < D; ++c)
      for (int r = 0; r < K; ++r) {
        const real v = acc[c * K + r];
        if (!(v < red::inf<real>())) break;  // the rest are empty slots
        const i64 i = TRACK ? j0 + static_cast<i64>(acc[K * D + c * K + r]) : 0;
        if (!insert(st + c * K, v, i)) break;  // the rest are worse still
      }
  }
  template <class V>
  static inline RK_HD void flush(state_t* st, const V* acc, i64 j0) {
    red::flush_lanes<real, ACC>(st, acc, j0, flush_scalar);
  }
  static inline RK_HD void merge(state_t* st, const state_t* other) {
    for (int c = 0; c < D; ++c)
      for (int r = 0; r < K; ++r) {
        const state_t& o = other[c * K + r];
        if (!(o.v < red::inf<real>()) || !insert(st + c * K, o.v, o.i)) break;
      }
  }
  static inline RK_HD void finalize(const state_t* st, double* out, i64 ld) {
    for (int c = 0; c < D; ++c)
      for (int r = 0; r < K; ++r) {
        const state_t& s = st[c * K + r];
        if (OUT == 0) out[(r * D + c) * ld] = s.v;
        if (OUT == 1) out[(r * D + c) * ld] = static_cast<double>(s.i);
        if (OUT == 2) {
          out[(r * 2 * D + c) * ld] = s.v;
          out[(r * 2 * D + D + c) * ld] = static_cast<double>(s.i);
        }
      }
  }
};

// ------------------------------------------------- Log-sum-exp family ----
// The formula gives f = F (dimension 1) then G (DG components, weighted
// modes only). MODE:
//   0 Max_SumShiftExp        [m, s]            (G = 1)
//   1 Max_SumShiftExpWeight  [m, s_0..s_DG-1]
//   2 LogSumExp              m + log(s)        (G = 1)
//   3 LogSumExpWeight        m + log(s_c)
//   4 SumSoftMaxWeight       s_c / s_den       (G' = [1, G])
// State (m, s[NS]) of spec 4.3, folded with red::lse_fold. Sum schemes as for
// SumReduction: block (lanes per tile, merged into a double state), direct
// (per-lane running states in the computation type, kept across tiles),
// Kahan (the same with compensated s).
template <class real, int DG, int MODE, int SCHEME = kBlockSum>
struct LseReduction {
  static constexpr int W = simd<real>::lanes;
  static constexpr bool WEIGHT = MODE == 1 || MODE == 3 || MODE == 4;
  static constexpr bool DEN = MODE == 4;
  static constexpr int NS = WEIGHT ? DG + (DEN ? 1 : 0) : 1;
  static constexpr bool BLOCK = SCHEME == kBlockSum;
  static constexpr bool KAHAN = SCHEME == kKahanSum;
  static constexpr int ACC = 1 + (KAHAN ? 2 : 1) * NS;  // m, s[NS], (comp[NS])
  static constexpr int STATE = BLOCK ? 1 + NS : ACC * W;
  static constexpr bool NEEDS_INDEX = false;
  using state_t = typename red::cond<BLOCK, double, real>::type;

  template <class T>
  static inline RK_HD void weights(const T* f, T* g) {
    const T one = red::splat<T>(static_cast<real>(1));
    if constexpr (!WEIGHT) {
      g[0] = one;
    } else {
      if constexpr (DEN) g[0] = one;
      for (int c = 0; c < DG; ++c) g[(DEN ? 1 : 0) + c] = f[1 + c];
    }
  }

  static inline RK_HD void init_state(state_t* st) {
    constexpr int L = BLOCK ? 1 : W;
    for (int k = 0; k < STATE; ++k) st[k] = 0;
    for (int l = 0; l < L; ++l) st[l] = -red::inf<real>();
  }
  template <class T>
  static inline RK_HD void init(T* acc, const state_t* st) {
    constexpr int L = red::lanes_of<T>::n;
    for (int k = 0; k < ACC; ++k) {
      if constexpr (BLOCK) acc[k] = k == 0 ? red::splat<T>(-red::inf<real>()) : T{};
      else if constexpr (L == 1) acc[k] = st[k * W];
      else acc[k] = simd<real>::load(st + k * W);
    }
  }
  template <class T>
  static inline RK_HD void accumulate(T* acc, const T* f, const T&) {
    T g[NS];
    weights(f, g);
    if constexpr (KAHAN) red::lse_fold_kahan<NS>(acc[0], acc + 1, acc + 1 + NS, f[0], g, real{});
    else red::lse_fold<NS, false>(acc[0], acc + 1, f[0], g, real{});
  }
  // One lane's state (m, s) in the state type, into a block-scheme state.
  static inline RK_HD void fold_lane(state_t* st, const real* a) {
    state_t s2[NS];
    for (int c = 0; c < NS; ++c) s2[c] = static_cast<state_t>(a[1 + c]);
    red::lse_fold<NS, true>(st[0], st + 1, static_cast<state_t>(a[0]), s2, state_t{});
  }
  static inline RK_HD void flush_scalar(state_t* st, const real* acc, i64) {
    if constexpr (BLOCK) fold_lane(st, acc);
    else
      for (int k = 0; k < ACC; ++k) st[k * W] = acc[k];
  }
  template <class V>
  static inline RK_HD void flush(state_t* st, const V* acc, i64 j0) {
    if constexpr (BLOCK) {
      red::flush_lanes<real, ACC>(st, acc, j0, flush_scalar);
    } else {
      for (int k = 0; k < ACC; ++k) simd<real>::store(st + k * W, acc[k]);
    }
  }
  // The merged lanes of a state, as (m, s[NS]) in double.
  static inline RK_HD void collapse(const state_t* st, double* ms) {
    if constexpr (BLOCK) {
      for (int k = 0; k <= NS; ++k) ms[k] = st[k];
    } else {
      ms[0] = -red::inf<double>();
      for (int c = 0; c < NS; ++c) ms[1 + c] = 0;
      for (int l = 0; l < W; ++l) {
        double s2[NS];
        for (int c = 0; c < NS; ++c) {
          s2[c] = st[(1 + c) * W + l];
          if constexpr (KAHAN) s2[c] -= static_cast<double>(st[(1 + NS + c) * W + l]);
        }
        red::lse_fold<NS, true>(ms[0], ms + 1, static_cast<double>(st[l]), s2, 0.0);
      }
    }
  }
  static inline RK_HD void merge(state_t* st, const state_t* other) {
    if constexpr (BLOCK) {
      red::lse_fold<NS, true>(st[0], st + 1, other[0], other + 1, state_t{});
    } else {
      // Lane-wise: lane l of `other` continues lane l of `st`.
      for (int l = 0; l < W; ++l) {
        real m = st[l], s[NS], s2[NS];
        for (int c = 0; c < NS; ++c) {
          s[c] = st[(1 + c) * W + l];
          s2[c] = other[(1 + c) * W + l];
          if constexpr (KAHAN) {
            s[c] -= st[(1 + NS + c) * W + l];
            s2[c] -= other[(1 + NS + c) * W + l];
          }
        }
        red::lse_fold<NS, true>(m, s, other[l], s2, real{});
        st[l] = m;
        for (int c = 0; c < NS; ++c) {
          st[(1 + c) * W + l] = s[c];
          if constexpr (KAHAN) st[(1 + NS + c) * W + l] = 0;
        }
      }
    }
  }
  static inline RK_HD void finalize(const state_t* st, double* out, i64 ld) {
    double ms[1 + NS];
    collapse(st, ms);
    const double m = ms[0];
    if constexpr (MODE == 0 || MODE == 1) {
      out[0] = static_cast<real>(m);
      for (int c = 0; c < NS; ++c) out[(1 + c) * ld] = static_cast<real>(ms[1 + c]);
    } else if constexpr (MODE == 2 || MODE == 3) {
      for (int c = 0; c < NS; ++c) out[c * ld] = static_cast<real>(m + __builtin_log(ms[1 + c]));
    } else {
      for (int c = 0; c < DG; ++c) out[c * ld] = static_cast<real>(ms[2 + c] / ms[1]);
    }
  }
};

// ------------------------------------------------------------ Zero ----
// Zero_Reduction(d, t): d columns of zeros, whatever the data.
template <class real, int DIM>
struct ZeroReduction {
  static constexpr int ACC = 1;
  static constexpr int STATE = 1;
  static constexpr bool NEEDS_INDEX = false;
  using state_t = double;
  static inline RK_HD void init_state(state_t* st) { st[0] = 0; }
  template <class T> static inline RK_HD void init(T* acc, const state_t*) { acc[0] = T{}; }
  template <class T> static inline RK_HD void accumulate(T*, const T*, const T&) {}
  template <class V> static inline RK_HD void flush(state_t*, const V*, i64) {}
  static inline RK_HD void flush_scalar(state_t*, const real*, i64) {}
  static inline RK_HD void merge(state_t*, const state_t*) {}
  static inline RK_HD void finalize(const state_t*, double* out, i64 ld) {
    for (int k = 0; k < DIM; ++k) out[k * ld] = 0;
  }
};

}  // namespace rk
