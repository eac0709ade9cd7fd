// The fixed list of operators that tools/gpu-check.sh runs on the GPU (or on
// the emulation target) and on the CPU backend, and how their results are
// compared.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "codegen/cpu_codegen.h"

namespace gpucheck {

// The inputs of one case, by argument position, in double (float32 cases
// hold values already rounded to float, so the host sees what the operators
// see). Vi/Vj input k: coordinate c of point p at in[k][c * rows + p].
struct CaseData {
  std::int64_t M = 0, N = 0;
  std::vector<std::vector<double>> in;
};

// F's component c at the pair (i, j), in double: used to accept a different
// index when the two candidates tie (Arg-type reductions).
using PairValue = std::function<double(const CaseData&, std::int64_t i, std::int64_t j, int c)>;

struct Case {
  std::string name;
  std::string formula;
  std::vector<std::string> args;
  rkeops::DType dtype = rkeops::DType::Float64;
  std::int64_t M = 0, N = 0;
  double s = 1.7;  // the value of every Pm(1) argument
  // Output columns holding indices, and the component of F each refers to.
  std::vector<std::pair<int, int>> index_cols;
  PairValue pair_value;
  // Environment variables set during the GPU run (forced chunks).
  std::vector<std::pair<std::string, std::string>> env;
};

// Every case; `emulation` picks the small sizes and the chunk sizes of the
// emulation target (block size `block`).
std::vector<Case> make_cases(bool emulation, int block);

// Largest relative error tolerated on value columns, by precision:
// max |gpu - cpu| / max |cpu| over the case's value columns.
double tolerance(rkeops::DType dtype);

const char* dtype_label(rkeops::DType dtype);

}  // namespace gpucheck
