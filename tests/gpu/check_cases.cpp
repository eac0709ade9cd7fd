#include "check_cases.h"

#include <cstdio>

namespace gpucheck {

namespace {

using rkeops::DType;

// Every reduction of spec 4.1, as tests/testthat/test-gpu-emulation.R writes
// them: x = Vi(2), y = Vj(2), b on the reduced side (so that every input
// goes through the shared-memory tiles), s = Pm(1). `kind` says how index
// columns are laid out (D = 2, K = 5).
enum class Idx { None, All, SecondHalf, KBoth };
struct Reduction {
  const char* name;
  const char* formula;  // %d = axis
  Idx idx;
};
const Reduction kReductions[] = {
    {"Sum", "Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, %d)", Idx::None},
    {"Min", "Min_Reduction(Square(x - y) + b, %d)", Idx::None},
    {"Max", "Max_Reduction(Square(x - y) + b, %d)", Idx::None},
    {"ArgMin", "ArgMin_Reduction(Square(x - y) + b, %d)", Idx::All},
    {"ArgMax", "ArgMax_Reduction(Square(x - y) + b, %d)", Idx::All},
    {"Min_ArgMin", "Min_ArgMin_Reduction(Square(x - y) + b, %d)", Idx::SecondHalf},
    {"Max_ArgMax", "Max_ArgMax_Reduction(Square(x - y) + b, %d)", Idx::SecondHalf},
    {"KMin", "KMin_Reduction(Square(x - y) + b, 5, %d)", Idx::None},
    {"ArgKMin", "ArgKMin_Reduction(Square(x - y) + b, 5, %d)", Idx::All},
    {"KMin_ArgKMin", "KMin_ArgKMin_Reduction(Square(x - y) + b, 5, %d)", Idx::KBoth},
    {"LogSumExp", "LogSumExp_Reduction(-s * SqNorm2(x - y), %d)", Idx::None},
    {"LogSumExpWeight", "LogSumExpWeight_Reduction(-s * SqNorm2(x - y), b, %d)", Idx::None},
    {"SumSoftMaxWeight", "SumSoftMaxWeight_Reduction(-s * SqNorm2(x - y), b, %d)", Idx::None},
    {"Max_SumShiftExp", "Max_SumShiftExp_Reduction(-s * SqNorm2(x - y) + Sum(b), %d)", Idx::None},
    {"Max_SumShiftExpWeight", "Max_SumShiftExpWeight_Reduction(-s * SqNorm2(x - y), %d, b)", Idx::None},
    {"Zero", "Zero_Reduction(3, %d)", Idx::None},
};
constexpr int kD = 2, kK = 5;

std::vector<std::pair<int, int>> index_columns(Idx idx) {
  std::vector<std::pair<int, int>> cols;
  switch (idx) {
    case Idx::None: break;
    case Idx::All:  // ArgMin/ArgMax: D columns (ArgKMin: argkmin_columns)
      for (int c = 0; c < kD; ++c) cols.push_back({c, c});
      break;
    case Idx::SecondHalf:  // Min_ArgMin: D values, then D indices
      for (int c = 0; c < kD; ++c) cols.push_back({kD + c, c});
      break;
    case Idx::KBoth:  // KMin_ArgKMin: column r*2D + c the value, r*2D + D + c its index
      for (int r = 0; r < kK; ++r)
        for (int c = 0; c < kD; ++c) cols.push_back({r * 2 * kD + kD + c, c});
      break;
  }
  return cols;
}

std::vector<std::pair<int, int>> argkmin_columns(int K, int D) {
  std::vector<std::pair<int, int>> cols;
  for (int r = 0; r < K; ++r)
    for (int c = 0; c < D; ++c) cols.push_back({r * D + c, c});
  return cols;
}

std::string with_axis(const char* fmt, int axis) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, axis);
  return buf;
}

// (x_c - y_c)^2 + b_c, b being indexed by the reduced side.
PairValue square_plus_b(int axis) {
  return [axis](const CaseData& d, std::int64_t i, std::int64_t j, int c) {
    const double t = d.in[0][c * d.M + i] - d.in[1][c * d.N + j];
    const double b = axis == 0 ? d.in[2][c * d.N + j] : d.in[2][c * d.M + i];
    return t * t + b;
  };
}

// SqDist(x, y) for x = Vi(D) (input 0), y = Vj(D) (input 1).
PairValue sqdist(int D) {
  return [D](const CaseData& d, std::int64_t i, std::int64_t j, int) {
    double s = 0;
    for (int k = 0; k < D; ++k) {
      const double t = d.in[0][k * d.M + i] - d.in[1][k * d.N + j];
      s += t * t;
    }
    return s;
  };
}

std::vector<std::string> args_for(int axis) {
  return {"x = Vi(2)", "y = Vj(2)", axis == 0 ? "b = Vj(2)" : "b = Vi(2)", "s = Pm(1)"};
}

}  // namespace

const char* dtype_label(DType dtype) { return dtype == DType::Float32 ? "f32" : "f64"; }

double tolerance(DType dtype) { return dtype == DType::Float32 ? 5e-5 : 1e-11; }

std::vector<Case> make_cases(bool emulation, int block) {
  // Sizes that are not multiples of the block size (partial tiles). In
  // emulation, M is more than the emulated grid (4 blocks) holds, so rows
  // also go through the kernel's grid-stride loop.
  const std::int64_t M = emulation ? 150 : 5003, N = emulation ? 230 : 7919;
  std::vector<Case> out;
  auto add = [&](Case c) { out.push_back(std::move(c)); };
  for (DType dt : {DType::Float32, DType::Float64}) {
    for (const Reduction& r : kReductions) {
      for (int axis = 0; axis < 2; ++axis) {
        Case c;
        c.name = std::string(r.name) + " ax" + std::to_string(axis);
        c.formula = with_axis(r.formula, axis);
        c.args = args_for(axis);
        c.dtype = dt;
        c.M = M;
        c.N = N;
        c.index_cols = std::string(r.name) == "ArgKMin" ? argkmin_columns(kK, kD) : index_columns(r.idx);
        if (!c.index_cols.empty()) c.pair_value = square_plus_b(axis);
        add(c);
      }
    }
    // A gradient (formula-level Grad of the Gaussian convolution), w.r.t. x
    // (reduces over j) and y (reduces over i).
    for (const char* v : {"x", "y"}) {
      Case c;
      c.name = std::string("Grad_") + v + " Gaussian";
      c.formula = std::string("Grad(Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0), ") + v + ", e)";
      c.args = {"x = Vi(2)", "y = Vj(2)", "b = Vj(2)", "s = Pm(1)", "e = Vi(2)"};
      c.dtype = dt;
      c.M = M;
      c.N = N;
      add(c);
    }
    // k nearest neighbours, K = 10.
    Case knn;
    knn.name = "kNN ArgKMin K=10";
    knn.formula = "ArgKMin_Reduction(SqDist(x, y), 10, 0)";
    knn.args = {"x = Vi(3)", "y = Vj(3)"};
    knn.dtype = dt;
    knn.M = M;
    knn.N = N;
    knn.index_cols = argkmin_columns(10, 1);
    knn.pair_value = sqdist(3);
    add(knn);
    // High dimension: the shared tile holds 129 values per row (the block
    // size is lowered to fit 48 KiB on a real GPU).
    Case hd;
    hd.name = "Gaussian SqDist D=128";
    hd.formula = "Sum_Reduction(Exp(-s * SqDist(x, y)) * b, 0)";
    hd.args = {"x = Vi(128)", "y = Vj(128)", "b = Vj(1)", "s = Pm(1)"};
    hd.dtype = dt;
    hd.s = 0.1;
    hd.M = M;
    hd.N = N;
    add(hd);
  }

  // The reduced side forced into chunks (gpu_kernel.h, run_gpu): one launch
  // per chunk, row states kept on the device between launches; chunk sizes
  // that cut tiles in the middle, and chunks of output rows too. The
  // operators are those of the cases above (the variables are read at run
  // time).
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> chunks;
  const std::string b = std::to_string(block);
  if (emulation) {
    chunks = {{"cols 37", {{"RKEOPS_GPU_CHUNK_COLS", "37"}}},
              {"cols 70 rows 50", {{"RKEOPS_GPU_CHUNK_COLS", "70"}, {"RKEOPS_GPU_CHUNK_ROWS", "50"}}},
              {"cols " + b + " rows 7", {{"RKEOPS_GPU_CHUNK_COLS", b}, {"RKEOPS_GPU_CHUNK_ROWS", "7"}}},
              // A small emulated device: chunk sizes from the free memory
              // (whole tiles), not forced.
              {"emu memory 5400 B", {{"RKEOPS_EMU_GPU_MEMORY", "5400"}}}};
  } else {
    chunks = {{"cols 1000", {{"RKEOPS_GPU_CHUNK_COLS", "1000"}}},
              {"cols 2000 rows 1500", {{"RKEOPS_GPU_CHUNK_COLS", "2000"}, {"RKEOPS_GPU_CHUNK_ROWS", "1500"}}},
              {"cols " + b + " rows 700", {{"RKEOPS_GPU_CHUNK_COLS", b}, {"RKEOPS_GPU_CHUNK_ROWS", "700"}}}};
  }
  std::vector<Case> chunked;
  for (const Case& c : out) {
    const bool pick = c.name == "Sum ax0" || c.name == "Min_ArgMin ax1" || c.name == "LogSumExp ax0" ||
                      c.name == "kNN ArgKMin K=10";
    if (!pick) continue;
    for (const auto& ch : chunks) {
      Case k = c;
      k.name += " [" + ch.first + "]";
      k.env = ch.second;
      chunked.push_back(k);
    }
  }
  out.insert(out.end(), chunked.begin(), chunked.end());
  return out;
}

}  // namespace gpucheck
