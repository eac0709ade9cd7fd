// Calling a loaded operator: the output rows are computed in chunks (on the
// CPU and on a GPU alike), and between chunks the caller's `poll` runs (R
// checks for Ctrl-C there and may throw; no thread is running then, so
// nothing leaks) and `progress` is told how far the computation is.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "build/operator_cache.h"

namespace rkeops {

struct CallSpec {
  std::vector<rkeops_arg> args;  // by position, data in the operator's dtype
  std::int64_t M = 1, N = 1;
  int tag = 0;                   // output rows: M (tag 0) or N (tag 1)
  double* out = nullptr;         // output rows x columns, column-major
  int nthreads = 1;
  int device = -1;               // GPU device number; -1 runs on the CPU
};

// The most threads a call uses, whatever it asks: libgomp aborts the whole
// process when it cannot create the threads of a parallel region, which
// use_cpu(1e5) did. R caps the option lower (4 per core, R/options.R).
constexpr int kMaxThreads = 1024;

// True in a process forked from the one that loaded the engine (mclapply,
// future's multicore plan): OpenMP's thread pool does not survive fork(),
// and a parallel region in the child waits forever for the parent's
// threads. The pid is recorded when the engine is loaded, not when a pool
// starts, because any OpenMP library of the process (data.table, BLAS) may
// have started the pool.
bool in_forked_child();

// The thread count a call runs with: `requested` within [1, kMaxThreads],
// and 1 in a forked child.
int usable_threads(int requested);

// Called after each chunk: output rows done, total, seconds since the start.
using ProgressFn = std::function<void(std::int64_t done, std::int64_t total, double seconds)>;

void run_operator(const LoadedOperator& op, const CallSpec& spec,
                  const std::function<void()>& poll, const ProgressFn& progress = nullptr);

// How the output rows are cut into chunks. A chunk should take about
// kChunkSeconds, so that an interrupt is seen quickly; chunk sizes adapt to
// the measured time, but always within [min_rows, max_rows], bounds that
// depend only on the sizes and the thread count: they keep every chunk on the
// same side of the kernel's choice between "blocks of output rows across
// threads" and "the reduced side split across threads" (cpu_kernel.h), whose
// sums can differ in the last bits, so results do not depend on timing.
struct ChunkPlan {
  std::int64_t first_rows = 1;   // size of the first chunk
  std::int64_t min_rows = 1;     // no chunk is smaller (except a lone last one)
  std::int64_t max_rows = 1;     // no chunk is larger
  bool split_reduced = false;    // chunks run with the reduced side split across threads
};

constexpr double kChunkSeconds = 0.25;
// On a GPU each chunk copies the reduced side to the device again: longer
// chunks keep that copy a small part of the time (about 10% at worst, for a
// reduced side of 10^8 points).
constexpr double kGpuChunkSeconds = 1.0;

ChunkPlan plan_chunks(std::int64_t out_rows, std::int64_t reduced, int nthreads);
ChunkPlan plan_gpu_chunks(std::int64_t out_rows, std::int64_t reduced);

}  // namespace rkeops
