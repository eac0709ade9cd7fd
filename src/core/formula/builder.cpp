// Semantic analysis: syntax tree -> checked DAG (names resolved, arities,
// integer parameters and dimensions checked), with errors that point at the
// offending part of the formula. This file: the name tables and the entry
// point; operations.cpp and derivatives.cpp hold the rest of the Builder.
#include <algorithm>
#include <map>
#include <string>

#include "formula/builder.h"

namespace rkeops {
namespace detail {

// Names of the spec that this version does not implement yet: a user who
// writes one is told so instead of "unknown operation".
namespace {
const char* const kPlannedNames[] = {
    "AutoFactorize", "BSpline", "Factorize",
    "SoftDTW_SqDist",
    "Real2Complex", "Imag2Complex", "ComplexReal", "ComplexImag", "Conj",
    "ComplexAdd", "ComplexSubtract", "ComplexMult", "ComplexRealScal", "ComplexDivide",
    "ComplexSquareAbs", "ComplexAbs", "ComplexAngle", "ComplexExp", "ComplexExp1j", "ComplexSum",
    "ComplexSumT", "ComplexScal", "TraceOperator", "AdjointOperator", "SumLinOperator",
};
}  // namespace

bool is_planned(const std::string& n) {
  return std::find(std::begin(kPlannedNames), std::end(kPlannedNames), n) != std::end(kPlannedNames);
}

std::vector<std::string> planned_names() { return {std::begin(kPlannedNames), std::end(kPlannedNames)}; }

// Every operation name this version understands (spec sections 3.2-3.7).
const std::vector<std::string>& implemented() {
  static const std::vector<std::string> v = {
      "Abs", "Acos", "Add", "ArgMax", "Diff", "Divergence", "Grad", "GradMatrix", "Laplacian",
      "GradFromPos", "GradFromInd", "Grad_WithSavedForward", "GradFromPos_WithSavedForward",
      "Diff_WithSavedForward", "ArgMin", "Asin", "Atan", "Atan2", "CauchyKernel", "Clamp",
      "ClampInt", "Concat", "Cos", "CurlFreeGaussKernel", "DiffClampInt", "DivFreeGaussKernel",
      "Divide", "Elem", "ElemT", "Equal", "Exp", "Extract", "ExtractT", "Floor", "GaussKernel",
      "IfElse", "Ind", "IntCst", "IntInv", "InverseMultiquadricKernel", "Inv", "Kron",
      "LaplaceKernel", "LessOrEqual", "LessThan", "Log", "MatVecMult", "Max", "Min", "Minus", "Mod",
      "Mult", "Norm2", "Normalize", "NotEqual", "OneHot", "Pm", "Pow", "Powf", "RatCst", "ReLU",
      "Round", "Rsqrt", "Scal", "ScalOrMult", "Scalprod", "Sign", "Sin", "SinXDivX", "SqDist",
      "SqNorm2", "SqNormDiag", "SqNormIso", "Sqrt", "Square", "Step", "Subtract", "Sum",
      "SumGaussKernel", "SumT", "SymSqNorm", "TRIGaussKernel", "TensorDot", "TensorProd", "Var",
      "VecMatMult", "Vi", "Vj", "Vx", "Vy", "WeightedSqDist", "WeightedSqNorm", "XLogX", "Zero"};
  return v;
}

bool is_implemented(const std::string& n) {
  const auto& v = implemented();
  return std::find(v.begin(), v.end(), n) != v.end();
}

// Reduction names, with the K1 spellings of spec 2.10 as aliases.
const std::map<std::string, Reduction>& reductions() {
  static const std::map<std::string, Reduction> m = {
      {"Sum_Reduction", Reduction::Sum},
      {"SumReduction", Reduction::Sum},
      {"Max_Reduction", Reduction::Max},
      {"MaxReduction", Reduction::Max},
      {"Min_Reduction", Reduction::Min},
      {"MinReduction", Reduction::Min},
      {"ArgMax_Reduction", Reduction::ArgMax},
      {"ArgMaxReduction", Reduction::ArgMax},
      {"ArgMin_Reduction", Reduction::ArgMin},
      {"ArgMinReduction", Reduction::ArgMin},
      {"Max_ArgMax_Reduction", Reduction::MaxArgMax},
      {"MaxArgMaxReduction", Reduction::MaxArgMax},
      {"Min_ArgMin_Reduction", Reduction::MinArgMin},
      {"MinArgMinReduction", Reduction::MinArgMin},
      {"KMin_Reduction", Reduction::KMin},
      {"KMinReduction", Reduction::KMin},
      {"ArgKMin_Reduction", Reduction::ArgKMin},
      {"ArgKMinReduction", Reduction::ArgKMin},
      {"KMin_ArgKMin_Reduction", Reduction::KMinArgKMin},
      {"KMinArgKMinReduction", Reduction::KMinArgKMin},
      {"LogSumExp_Reduction", Reduction::LogSumExp},
      {"LogSumExpWeight_Reduction", Reduction::LogSumExpWeight},
      {"SumSoftMaxWeight_Reduction", Reduction::SumSoftMaxWeight},
      {"Max_SumShiftExp_Reduction", Reduction::MaxSumShiftExp},
      {"LogSumExpReduction", Reduction::MaxSumShiftExp},
      {"Max_SumShiftExpWeight_Reduction", Reduction::MaxSumShiftExpWeight},
      {"LogSumExpVectReduction", Reduction::MaxSumShiftExpWeight},
      {"Zero_Reduction", Reduction::Zero}};
  return m;
}


std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      char ca = static_cast<char>(std::tolower(static_cast<unsigned char>(a[i - 1])));
      char cb = static_cast<char>(std::tolower(static_cast<unsigned char>(b[j - 1])));
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca == cb ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string suggest(const std::string& name, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_d = name.size() / 3 + 1;  // tolerate about one typo in three letters
  for (const std::string& c : candidates) {
    std::size_t d = edit_distance(name, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best.empty() ? "" : "did you mean '" + best + "'?";
}


std::string plural(long n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace detail

using detail::Builder;
using detail::implemented;
using detail::planned_names;
using detail::reductions;

const char* reduction_name(Reduction r) {
  switch (r) {
    case Reduction::Sum: return "Sum_Reduction";
    case Reduction::Max: return "Max_Reduction";
    case Reduction::Min: return "Min_Reduction";
    case Reduction::ArgMax: return "ArgMax_Reduction";
    case Reduction::ArgMin: return "ArgMin_Reduction";
    case Reduction::MaxArgMax: return "Max_ArgMax_Reduction";
    case Reduction::MinArgMin: return "Min_ArgMin_Reduction";
    case Reduction::KMin: return "KMin_Reduction";
    case Reduction::ArgKMin: return "ArgKMin_Reduction";
    case Reduction::KMinArgKMin: return "KMin_ArgKMin_Reduction";
    case Reduction::LogSumExp: return "LogSumExp_Reduction";
    case Reduction::LogSumExpWeight: return "LogSumExpWeight_Reduction";
    case Reduction::SumSoftMaxWeight: return "SumSoftMaxWeight_Reduction";
    case Reduction::MaxSumShiftExp: return "Max_SumShiftExp_Reduction";
    case Reduction::MaxSumShiftExpWeight: return "Max_SumShiftExpWeight_Reduction";
    case Reduction::Zero: return "Zero_Reduction";
  }
  return "?";
}

bool is_sum_type(Reduction r) {
  return r == Reduction::Sum || r == Reduction::LogSumExp || r == Reduction::LogSumExpWeight ||
         r == Reduction::SumSoftMaxWeight || r == Reduction::MaxSumShiftExp ||
         r == Reduction::MaxSumShiftExpWeight;
}

const std::vector<std::string>& reserved_names() {
  static const std::vector<std::string> v = [] {
    std::vector<std::string> out = implemented();
    for (const auto& kv : reductions()) out.push_back(kv.first);
    for (const std::string& n : planned_names()) out.push_back(n);
    return out;
  }();
  return v;
}

namespace {

// Scalar operations of the generated code (see kMaxCodeSize): one per
// component of each computed node, one per term of a sum over components or
// of a bilinear form, one per output column, kVariableCost per component of
// a variable. Views (Extract, Concat, ...) cost nothing: they are resolved
// while the code is written.
long long generated_code_size(const Program& p) {
  const Graph& g = p.graph;
  std::vector<int> roots = {p.formula};
  if (p.weight >= 0) roots.push_back(p.weight);
  long long size = p.out_cols;
  for (int id : g.topological(roots)) {
    const Node& n = g[id];
    switch (n.op) {
      case Op::Zero: case Op::Extract: case Op::ExtractT: case Op::Concat: case Op::SumT:
        break;
      case Op::Sum: case Op::Max: case Op::Min: case Op::ArgMax: case Op::ArgMin:
        size += g.dim(n.kids[0]);
        break;
      case Op::Bilinear:
        size += n.dim + static_cast<long long>(n.ints.size() / 3);
        break;
      case Op::Var:
        size += kVariableCost * n.dim;
        break;
      default:
        size += n.dim;
    }
  }
  return size;
}

}  // namespace

Program compile_formula(const std::string& formula, const std::vector<std::string>& decls) {
  Program p;
  std::vector<ArgDecl> declared = parse_arg_decls(decls);
  for (const ArgDecl& a : declared) {
    if (static_cast<int>(p.args.size()) <= a.pos) p.args.resize(a.pos + 1, ArgDecl{"", -1, 0, 0});
    p.args[a.pos] = a;
  }
  SyntaxPtr syntax = parse_syntax(formula);
  try {
    Builder(formula, p, decls).build_top(*syntax);
  } catch (const FormulaError& e) {
    if (e.pos() != FormulaError::kNoPosition) throw;
    throw FormulaError(e.what(), 0, formula.size());  // found outside any expression
  }
  const long long size = generated_code_size(p);
  if (size > kMaxCodeSize)
    throw FormulaError("this formula would generate about " + std::to_string(size) +
                           " scalar operations (a component of a variable counts " +
                           std::to_string(kVariableCost) + "); at most " +
                           std::to_string(kMaxCodeSize) +
                           " are supported, since compile time grows with them (reduce the "
                           "dimensions, or split the computation into several operators)",
                       0, formula.size());
  for (std::size_t k = 0; k < p.args.size(); ++k)
    if (p.args[k].cat == -1)
      throw ArgumentError("positions must be 0, 1, ..., " + std::to_string(p.args.size() - 1) +
                              " without gaps, but no argument has position " + std::to_string(k),
                          static_cast<int>(k));
  p.canonical = canonical_text(p);
  return p;
}

}  // namespace rkeops
