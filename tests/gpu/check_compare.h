// How a GPU result is compared with the CPU backend's result of the same
// operator on the same data (tools/gpu-check.sh).
#pragma once
#include <cstdint>
#include <string>

#include "check_cases.h"

namespace gpucheck {

struct Comparison {
  double max_rel_err = 0;        // value columns: max |gpu - cpu| / max |cpu|
  std::int64_t index_errors = 0; // index entries that differ and are no tie
  std::int64_t ties = 0;         // index entries that differ at a tie (accepted)
  std::string problem;           // the first problem found, "" if none
  bool passed(double tol) const { return problem.empty() && index_errors == 0 && max_rel_err <= tol; }
};

// Index columns (c.index_cols) must hold the same index on both sides, or
// else two valid indices whose F values are equal within tie_tolerance
// (relative): the backends may round F differently and so order near-equal
// candidates differently. Every other column is a value column. `tag` is the
// program's axis (0: output rows are i, 1: they are j); outputs are `rows` x
// `cols`, column-major.
Comparison compare_outputs(const Case& c, const CaseData& d, int tag, std::int64_t rows, int cols,
                           const double* gpu, const double* cpu);

// Runs compare_outputs on made-up outputs (a tie, a wrong index, an invalid
// one, a value error, NaN); returns "" when it judges them all rightly.
std::string self_test_compare();

// Two F values within this relative distance are a tie (a few ulps).
double tie_tolerance(rkeops::DType dtype);

}  // namespace gpucheck
