#include "runtime/run_operator.h"

#include "formula/errors.h"

namespace rkeops {

std::int64_t chunk_rows(std::int64_t reduced, int nthreads) {
  const std::int64_t target_pairs = std::int64_t(1) << 28;
  std::int64_t rows = target_pairs / (reduced > 0 ? reduced : 1);
  std::int64_t min_rows = 64 * static_cast<std::int64_t>(nthreads > 0 ? nthreads : 1);
  return rows < min_rows ? min_rows : rows;
}

void run_operator(const LoadedOperator& op, const CallSpec& spec,
                  const std::function<void()>& poll) {
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
  call.nthreads = spec.nthreads;
  call.device = -1;
  const std::int64_t step = chunk_rows(reduced, spec.nthreads);
  char err[512] = {0};
  for (std::int64_t r = 0; r < out_rows; r += step) {
    if (poll) poll();
    call.row_begin = r;
    call.row_end = r + step < out_rows ? r + step : out_rows;
    if (op.run(&call, err, sizeof err) != 0)
      throw CallError(std::string("the operator failed: ") + err);
  }
}

}  // namespace rkeops
