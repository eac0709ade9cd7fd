// rkeops/gpu_kernel.h -- the GPU driver every generated GPU operator
// instantiates, from the same `Formula` struct as cpu_kernel.h (see there)
// and the same reductions (reductions.h), through their scalar path:
// init_state, init / accumulate with T = real, flush_scalar, finalize.
//
// One thread per output row. The reduced side is read in tiles of RK_BLOCK
// rows staged in shared memory (each thread loads one row's slots), with a
// barrier before and after; each thread then folds the tile into its row's
// state. Rows beyond one grid are handled by a grid-stride loop.
//
// Neither side has to fit in GPU memory (run_gpu): output rows are processed
// in chunks, and a reduced side too large for the device is cut into chunks
// too, one launch per chunk, the row states kept in a device buffer between
// launches (saved by one launch, resumed by the next, so the reduction runs
// as in one pass over the whole reduced side; chunks of whole tiles give
// bit-identical results).
//
// The kernel is written in a block-synchronous style through a few macros
// (RK_KERNEL, RK_SHARED, RK_PRIVATE/RK_MINE, RK_SYNC, RK_THREAD_LOOP), so that
// the very same source compiles
//   * with nvcc: a real __global__ kernel (RK_THREAD_LOOP runs once, for
//     threadIdx.x; RK_SYNC is __syncthreads());
//   * with a C++ compiler: the EMULATION target, where each block runs its
//     threads as loops (every phase between two barriers is one loop over the
//     threads, per-thread variables that live across barriers are arrays
//     indexed by the thread, shared memory is a per-block array), blocks in
//     parallel with OpenMP.
// The host side (rkeops_run) is also shared: device buffers are cudaMalloc'd
// under nvcc and plain host memory in emulation.
#pragma once
#ifdef __CUDACC__
#include <cuda_runtime.h>
#include "rkeops/gpu_scalar.h"
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rkeops/abi.h"
#ifndef __CUDACC__
#include "rkeops/fpenv.h"
#endif
#include "rkeops/reductions.h"
#include "rkeops/formula_ops.h"

#ifndef RK_BLOCK
#define RK_BLOCK 192  // threads per block = reduced-side rows per tile
#endif
#ifndef RK_EMU_GRID
#define RK_EMU_GRID 4  // emulation: at most this many blocks (grid-stride loop beyond)
#endif

// ------------------------------------------------------------ macro layer --
#ifdef __CUDACC__
#define RK_KERNEL(name, ...) __global__ void __launch_bounds__(RK_BLOCK) name(__VA_ARGS__)
#define RK_BLOCK_ID ((rk::i64)blockIdx.x)
#define RK_GRID_DIM ((rk::i64)gridDim.x)
#define RK_SHARED(type, name, n) __shared__ type name[n]
#define RK_PRIVATE(type, name, n) type name##_priv_[n]
#define RK_MINE(name, tid) (name##_priv_)
#define RK_SYNC() __syncthreads()
#define RK_THREAD_LOOP(tid) for (int tid = threadIdx.x, rk_once_ = 1; rk_once_; rk_once_ = 0)
#else
#define RK_KERNEL(name, ...) void name(rk::i64 rk_block_id_, rk::i64 rk_grid_dim_, __VA_ARGS__)
#define RK_BLOCK_ID rk_block_id_
#define RK_GRID_DIM rk_grid_dim_
#define RK_SHARED(type, name, n) \
  rk::EmuArray<type> name##_store_((n), 1); type* name = name##_store_.p
#define RK_PRIVATE(type, name, n) rk::EmuArray<type> name##_priv_((n), RK_BLOCK)
#define RK_MINE(name, tid) (name##_priv_.p + (tid) * name##_priv_.stride)
#define RK_SYNC() ((void)0)
#define RK_THREAD_LOOP(tid) for (int tid = 0; tid < RK_BLOCK; ++tid)
#endif

namespace rk {

#ifndef __CUDACC__
// Emulation storage: per-block shared memory, per-thread private arrays.
template <class T>
struct EmuArray {
  T* p;
  i64 stride;
  EmuArray(i64 n, i64 copies) : p(static_cast<T*>(malloc(sizeof(T) * (n > 0 ? n : 1) * copies))),
                                stride(n) {}
  ~EmuArray() { free(p); }
  EmuArray(const EmuArray&) = delete;
  EmuArray& operator=(const EmuArray&) = delete;
};
#endif

template <class F>
struct GpuParams {
  using real = typename F::real;
  using state_t = typename F::Red::state_t;
  static constexpr int NR = F::NROW > 0 ? F::NROW : 1;
  static constexpr int NC = F::NCOL > 0 ? F::NCOL : 1;
  static constexpr int NP = F::NPRM > 0 ? F::NPRM : 1;
  const real* rowp[NR];  // output-side slots, from the chunk's first row
  const real* colp[NC];  // reduced-side slots, from the reduced chunk's first row
  real prm[NP];
  double* out;           // the chunk's first output row
  i64 out_ld;
  i64 rows;              // output rows in this chunk
  i64 nred;              // reduced-side rows in this reduced chunk
  i64 j_offset;          // index of the reduced chunk's first row in the whole reduced side
  // Row states between the launches over the reduced chunks: state k of row
  // i at states[k * rows + i] (consecutive threads, consecutive addresses).
  // Unused (nullptr) when the reduced side is one chunk (first && last).
  state_t* states;
  bool first;            // first reduced chunk: start from empty states
  bool last;             // last reduced chunk: write the output
};

// --------------------------------------------------------------- kernel --
template <class F>
RK_KERNEL(reduce_kernel, GpuParams<F> p) {
  using real = typename F::real;
  using Red = typename F::Red;
  using state_t = typename Red::state_t;
  constexpr int NR = GpuParams<F>::NR, NC = GpuParams<F>::NC;
  RK_SHARED(real, tile, RK_BLOCK * NC);  // tile[t * NC + s]: row t of the tile, slot s
  RK_PRIVATE(state_t, st, Red::STATE);   // the thread's row state
  RK_PRIVATE(real, xr, NR);              // the thread's output-side values
  for (i64 base = RK_BLOCK_ID * RK_BLOCK; base < p.rows; base += RK_GRID_DIM * RK_BLOCK) {
    RK_THREAD_LOOP(tid) {
      state_t* s = RK_MINE(st, tid);
      real* x = RK_MINE(xr, tid);
      const i64 i = base + tid;
      // Resume the state left by the previous reduced chunk, if any.
      if (p.first) {
        Red::init_state(s);
      } else if (i < p.rows) {
        for (int k = 0; k < Red::STATE; ++k) s[k] = p.states[k * p.rows + i];
      }
      if (i < p.rows)
        for (int k = 0; k < F::NROW; ++k) x[k] = p.rowp[k][i];
    }
    for (i64 j0 = 0; j0 < p.nred; j0 += RK_BLOCK) {
      const int nt = p.nred - j0 < RK_BLOCK ? static_cast<int>(p.nred - j0) : RK_BLOCK;
      RK_SYNC();  // every thread is done with the previous tile
      RK_THREAD_LOOP(tid) {
        if (tid < nt)
          for (int k = 0; k < F::NCOL; ++k) tile[tid * NC + k] = p.colp[k][j0 + tid];
      }
      RK_SYNC();  // the tile is loaded
      RK_THREAD_LOOP(tid) {
        if (base + tid < p.rows) {
          state_t* s = RK_MINE(st, tid);
          const real* x = RK_MINE(xr, tid);
          real acc[Red::ACC];
          real f[F::DIM];
          Red::init(acc, s);
          for (int jj = 0; jj < nt; ++jj) {
            F::eval(x, static_cast<const real*>(tile + jj * NC), static_cast<const real*>(p.prm), f);
            Red::accumulate(acc, static_cast<const real*>(f), static_cast<real>(jj));
          }
          // Global index of the tile start: Arg-type reductions store indices
          // into the whole reduced side, not into this chunk.
          Red::flush_scalar(s, static_cast<const real*>(acc), p.j_offset + j0);
        }
      }
    }
    RK_THREAD_LOOP(tid) {
      const i64 i = base + tid;
      if (i < p.rows) {
        const state_t* s = RK_MINE(st, tid);
        if (p.last) Red::finalize(s, p.out + i, p.out_ld);
        else
          for (int k = 0; k < Red::STATE; ++k) p.states[k * p.rows + i] = s[k];
      }
    }
  }
}

// ---------------------------------------------------- device abstraction --
// A positive value of the environment variable `name`, else 0 (the test
// knobs RKEOPS_GPU_CHUNK_ROWS/_COLS and RKEOPS_EMU_GPU_MEMORY).
static inline i64 env_positive(const char* name) {
  const char* v = getenv(name);
  const i64 n = v ? atoll(v) : 0;
  return n > 0 ? n : 0;
}

namespace dev {
#ifdef __CUDACC__
static inline bool check(cudaError_t e, const char* what, char* err, size_t errlen) {
  if (e == cudaSuccess) return true;
  if (err && errlen) snprintf(err, errlen, "CUDA error in %s: %s", what, cudaGetErrorString(e));
  return false;
}
static inline bool select_device(int d, char* err, size_t errlen) {
  int n = 0;
  if (!check(cudaGetDeviceCount(&n), "cudaGetDeviceCount", err, errlen)) return false;
  if (d < 0) d = 0;
  if (d >= n) {
    if (err && errlen) snprintf(err, errlen, "GPU device %d does not exist (%d visible)", d, n);
    return false;
  }
  return check(cudaSetDevice(d), "cudaSetDevice", err, errlen);
}
static inline void* alloc(size_t bytes, char* err, size_t errlen) {
  void* p = nullptr;
  if (!check(cudaMalloc(&p, bytes ? bytes : 1), "cudaMalloc", err, errlen)) return nullptr;
  return p;
}
static inline void release(void* p) { if (p) cudaFree(p); }
static inline bool to_device(void* d, const void* h, size_t bytes, char* err, size_t errlen) {
  return check(cudaMemcpy(d, h, bytes, cudaMemcpyHostToDevice), "cudaMemcpy (to GPU)", err, errlen);
}
static inline bool to_host(void* h, const void* d, size_t bytes, char* err, size_t errlen) {
  return check(cudaMemcpy(h, d, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy (from GPU)", err, errlen);
}
static inline size_t free_memory() {
  size_t f = 0, t = 0;
  if (cudaMemGetInfo(&f, &t) != cudaSuccess) return 0;
  return f;
}
static inline i64 max_grid() { return 65535; }
template <class F>
static inline bool launch(i64 grid, const GpuParams<F>& p, char* err, size_t errlen) {
  reduce_kernel<F><<<static_cast<unsigned>(grid), RK_BLOCK>>>(p);
  if (!check(cudaGetLastError(), "kernel launch", err, errlen)) return false;
  return check(cudaDeviceSynchronize(), "kernel", err, errlen);
}
#else
static inline bool select_device(int, char*, size_t) { return true; }
static inline void* alloc(size_t bytes, char* err, size_t errlen) {
  void* p = malloc(bytes ? bytes : 1);
  if (!p && err && errlen) snprintf(err, errlen, "out of memory (emulated GPU)");
  return p;
}
static inline void release(void* p) { free(p); }
static inline bool to_device(void* d, const void* h, size_t bytes, char*, size_t) {
  if (bytes) memcpy(d, h, bytes);
  return true;
}
static inline bool to_host(void* h, const void* d, size_t bytes, char*, size_t) {
  if (bytes) memcpy(h, d, bytes);
  return true;
}
// The emulated device's free memory: 1 TiB, or RKEOPS_EMU_GPU_MEMORY bytes
// (tests shrink it to exercise the memory-based chunk sizes and errors).
static inline size_t free_memory() {
  const i64 n = env_positive("RKEOPS_EMU_GPU_MEMORY");
  return n > 0 ? static_cast<size_t>(n) : size_t(1) << 40;
}
static inline i64 max_grid() { return RK_EMU_GRID; }
template <class F>
static inline bool launch(i64 grid, const GpuParams<F>& p, char*, size_t) {
#ifdef _OPENMP
#pragma omp parallel for schedule(static, 1)
#endif
  for (i64 b = 0; b < grid; ++b) {
    const FlushSubnormals ftz;  // as on the CPU (fpenv.h); a GPU has no assists
    reduce_kernel<F>(b, grid, p);
  }
  return true;
}
#endif
}  // namespace dev

// ------------------------------------------------------------ host side --
// Buffers freed on every exit path: one per variable slot, the output and
// the state buffer.
template <int CAP>
struct DevBuffers {
  void* p[CAP];
  int n = 0;
  ~DevBuffers() {
    for (int k = 0; k < n; ++k) dev::release(p[k]);
  }
  void* add(size_t bytes, char* err, size_t errlen) {
    void* q = dev::alloc(bytes, err, errlen);
    if (q) p[n++] = q;
    return q;
  }
};


// Runs output rows [row_begin, row_end) on the device, within 80% of its
// free memory (the budget):
//  * the reduced side (nred rows: the j-indexed inputs when output rows are
//    i-indexed) is copied once if it fits in half the budget (the common
//    case, one launch per chunk of output rows, no state buffer); else it is
//    cut into chunks of `cols` rows that use about half the budget, copied
//    anew for each chunk of output rows -- a reduced side larger than the
//    GPU then costs one host-to-device transfer per chunk of output rows;
//  * output rows are processed in chunks of what the rest of the budget
//    holds: their output-side columns, their output, and (only when the
//    reduced side is chunked) their reduction states, which stay on the
//    device between the launches over the reduced chunks.
// For each chunk of output rows: for each reduced chunk, copy it, launch
// (the first launch starts the states, the others resume them, the last one
// finalizes), then copy the output back. The reduced chunks are the inner
// loop so that the state buffer only has to hold one chunk of output rows.
// The environment variables RKEOPS_GPU_CHUNK_ROWS and RKEOPS_GPU_CHUNK_COLS
// cap the two chunk sizes: tests force small chunks on the emulation target.
template <class F, int OUT_COLS>
int run_gpu(const rkeops_call* c, char* err, size_t errlen) {
  using real = typename F::real;
  using P = GpuParams<F>;
  using state_t = typename P::state_t;
  if (c->abi_version != RKEOPS_ABI_VERSION) {
    if (err && errlen) snprintf(err, errlen, "ABI version mismatch");
    return 1;
  }
  // The kernel takes one pointer per variable slot as a parameter: CUDA's
  // classic limit on a kernel's parameters is 4 KiB (about 500 slots).
  if (sizeof(P) > 4096) {
    if (err && errlen)
      snprintf(err, errlen, "too many variable slots for the GPU kernel (%d; its parameters take %d bytes, at most 4096)",
               F::NROW + F::NCOL, static_cast<int>(sizeof(P)));
    return 1;
  }
  if (!dev::select_device(c->device, err, errlen)) return 1;
  const i64 nred = F::ROW_CAT == 0 ? c->N : c->M;
  const i64 r0 = c->row_begin, r1 = c->row_end;
  if (r1 <= r0) return 0;
  const i64 budget = static_cast<i64>(dev::free_memory() / 10 * 8);

  // Reduced-side rows per chunk. A chunk size from the memory is rounded down
  // to whole tiles, so that the chunks' tiles are those of an unchunked run
  // and the result (e.g. block_sum's per-tile partial sums) does not depend
  // on the free memory; a forced size is taken as is, so that tests also
  // cover chunk boundaries inside a tile.
  const i64 per_col = static_cast<i64>(F::NCOL * sizeof(real));
  i64 cols = nred;
  if (per_col > 0 && nred > (budget / 2) / per_col) {
    cols = (budget / 2) / per_col;
    if (cols >= RK_BLOCK) cols -= cols % RK_BLOCK;
  }
  const i64 forced_cols = env_positive("RKEOPS_GPU_CHUNK_COLS");
  if (forced_cols > 0 && forced_cols < cols) cols = forced_cols;
  if (nred > 0 && cols < 1) {
    if (err && errlen)
      snprintf(err, errlen, "not enough GPU memory for one reduced-side row (%lld bytes; %lld bytes usable)",
               static_cast<long long>(per_col), static_cast<long long>(budget));
    return 1;
  }
  const bool chunked = cols < nred;
  const i64 nchunks = chunked ? (nred + cols - 1) / cols : 1;  // at least one launch, even if nred = 0

  // Output rows per chunk: what the budget holds next to the reduced chunk.
  const i64 per_row = static_cast<i64>(F::NROW * sizeof(real) + OUT_COLS * sizeof(double) +
                                       (chunked ? F::Red::STATE * sizeof(state_t) : 0));
  i64 chunk = (budget - cols * per_col) / (per_row > 0 ? per_row : 1);
  const i64 forced_rows = env_positive("RKEOPS_GPU_CHUNK_ROWS");
  if (forced_rows > 0 && forced_rows < chunk) chunk = forced_rows;
  if (chunk < 1) {
    if (err && errlen)
      snprintf(err, errlen, "not enough GPU memory for one output row (%lld bytes; %lld bytes usable)",
               static_cast<long long>(per_row), static_cast<long long>(budget - cols * per_col));
    return 1;
  }
  if (chunk > r1 - r0) chunk = r1 - r0;

  // Device buffers, allocated once at their largest size and reused by every
  // chunk (freed on every exit path).
  DevBuffers<P::NR + P::NC + 2> bufs;
  P p;
  for (int s = 0; s < F::NPRM; ++s)
    p.prm[s] = static_cast<const real*>(c->args[F::prm_slot[s][0]].data)[F::prm_slot[s][1]];
  real* dcol[P::NC];
  for (int s = 0; s < F::NCOL; ++s) {
    dcol[s] = static_cast<real*>(bufs.add(sizeof(real) * cols, err, errlen));
    if (!dcol[s]) return 1;
    p.colp[s] = dcol[s];
  }
  real* drow[P::NR];
  for (int s = 0; s < F::NROW; ++s) {
    drow[s] = static_cast<real*>(bufs.add(sizeof(real) * chunk, err, errlen));
    if (!drow[s]) return 1;
    p.rowp[s] = drow[s];
  }
  p.out = static_cast<double*>(bufs.add(sizeof(double) * chunk * OUT_COLS, err, errlen));
  if (!p.out) return 1;
  p.states = nullptr;
  if (chunked) {
    p.states = static_cast<state_t*>(bufs.add(sizeof(state_t) * chunk * F::Red::STATE, err, errlen));
    if (!p.states) return 1;
  }

  // Copies reduced-side rows [j, j + n) of every slot the formula reads.
  auto copy_cols = [&](i64 j, i64 n) {
    for (int s = 0; s < F::NCOL; ++s) {
      const rkeops_arg& a = c->args[F::col_slot[s][0]];
      const real* h = static_cast<const real*>(a.data) + F::col_slot[s][1] * a.ld + j;
      if (!dev::to_device(dcol[s], h, sizeof(real) * n, err, errlen)) return false;
    }
    return true;
  };
  if (!chunked && !copy_cols(0, nred)) return 1;

  for (i64 a = r0; a < r1; a += chunk) {
    const i64 rows = a + chunk < r1 ? chunk : r1 - a;
    for (int s = 0; s < F::NROW; ++s) {
      const rkeops_arg& ar = c->args[F::row_slot[s][0]];
      const real* h = static_cast<const real*>(ar.data) + F::row_slot[s][1] * ar.ld + a;
      if (!dev::to_device(drow[s], h, sizeof(real) * rows, err, errlen)) return 1;
    }
    p.out_ld = rows;
    p.rows = rows;
    i64 grid = (rows + RK_BLOCK - 1) / RK_BLOCK;
    if (grid > dev::max_grid()) grid = dev::max_grid();
    for (i64 q = 0; q < nchunks; ++q) {
      const i64 j = q * cols;
      p.nred = chunked ? (nred - j < cols ? nred - j : cols) : nred;
      p.j_offset = j;
      p.first = q == 0;
      p.last = q == nchunks - 1;
      if (chunked && !copy_cols(j, p.nred)) return 1;
      if (!dev::launch<F>(grid, p, err, errlen)) return 1;
    }
    for (int k = 0; k < OUT_COLS; ++k)
      if (!dev::to_host(c->out + k * c->out_ld + a, p.out + k * rows, sizeof(double) * rows, err, errlen))
        return 1;
  }
  return 0;
}

}  // namespace rk
