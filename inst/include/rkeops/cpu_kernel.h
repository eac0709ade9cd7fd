// The CPU driver every generated operator instantiates. A generated
// `Formula` struct supplies the formula (eval, templated on the value type so
// that one definition serves SIMD lanes and the scalar tail), its variable
// slots and its reduction; this header supplies the loops:
//
//   OpenMP over blocks of output rows
//     tiles of the reduced side (kept in L2)
//       register blocks of IB output rows, broadcast into vectors
//         SIMD over W reduced-side rows at a time, scalar tail after
//
// Formula must define:
//   using real; using Red;                     value type, reduction
//   static constexpr int ROW_CAT;              category indexing output rows (the tag)
//   static constexpr int NROW, NCOL, NPRM;     scalar slots: output side, reduced side, parameters
//   static constexpr int DIM;                  values eval writes: F, then the weight G if any
//   static const int row_slot[][2], col_slot[][2], prm_slot[][2];  {position, coordinate}
//   template <class T> static void eval(const T* row, const T* col, const T* prm, T* out);
#pragma once
#include <stdlib.h>

#include "rkeops/abi.h"
#include "rkeops/fpenv.h"
#include "rkeops/reductions.h"
#include "rkeops/formula_ops.h"
#include "rkeops/vmath.h"

namespace rk {


constexpr int kRegisters = RK_VBYTES == 64 ? 32 : 16;

// Output rows held in registers at once: as many as fit next to the reduced
// side's vectors, at most 8.
template <class F>
constexpr int register_rows() {
  constexpr int per_row = F::NROW + F::Red::ACC + 2;
  constexpr int shared = F::NCOL + F::NPRM + 2;
  constexpr int fit = (kRegisters - shared) / per_row;
  return fit < 1 ? 1 : (fit > 8 ? 8 : fit);
}

template <class F>
struct CpuKernel {
  using real = typename F::real;
  using S = simd<real>;
  using V = typename S::vec;
  using Red = typename F::Red;
  using state_t = typename Red::state_t;
  static constexpr int W = S::lanes;
  static constexpr int IB = register_rows<F>();
  static constexpr int NR = F::NROW > 0 ? F::NROW : 1;
  static constexpr int NC = F::NCOL > 0 ? F::NCOL : 1;
  static constexpr int NP = F::NPRM > 0 ? F::NPRM : 1;
  // Reduced-side rows per tile. Reductions see indices relative to the tile
  // start, exact in float32 (< 2^24), and keep absolute ones as integers.
  static constexpr i64 kTile = 4096;
  static_assert(kTile % W == 0 && kTile <= (i64(1) << 24), "tile size");

  const real* rowp[NR];
  const real* colp[NC];
  real prm[NP];

  explicit CpuKernel(const rkeops_call* c) {
    for (int s = 0; s < F::NROW; ++s) {
      const rkeops_arg& a = c->args[F::row_slot[s][0]];
      rowp[s] = static_cast<const real*>(a.data) + F::row_slot[s][1] * a.ld;
    }
    for (int s = 0; s < F::NCOL; ++s) {
      const rkeops_arg& a = c->args[F::col_slot[s][0]];
      colp[s] = static_cast<const real*>(a.data) + F::col_slot[s][1] * a.ld;
    }
    for (int s = 0; s < F::NPRM; ++s)
      prm[s] = static_cast<const real*>(c->args[F::prm_slot[s][0]].data)[F::prm_slot[s][1]];
  }

  // Rows [i, i + B) against reduced rows [j0, j1); folds into st[B][STATE].
  template <int B>
  inline void block(i64 i, i64 j0, i64 j1, state_t* st) const {
    const i64 jv = j0 + ((j1 - j0) / W) * W;
    if (jv > j0) {
      V xr[B][NR], pv[NP], acc[B][Red::ACC];
      for (int r = 0; r < B; ++r)
        for (int s = 0; s < F::NROW; ++s) xr[r][s] = S::broadcast(rowp[s][i + r]);
      for (int s = 0; s < F::NPRM; ++s) pv[s] = S::broadcast(prm[s]);
      for (int r = 0; r < B; ++r) Red::init(acc[r], st + r * Red::STATE);
      V jidx;
      for (int k = 0; k < W; ++k) jidx[k] = static_cast<real>(k);
      for (i64 j = j0; j < jv; j += W) {
        V yc[NC];
        for (int s = 0; s < F::NCOL; ++s) yc[s] = S::load(colp[s] + j);
        const V jv_idx = jidx + static_cast<real>(j - j0);  // exact: j - j0 < kTile
#pragma GCC unroll 8
        for (int r = 0; r < B; ++r) {
          V f[F::DIM];
          F::eval(xr[r], yc, pv, f);
          Red::accumulate(acc[r], f, jv_idx);
        }
      }
      for (int r = 0; r < B; ++r) Red::flush(st + r * Red::STATE, acc[r], j0);
    }
    for (int r = 0; r < B; ++r) {
      if (jv == j1) break;
      real xs[NR], acc[Red::ACC];
      for (int s = 0; s < F::NROW; ++s) xs[s] = rowp[s][i + r];
      Red::init(acc, st + r * Red::STATE);
      for (i64 j = jv; j < j1; ++j) {
        real yc[NC], f[F::DIM];
        for (int s = 0; s < F::NCOL; ++s) yc[s] = colp[s][j];
        F::eval(xs, yc, prm, f);
        Red::accumulate(acc, f, static_cast<real>(j - j0));
      }
      Red::flush_scalar(st + r * Red::STATE, acc, j0);
    }
  }

  // Rows [i0, i1) against the reduced rows [ja, jb) (tile-aligned ja),
  // folded into st (one state per row).
  void rows_against(i64 i0, i64 i1, i64 ja, i64 jb, state_t* st) const {
    for (i64 j0 = ja; j0 < jb; j0 += kTile) {
      const i64 j1 = j0 + kTile < jb ? j0 + kTile : jb;
      i64 i = i0;
      for (; i + IB <= i1; i += IB) block<IB>(i, j0, j1, st + (i - i0) * Red::STATE);
      for (; i < i1; ++i) block<1>(i, j0, j1, st + (i - i0) * Red::STATE);
    }
  }

  void run(const rkeops_call* c) const {
    const i64 nred = F::ROW_CAT == 0 ? c->N : c->M;
    const i64 r0 = c->row_begin, r1 = c->row_end, rows = r1 - r0;
    const int nthreads = c->nthreads > 0 ? c->nthreads : 1;
    // Blocks small enough to give every thread several, large enough to
    // amortise the reduced side's trips through the cache.
    i64 blk = rows / (4 * nthreads);
    blk = blk < IB ? IB : (blk > 256 ? 256 : blk);
    blk = (blk + IB - 1) / IB * IB;
    const i64 nblk = (rows + blk - 1) / blk;
    const i64 ntiles = (nred + kTile - 1) / kTile;
    // Few output rows and a long reduction (M = 1..100, N = 1e7): split the
    // reduced side across threads instead, then merge the partial states in
    // index order (the reductions' merge keeps ties and NaN rules).
    if (nthreads > 1 && nblk < 2 * nthreads && ntiles >= 2 * nthreads) {
      state_t* all = static_cast<state_t*>(malloc(sizeof(state_t) * nthreads * rows * Red::STATE));
#ifdef _OPENMP
#pragma omp parallel for schedule(static, 1) num_threads(nthreads)
#endif
      for (int t = 0; t < nthreads; ++t) {
        const FlushSubnormals ftz;
        state_t* st = all + t * rows * Red::STATE;
        for (i64 r = 0; r < rows; ++r) Red::init_state(st + r * Red::STATE);
        const i64 ja = ntiles * t / nthreads * kTile, jb = ntiles * (t + 1) / nthreads * kTile;
        rows_against(r0, r1, ja, jb < nred ? jb : nred, st);
      }
      for (i64 r = 0; r < rows; ++r) {
        for (int t = 1; t < nthreads; ++t)
          Red::merge(all + r * Red::STATE, all + (t * rows + r) * Red::STATE);
        Red::finalize(all + r * Red::STATE, c->out + r0 + r, c->out_ld);
      }
      free(all);
      return;
    }
#ifdef _OPENMP
#pragma omp parallel num_threads(nthreads)
#endif
    {
      const FlushSubnormals ftz;  // per thread (see fpenv.h)
      state_t* st = static_cast<state_t*>(malloc(sizeof(state_t) * blk * Red::STATE));
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
      for (i64 b = 0; b < nblk; ++b) {
        const i64 i0 = r0 + b * blk, i1 = i0 + blk < r1 ? i0 + blk : r1;
        for (i64 r = 0; r < i1 - i0; ++r) Red::init_state(st + r * Red::STATE);
        rows_against(i0, i1, 0, nred, st);
        for (i64 i = i0; i < i1; ++i) Red::finalize(st + (i - i0) * Red::STATE, c->out + i, c->out_ld);
      }
      free(st);
    }
  }

};

template <class F>
int run_cpu(const rkeops_call* c, char* err, size_t errlen) {
  if (c->abi_version != RKEOPS_ABI_VERSION) {
    if (err && errlen) __builtin_snprintf(err, errlen, "ABI version mismatch");
    return 1;
  }
  const FlushSubnormals ftz;  // the merges and finalizes outside the threads
  CpuKernel<F>(c).run(c);
  return 0;
}

}  // namespace rk
