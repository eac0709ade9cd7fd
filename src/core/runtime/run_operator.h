// Calling a loaded operator: the output rows are computed in chunks, and
// between chunks the caller's `poll` runs (R checks for Ctrl-C there and
// may throw; no thread is running then, so nothing leaks).
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
};

void run_operator(const LoadedOperator& op, const CallSpec& spec,
                  const std::function<void()>& poll);

// Rows per chunk: about 2^28 pairs, so a chunk takes well under a second,
// but never so few rows that threads starve.
std::int64_t chunk_rows(std::int64_t reduced, int nthreads);

}  // namespace rkeops
