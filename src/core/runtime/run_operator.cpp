#include "runtime/run_operator.h"

#include <algorithm>
#include <chrono>

#ifndef _WIN32
#include <unistd.h>
#endif

#include "formula/errors.h"

namespace rkeops {

namespace {

#ifndef _WIN32
// Set when the engine's shared object is loaded (static initialisation).
const pid_t kLoadedByPid = getpid();
#endif

// Mirrors of the CPU kernel's choices (inst/include/rkeops/cpu_kernel.h,
// CpuKernel::run): reduced-side tile size, and the most output rows a
// register block holds.
constexpr std::int64_t kKernelTile = 4096;
constexpr std::int64_t kKernelMaxBlockRows = 8;

// Below this many pairs a call is one chunk (it takes milliseconds).
constexpr std::int64_t kOneChunkPairs = std::int64_t(1) << 26;
// Size of a first chunk, before its time is known.
constexpr std::int64_t kFirstChunkPairs = std::int64_t(1) << 24;
// Beyond this many reduced-side rows even the smallest chunk of row blocks
// (kRowBlocksPerThread rows per thread) would take about a second or more:
// chunks are then a few rows, each with the reduced side split across
// threads. That streams the reduced side once per chunk: 25-30% slower for
// a Gaussian kernel than the 128-row chunks of earlier versions (N = 2e7,
// 2 threads), whose chunks took 3 s or more each. Below this size, a costly
// formula (many transcendental functions) can still make a 16T-row chunk
// take seconds: bounding that needs the ABI to take ranges of the reduced
// side (with partial states kept between calls) or a cancel flag.
constexpr std::int64_t kSplitReducedRows = std::int64_t(1) << 24;
// With at least this many rows per thread, the kernel always spreads row
// blocks over the threads (checked for every register block size 1..8).
constexpr std::int64_t kRowBlocksPerThread = 2 * kKernelMaxBlockRows;

std::int64_t clamp64(std::int64_t v, std::int64_t lo, std::int64_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

}  // namespace

bool in_forked_child() {
#ifndef _WIN32
  return getpid() != kLoadedByPid;
#else
  return false;  // no fork()
#endif
}

int usable_threads(int requested) {
  if (requested < 1) return 1;
  if (requested > 1 && in_forked_child()) return 1;
  return requested > kMaxThreads ? kMaxThreads : requested;
}

ChunkPlan plan_chunks(std::int64_t out_rows, std::int64_t reduced, int nthreads) {
  ChunkPlan p;
  const std::int64_t T = nthreads > 0 ? nthreads : 1;
  const std::int64_t rows = out_rows > 0 ? out_rows : 1;
  const std::int64_t red = reduced > 0 ? reduced : 1;
  p.max_rows = rows;
  if (rows <= kOneChunkPairs / red) {  // small: one chunk, as it always was
    p.first_rows = p.min_rows = rows;
    return p;
  }
  const std::int64_t ntiles = (reduced + kKernelTile - 1) / kKernelTile;
  const bool can_split = T > 1 && ntiles >= 2 * T;
  const std::int64_t first = kFirstChunkPairs / red;
  if (can_split && (rows < kRowBlocksPerThread * T || reduced > kSplitReducedRows)) {
    // Fewer than 2T rows: the kernel always splits the reduced side.
    p.split_reduced = true;
    p.min_rows = 1;
    p.max_rows = std::min(rows, 2 * T - 1);
  } else if (can_split) {
    p.min_rows = kRowBlocksPerThread * T;
  } else {
    p.min_rows = 1;
  }
  p.first_rows = clamp64(first, p.min_rows, p.max_rows);
  return p;
}

ChunkPlan plan_gpu_chunks(std::int64_t out_rows, std::int64_t reduced) {
  // Rows are independent on the GPU (one thread each): any chunking gives
  // the same result, so only the first chunk's size is chosen.
  ChunkPlan p;
  const std::int64_t rows = out_rows > 0 ? out_rows : 1;
  const std::int64_t red = reduced > 0 ? reduced : 1;
  p.max_rows = rows;
  p.first_rows = rows <= kOneChunkPairs / red ? rows : clamp64(kFirstChunkPairs / red, 1, rows);
  return p;
}

void run_operator(const LoadedOperator& op, const CallSpec& spec,
                  const std::function<void()>& poll, const ProgressFn& progress) {
  using clock = std::chrono::steady_clock;
  rkeops_call call{};
  call.abi_version = RKEOPS_ABI_VERSION;
  call.dtype = op.dtype == DType::Float32 ? RKEOPS_FLOAT32 : RKEOPS_FLOAT64;
  call.M = spec.M;
  call.N = spec.N;
  call.nargs = static_cast<std::int32_t>(spec.args.size());
  call.args = spec.args.data();
  call.out = spec.out;
  const std::int64_t out_rows = spec.tag == 0 ? spec.M : spec.N;
  const std::int64_t reduced = spec.tag == 0 ? spec.N : spec.M;
  call.out_ld = out_rows;
  const int nthreads = usable_threads(spec.nthreads);
  call.nthreads = nthreads;
  call.device = spec.device;
  const bool gpu = spec.device >= 0;
  const ChunkPlan plan = gpu ? plan_gpu_chunks(out_rows, reduced) : plan_chunks(out_rows, reduced, nthreads);
  const double target = gpu ? kGpuChunkSeconds : kChunkSeconds;
  std::int64_t step = plan.first_rows;
  char err[512] = {0};
  const auto start = clock::now();
  for (std::int64_t r = 0; r < out_rows;) {
    if (poll) poll();
    std::int64_t n = std::min(step, out_rows - r);
    // Never leave a last chunk smaller than min_rows: it would run the
    // kernel's other path.
    if (out_rows - (r + n) < plan.min_rows) n = out_rows - r;
    call.row_begin = r;
    call.row_end = r + n;
    const auto t0 = clock::now();
    if (op.run(&call, err, sizeof err) != 0)
      throw CallError(std::string("the operator failed: ") + err);
    const auto t1 = clock::now();
    r += n;
    if (progress) progress(r, out_rows, std::chrono::duration<double>(t1 - start).count());
    // Aim the next chunk at `target` seconds, changing its size by 4x at most.
    const double dt = std::chrono::duration<double>(t1 - t0).count();
    const double want = dt > 0 ? static_cast<double>(n) * target / dt : 4.0 * n;
    const double lo = n / 4.0, hi = 4.0 * n;
    const double next = want < lo ? lo : (want > hi ? hi : want);
    step = clamp64(static_cast<std::int64_t>(next), plan.min_rows, plan.max_rows);
    if (step < 1) step = 1;
  }
}

}  // namespace rkeops
