// Semantic analysis: syntax tree -> checked DAG (names resolved, arities,
// integer parameters and dimensions checked), with errors that point at the
// offending part of the formula.
#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "formula/autodiff.h"
#include "formula/errors.h"
#include "formula/program.h"
#include "formula/syntax.h"

namespace rkeops {

namespace {

// Names of the spec that this version does not implement yet: a user who
// writes one is told so instead of "unknown operation".
const char* const kPlannedNames[] = {
    "AutoFactorize", "BSpline", "Factorize",
    "SoftDTW_SqDist",
    "Diff_WithSavedForward", "Real2Complex", "Imag2Complex", "ComplexReal", "ComplexImag", "Conj",
    "ComplexAdd", "ComplexSubtract", "ComplexMult", "ComplexRealScal", "ComplexDivide",
    "ComplexSquareAbs", "ComplexAbs", "ComplexAngle", "ComplexExp", "ComplexExp1j", "ComplexSum",
    "ComplexSumT", "ComplexScal", "TraceOperator", "AdjointOperator", "SumLinOperator",
};

// Every operation name this version understands (spec sections 3.2-3.7).
const std::vector<std::string>& implemented() {
  static const std::vector<std::string> v = {
      "Abs", "Acos", "Add", "ArgMax", "Diff", "Divergence", "Grad", "GradMatrix", "Laplacian",
      "GradFromPos", "GradFromInd", "Grad_WithSavedForward", "ArgMin", "Asin", "Atan", "Atan2", "CauchyKernel", "Clamp",
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

// Largest K * dim(F) of the KMin family (the sorted lists are kept per lane).
constexpr long long kMaxKD = 1024;

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

// Largest dimension of any value in a formula.
constexpr int kMaxDim = 10000;

std::string plural(long n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

class Builder {
 public:
  Builder(const std::string& src, Program& prog, const std::vector<std::string>& decl_text)
      : src_(src), p_(prog), decl_text_(decl_text) {
    for (const ArgDecl& a : p_.args) declared_[a.name] = a.pos;
  }

  void build_top(const Syntax& s) {
    if (is_derivative_of_reduction(s)) return build_derivative(s);
    if (s.kind != Syntax::Call || !reductions().count(s.text)) {
      if (s.kind == Syntax::Call && is_planned(s.text) && s.text.find("Reduction") != std::string::npos)
        fail(s, "'" + s.text + "' is not supported yet by this version of rkeops", true);
      fail(s,
           "the formula must be a reduction, such as Sum_Reduction(F, 0) (reduce over j, "
           "one row per i) or Sum_Reduction(F, 1) (reduce over i, one row per j)");
    }
    const Reduction r = reductions().at(s.text);
    const std::string& name = s.text;
    p_.reduction = r;
    // Argument order by family (spec 4.1): (F, t), (F, K, t), (F, G, t),
    // (F, t, G) for the core Max_SumShiftExpWeight, (d, t) for Zero.
    const bool kmin = r == Reduction::KMin || r == Reduction::ArgKMin || r == Reduction::KMinArgKMin;
    const bool weight_before = r == Reduction::LogSumExpWeight || r == Reduction::SumSoftMaxWeight;
    const bool weight_after = r == Reduction::MaxSumShiftExpWeight;
    const bool lse = weight_before || weight_after || r == Reduction::LogSumExp ||
                     r == Reduction::MaxSumShiftExp;
    const char* what = kmin           ? "formula, K, axis"
                       : weight_before ? "formula, weight, axis"
                       : weight_after  ? "formula, axis, weight"
                       : r == Reduction::Zero ? "dimension, axis"
                                              : "formula, axis";
    const std::size_t nargs = (kmin || weight_before || weight_after) ? 3 : 2;
    if (s.args.size() != nargs)
      fail(s, "'" + name + "' takes " + std::to_string(nargs) + " arguments (" + what + "), got " +
                  std::to_string(s.args.size()), true);
    const Syntax& axis = *s.args[weight_before || kmin ? 2 : 1];
    if (r == Reduction::Zero) {
      long long d = int_param(*s.args[0], name, "dimension");
      if (d < 1) fail(*s.args[0], "the dimension of '" + name + "' must be at least 1");
      if (d > 100000) fail(*s.args[0], "the dimension of '" + name + "' is too large");
      p_.formula = p_.graph.zero(static_cast<int>(d));
    } else {
      p_.formula = build(*s.args[0]);
    }
    const int D = p_.graph.dim(p_.formula);
    if (lse && D != 1)
      fail(*s.args[0], "'" + name + "' needs a formula of dimension 1, but '" +
                           text_of(*s.args[0]) + "' has dimension " + std::to_string(D));
    if (kmin) {
      long long k = int_param(*s.args[1], name, "K");
      if (k < 1) fail(*s.args[1], "the K of '" + name + "' must be at least 1, got " + std::to_string(k));
      // The K best of every component live in registers (and on the stack)
      // for each SIMD lane: keep that bounded.
      if (k * D > kMaxKD)
        fail(*s.args[1], "K times the dimension of the formula is " + std::to_string(k * D) +
                             " in '" + name + "', more than this version supports (" +
                             std::to_string(kMaxKD) + ")");
      p_.K = static_cast<int>(k);
    }
    if (weight_before || weight_after) p_.weight = build(*s.args[weight_before ? 1 : 2]);
    p_.tag = static_cast<int>(int_param(axis, name, "axis"));
    if (p_.tag != 0 && p_.tag != 1)
      fail(axis, "the axis of '" + name +
                     "' must be 0 (reduce over j, one row per i) or 1 (reduce over i, "
                     "one row per j)");
    const int DG = p_.weight >= 0 ? p_.graph.dim(p_.weight) : 0;
    switch (r) {
      case Reduction::MaxArgMax: case Reduction::MinArgMin: p_.out_cols = 2 * D; break;
      case Reduction::KMin: case Reduction::ArgKMin: p_.out_cols = p_.K * D; break;
      case Reduction::KMinArgKMin: p_.out_cols = 2 * p_.K * D; break;
      case Reduction::LogSumExp: p_.out_cols = 1; break;
      case Reduction::LogSumExpWeight: case Reduction::SumSoftMaxWeight: p_.out_cols = DG; break;
      case Reduction::MaxSumShiftExp: p_.out_cols = 2; break;
      case Reduction::MaxSumShiftExpWeight: p_.out_cols = 1 + DG; break;
      default: p_.out_cols = D;
    }
  }

 private:
  const std::string& src_;
  Program& p_;
  const std::vector<std::string>& decl_text_;
  std::map<std::string, int> declared_;

  [[noreturn]] void fail(const Syntax& s, const std::string& msg, bool name_only = false,
                         const std::string& hint = "") const {
    std::size_t len = name_only && s.kind == Syntax::Call ? s.name_len : s.len;
    throw FormulaError(msg, s.pos, len, hint);
  }

  std::string text_of(const Syntax& s) const { return src_.substr(s.pos, s.len); }

  static bool is_planned(const std::string& n) {
    return std::find(std::begin(kPlannedNames), std::end(kPlannedNames), n) !=
           std::end(kPlannedNames);
  }

  std::vector<std::string> known_names() const {
    std::vector<std::string> v = implemented();
    for (const auto& kv : reductions()) v.push_back(kv.first);
    for (const char* n : kPlannedNames) v.push_back(n);
    return v;
  }

  std::vector<std::string> arg_names() const {
    std::vector<std::string> v;
    for (const auto& kv : declared_) v.push_back(kv.first);
    return v;
  }

  // An integer written where the language wants a compile-time integer.
  long long int_param(const Syntax& s, const std::string& op, const std::string& what) const {
    const Syntax* n = &s;
    bool neg = false;
    if (n->kind == Syntax::Unary && n->args.size() == 1) {
      neg = n->text == "-";
      n = n->args[0].get();
    }
    if (n->kind != Syntax::Number || !n->is_integer) {
      std::string got = n->kind == Syntax::Number ? "the decimal number '" + text_of(*n) + "'"
                                                  : "'" + text_of(s) + "'";
      fail(s, "the " + what + " of '" + op + "' must be an integer constant, not " + got);
    }
    if (n->value > 2147483647.0) fail(s, "the integer '" + text_of(s) + "' is too large");
    long long v = static_cast<long long>(n->value);
    return neg ? -v : v;
  }

  // Dimension rule of element-wise operations (spec 3.1): {D} or {1, D}.
  void check_vso(const Syntax& s, const std::string& op, const std::vector<int>& ids,
                 const std::vector<const Syntax*>& operands) const {
    int d = 1;
    std::size_t first = 0;
    for (std::size_t k = 0; k < ids.size(); ++k) {
      int dk = p_.graph.dim(ids[k]);
      if (dk == 1) continue;
      if (d == 1) { d = dk; first = k; continue; }
      if (dk != d)
        fail(s, "dimension mismatch in '" + op + "': '" + text_of(*operands[first]) +
                    "' has dimension " + std::to_string(d) + " but '" + text_of(*operands[k]) +
                    "' has dimension " + std::to_string(dk) +
                    " (operands must have the same dimension, or one of them dimension 1)");
    }
  }

  void check_equal_dims(const Syntax& s, const std::string& op, int a, int b, const Syntax& sa,
                        const Syntax& sb) const {
    if (p_.graph.dim(a) != p_.graph.dim(b))
      fail(s, "dimension mismatch in '" + op + "': '" + text_of(sa) + "' has dimension " +
                  std::to_string(p_.graph.dim(a)) + " but '" + text_of(sb) + "' has dimension " +
                  std::to_string(p_.graph.dim(b)) + " (they must be equal)");
  }

  // Binary operators written infix: + - * / | and comparisons.
  int binary_op(const Syntax& s, const std::string& op, const Syntax& sa, const Syntax& sb) {
    static const std::map<std::string, Op> infix = {
        {"+", Op::Add}, {"-", Op::Sub}, {"*", Op::Mul}, {"/", Op::Div},
        {"<", Op::LessThan}, {">", Op::LessThan}, {"<=", Op::LessOrEqual},
        {">=", Op::LessOrEqual}, {"==", Op::Equal}, {"!=", Op::NotEqual}};
    int a = build(sa), b = build(sb);
    if (op == "|") return scalprod(s, "(x|y)", a, b, sa, sb);
    Op o = infix.at(op);
    check_vso(s, op, {a, b}, {&sa, &sb});
    if (o == Op::Div && p_.graph.is_zero(b) && sb.kind == Syntax::Number)
      fail(s, "division by the constant 0");
    if (op == ">" || op == ">=") std::swap(a, b);  // g > f is f < g
    return p_.graph.make(o, {a, b});
  }

  // (f|g): equal dimensions, or one side of dimension 1 (then f * Sum(g)).
  int scalprod(const Syntax& s, const std::string& op, int a, int b, const Syntax& sa,
               const Syntax& sb) {
    Graph& g = p_.graph;
    if (g.dim(a) == 1 && g.dim(b) > 1) return g.mul(a, g.sum(b));
    if (g.dim(b) == 1 && g.dim(a) > 1) return g.mul(b, g.sum(a));
    check_equal_dims(s, op, a, b, sa, sb);
    return g.scalprod(a, b);
  }

  int variable(const Syntax& s, int pos, int dim, int cat) {
    if (pos < 0 || pos > 100000) fail(s, "the position of a variable must be between 0 and 100000");
    if (dim < 1) fail(s, "the dimension of a variable must be at least 1");
    if (static_cast<int>(p_.args.size()) <= pos) p_.args.resize(pos + 1, ArgDecl{"", -1, 0, 0});
    ArgDecl& a = p_.args[pos];
    if (a.cat == -1) {
      a = ArgDecl{"", cat, pos, dim};
    } else if (a.cat != cat || a.dim != dim) {
      static const char* cats[] = {"Vi", "Vj", "Pm"};
      std::string who = a.name.empty() ? "an inline variable" : "argument '" + a.name + "'";
      fail(s, "position " + std::to_string(pos) + " is " + who + " of category " + cats[a.cat] +
                  " and dimension " + std::to_string(a.dim) + ", but here it is used as " +
                  cats[cat] + " of dimension " + std::to_string(dim));
    }
    return p_.graph.var(pos, dim, cat);
  }

  // Every node built from the text is checked against the size limit, so a
  // formula cannot ask for gigabytes of generated code.
  int build(const Syntax& s) {
    int id = build_node(s);
    if (p_.graph.dim(id) > kMaxDim)
      fail(s, "this expression has dimension " + std::to_string(p_.graph.dim(id)) +
                  ", more than rkeops supports (" + std::to_string(kMaxDim) + ")");
    return id;
  }

  int build_node(const Syntax& s) {
    switch (s.kind) {
      case Syntax::Number:
        return p_.graph.constant(s.value);
      case Syntax::IntList:
        fail(s, "an integer list is not a formula");
      case Syntax::Name: {
        auto it = declared_.find(s.text);
        if (it != declared_.end()) {
          const ArgDecl& a = p_.args[it->second];
          return p_.graph.var(a.pos, a.dim, a.cat);
        }
        if (is_implemented(s.text) || reductions().count(s.text) || is_planned(s.text))
          fail(s, "'" + s.text + "' is an operation: call it with arguments, as in " + s.text +
                      "(...)");
        std::string hint = suggest(s.text, arg_names());
        if (declared_.empty())
          fail(s, "unknown variable '" + s.text + "': no arguments are declared");
        std::string list;
        for (const auto& kv : declared_) list += (list.empty() ? "" : ", ") + kv.first;
        fail(s, "unknown variable '" + s.text + "'", false,
             "(" + (hint.empty() ? "" : hint + " ") + "declared arguments: " + list + ")");
      }
      case Syntax::Unary: {
        if (s.text == "+") return build(*s.args[0]);
        return p_.graph.neg(build(*s.args[0]));
      }
      case Syntax::Binary: {
        const Syntax& a = *s.args[0];
        const Syntax& b = *s.args[1];
        if (s.text == "**") {
          const Syntax* e = &b;
          if (e->kind == Syntax::Unary) e = e->args[0].get();
          if (e->kind != Syntax::Number || !e->is_integer)
            fail(b, "the exponent of '**' must be an integer constant (use Powf(x, y) for other "
                    "exponents)");
          long long n = int_param(b, "**", "exponent");
          int base = build(a);
          if (n == 0) return unit_of(base);
          return p_.graph.pow(base, n);
        }
        return binary_op(s, s.text, a, b);
      }
      case Syntax::Call:
        return call(s);
    }
    fail(s, "unexpected expression");
  }

  // x**0: ones of x's dimension.
  int unit_of(int base) {
    int d = p_.graph.dim(base);
    int one = p_.graph.constant(1);
    return d == 1 ? one : p_.graph.add(p_.graph.zero(d), one);
  }

  void arity(const Syntax& s, std::size_t n, const char* what) const {
    if (s.args.size() != n)
      fail(s, "'" + s.text + "' takes " + plural((long)n, "argument") + " (" + what + "), got " +
                  std::to_string(s.args.size()), true);
  }

  // An integer list: [2, 3] or Ind(2, 3).
  std::vector<int> int_list(const Syntax& s, const std::string& op, const std::string& what) const {
    if (s.kind != Syntax::IntList && !(s.kind == Syntax::Call && s.text == "Ind"))
      fail(s, "the " + what + " of '" + op + "' must be an integer list such as [2, 3]");
    std::vector<int> v;
    for (const auto& e : s.args) v.push_back(static_cast<int>(int_param(*e, op, what)));
    return v;
  }

  void require(bool ok, const Syntax& s, const std::string& msg) const {
    if (!ok) fail(s, msg);
  }

  std::string dim_of(const Syntax& s, int id) const {
    return "'" + text_of(s) + "' has dimension " + std::to_string(p_.graph.dim(id));
  }

  int call(const Syntax& s);
  int call_structure(const Syntax& s, bool* handled);
  int call_norms_and_kernels(const Syntax& s, bool* handled);
  int call_tensor(const Syntax& s, bool* handled);
  int call_calculus(const Syntax& s, bool* handled);
  bool is_derivative_of_reduction(const Syntax& s) const;
  void build_derivative(const Syntax& s);
  int saved_forward(const std::string& formula, int cat, int dim);
  void check_indexed_like_output(const Syntax& s, int e, int tag);
  int variable_operand(const Syntax& s, const std::string& op);
};

// Element-wise functions of one formula.
const std::map<std::string, Op>& unary_functions() {
  static const std::map<std::string, Op> m = {
      {"Exp", Op::Exp},       {"Log", Op::Log},     {"XLogX", Op::XLogX}, {"Sqrt", Op::Sqrt},
      {"Rsqrt", Op::Rsqrt},   {"Sin", Op::Sin},     {"Cos", Op::Cos},     {"SinXDivX", Op::SinXDivX},
      {"Asin", Op::Asin},     {"Acos", Op::Acos},   {"Atan", Op::Atan},   {"Abs", Op::Abs},
      {"Sign", Op::Sign},     {"Step", Op::Step},   {"ReLU", Op::ReLU},   {"Floor", Op::Floor},
      {"Square", Op::Square}, {"Inv", Op::Inv},     {"Minus", Op::Neg}};
  return m;
}

// Element-wise functions of two or three formulas (dimension-1 operands broadcast).
const std::map<std::string, Op>& vso_functions() {
  static const std::map<std::string, Op> m = {
      {"Add", Op::Add},           {"Subtract", Op::Sub},     {"Mult", Op::Mul},
      {"ScalOrMult", Op::Mul},    {"Divide", Op::Div},       {"Powf", Op::Powf},
      {"Atan2", Op::Atan2},       {"Equal", Op::Equal},      {"NotEqual", Op::NotEqual},
      {"LessThan", Op::LessThan}, {"LessOrEqual", Op::LessOrEqual},
      {"Mod", Op::Mod},           {"Clamp", Op::Clamp},      {"IfElse", Op::IfElse}};
  return m;
}

int Builder::call(const Syntax& s) {
  const std::string& f = s.text;
  Graph& g = p_.graph;
  if (declared_.count(f)) fail(s, "'" + f + "' is a declared argument, not an operation", true);
  if (reductions().count(f))
    fail(s, "a reduction cannot be used inside a formula (only at the top level)", true);
  auto u = unary_functions().find(f);
  if (u != unary_functions().end()) {
    arity(s, 1, "a formula");
    return g.unary(u->second, build(*s.args[0]));
  }
  auto v = vso_functions().find(f);
  if (v != vso_functions().end()) {
    std::size_t n = (v->second == Op::Mod || v->second == Op::Clamp || v->second == Op::IfElse) ? 3 : 2;
    arity(s, n, n == 2 ? "two formulas" : "three formulas");
    std::vector<int> ids;
    std::vector<const Syntax*> ops;
    for (const auto& a : s.args) {
      ids.push_back(build(*a));
      ops.push_back(a.get());
    }
    check_vso(s, f, ids, ops);
    if (v->second == Op::Div && g.is_zero(ids[1]) && s.args[1]->kind == Syntax::Number)
      fail(s, "division by the constant 0");
    return g.make(v->second, ids);
  }
  bool handled = false;
  int r = call_structure(s, &handled);
  if (!handled) r = call_norms_and_kernels(s, &handled);
  if (!handled) r = call_tensor(s, &handled);
  if (!handled) r = call_calculus(s, &handled);
  if (handled) return r;
  if (is_planned(f)) fail(s, "'" + f + "' is not supported yet by this version of rkeops", true);
  std::string hint = suggest(f, known_names());
  fail(s, "unknown operation '" + f + "'", true, hint.empty() ? "" : "(" + hint + ")");
}

// Constants, variables, integer-parameter operations, vector structure.
int Builder::call_structure(const Syntax& s, bool* handled) {
  const std::string& f = s.text;
  Graph& g = p_.graph;
  *handled = true;
  auto arg = [&](std::size_t k) { return build(*s.args[k]); };
  auto ip = [&](std::size_t k, const char* what) { return int_param(*s.args[k], f, what); };
  if (f == "IntCst") {
    arity(s, 1, "an integer");
    return g.constant(static_cast<double>(ip(0, "value")));
  }
  if (f == "IntInv") {
    arity(s, 1, "an integer");
    long long n = ip(0, "value");
    require(n != 0, *s.args[0], "'IntInv(0)' is a division by zero");
    return g.constant(1.0 / static_cast<double>(n));
  }
  if (f == "RatCst") {
    arity(s, 2, "numerator, denominator");
    long long p = ip(0, "numerator"), q = ip(1, "denominator");
    require(q != 0, *s.args[1], "the denominator of 'RatCst' must not be 0");
    return g.constant(static_cast<double>(p) / static_cast<double>(q));
  }
  if (f == "Zero") {
    arity(s, 1, "a dimension");
    long long d = ip(0, "dimension");
    require(d >= 1, *s.args[0], "the dimension of 'Zero' must be at least 1");
    return g.zero(static_cast<int>(d));
  }
  if (f == "Var") {
    arity(s, 3, "position, dimension, category");
    long long pos = ip(0, "position"), dim = ip(1, "dimension"), cat = ip(2, "category");
    require(cat >= 0 && cat <= 2, *s.args[2], "the category of 'Var' must be 0 (Vi), 1 (Vj) or 2 (Pm)");
    return variable(s, (int)pos, (int)dim, (int)cat);
  }
  if (f == "Vi" || f == "Vj" || f == "Pm" || f == "Vx" || f == "Vy") {
    if (s.args.size() == 1)
      fail(s, "inside a formula, '" + f + "' needs a position and a dimension, as in " + f +
                  "(0, 3); or declare the variable in 'args'", true);
    arity(s, 2, "position, dimension");
    long long pos = ip(0, "position"), dim = ip(1, "dimension");
    int cat = (f == "Vi" || f == "Vx") ? kVi : (f == "Vj" || f == "Vy") ? kVj : kPm;
    return variable(s, (int)pos, (int)dim, cat);
  }
  if (f == "Pow") {
    arity(s, 2, "a formula and an integer exponent");
    long long m = ip(1, "exponent");
    int base = arg(0);
    return m == 0 ? unit_of(base) : g.pow(base, m);
  }
  if (f == "Round") {
    arity(s, 2, "a formula and a number of decimals");
    long long d = ip(1, "number of decimals");
    require(d >= 0 && d <= 15, *s.args[1], "the number of decimals of 'Round' must be between 0 and 15");
    return g.make(Op::Round, {arg(0)}, {d});
  }
  if (f == "ClampInt" || f == "DiffClampInt") {
    arity(s, 3, "a formula and two integer bounds");
    long long a = ip(1, "lower bound"), b = ip(2, "upper bound");
    return g.make(f == "ClampInt" ? Op::ClampInt : Op::DiffClampInt, {arg(0)}, {a, b});
  }
  if (f == "Sum" || f == "Max" || f == "Min" || f == "ArgMax" || f == "ArgMin") {
    arity(s, 1, "a formula");
    Op o = f == "Sum" ? Op::Sum : f == "Max" ? Op::Max : f == "Min" ? Op::Min
         : f == "ArgMax" ? Op::ArgMax : Op::ArgMin;
    int a = arg(0);
    if (o != Op::Sum && g.dim(a) == 1) return o == Op::ArgMax || o == Op::ArgMin ? g.zero(1) : a;
    return g.make(o, {a});
  }
  if (f == "SumT" || f == "OneHot") {
    arity(s, 2, "a formula of dimension 1 and a dimension");
    int a = arg(0);
    long long d = ip(1, "dimension");
    require(g.dim(a) == 1, *s.args[0], "'" + f + "' needs a formula of dimension 1, but " + dim_of(*s.args[0], a));
    require(d >= 1, *s.args[1], "the dimension of '" + f + "' must be at least 1");
    return f == "SumT" ? g.sum_t(a, (int)d) : g.make(Op::OneHot, {a}, {d});
  }
  if (f == "Elem") {
    arity(s, 2, "a formula and an index");
    int a = arg(0);
    long long m = ip(1, "index");
    require(m >= 0 && m < g.dim(a), *s.args[1],
            "index " + std::to_string(m) + " is out of range: " + dim_of(*s.args[0], a) +
                " (indices are 0-based)");
    return g.extract(a, (int)m, 1);
  }
  if (f == "ElemT") {
    arity(s, 3, "a formula of dimension 1, a dimension and an index");
    int a = arg(0);
    long long n = ip(1, "dimension"), m = ip(2, "index");
    require(g.dim(a) == 1, *s.args[0], "'ElemT' needs a formula of dimension 1, but " + dim_of(*s.args[0], a));
    require(m >= 0 && m < n, *s.args[2], "index " + std::to_string(m) + " is out of range for dimension " + std::to_string(n));
    return g.extract_t(a, (int)m, (int)n);
  }
  if (f == "Extract") {
    arity(s, 3, "a formula, a start index and a dimension");
    int a = arg(0);
    long long st = ip(1, "start"), d = ip(2, "dimension");
    require(st >= 0 && d >= 1 && st + d <= g.dim(a), s,
            "'Extract' of components " + std::to_string(st) + " to " + std::to_string(st + d - 1) +
                " is out of range: " + dim_of(*s.args[0], a) + " (indices are 0-based)");
    return g.extract(a, (int)st, (int)d);
  }
  if (f == "ExtractT") {
    arity(s, 3, "a formula, a start index and a dimension");
    int a = arg(0);
    long long st = ip(1, "start"), n = ip(2, "dimension");
    require(st >= 0 && st + g.dim(a) <= n, s,
            "'ExtractT' cannot write '" + text_of(*s.args[0]) + "' (dimension " +
                std::to_string(g.dim(a)) + ") at position " + std::to_string(st) +
                " of a vector of dimension " + std::to_string(n));
    return g.extract_t(a, (int)st, (int)n);
  }
  if (f == "Concat") {
    arity(s, 2, "two formulas");
    return g.concat(arg(0), arg(1));
  }
  if (f == "Scal") {  // RKeOps 1.x: scalar times vector
    arity(s, 2, "a formula of dimension 1 and a formula");
    int a = arg(0), b = arg(1);
    require(g.dim(a) == 1, *s.args[0], "'Scal' needs a first operand of dimension 1, but " + dim_of(*s.args[0], a));
    return g.mul(a, b);
  }
  if (f == "Ind")
    fail(s, "'Ind(...)' is an integer list: it is only allowed as an argument of TensorDot or Kron", true);
  *handled = false;
  return -1;
}

// Norms, distances and the kernel shortcuts of RKeOps 1.x (spec 3.5, 3.6),
// expanded into ordinary formulas so that differentiation comes for free.
int Builder::call_norms_and_kernels(const Syntax& s, bool* handled) {
  const std::string& f = s.text;
  Graph& g = p_.graph;
  *handled = true;
  auto arg = [&](std::size_t k) { return build(*s.args[k]); };
  auto diff = [&](int x, int y, const Syntax& sx, const Syntax& sy) {
    check_vso(s, f, {x, y}, {&sx, &sy});
    return g.sub(x, y);
  };
  if (f == "Scalprod") {
    arity(s, 2, "two formulas");
    int a = arg(0), b = arg(1);
    return scalprod(s, f, a, b, *s.args[0], *s.args[1]);
  }
  if (f == "SqNorm2" || f == "Norm2" || f == "Normalize") {
    arity(s, 1, "a formula");
    int a = arg(0), n2 = g.sqnorm2(a);
    if (f == "SqNorm2") return n2;
    if (f == "Norm2") return g.unary(Op::Sqrt, n2);
    return g.mul(g.unary(Op::Rsqrt, n2), a);
  }
  if (f == "SqDist") {
    arity(s, 2, "two formulas");
    int a = arg(0), b = arg(1);
    return g.sqnorm2(diff(a, b, *s.args[0], *s.args[1]));
  }
  if (f == "WeightedSqNorm" || f == "WeightedSqDist" || f == "SqNormIso" || f == "SqNormDiag" ||
      f == "SymSqNorm") {
    bool dist = f == "WeightedSqDist";
    arity(s, dist ? 3 : 2, dist ? "weights and two formulas" : "weights and a formula");
    int w = arg(0), x = arg(1);
    if (dist) x = diff(x, arg(2), *s.args[1], *s.args[2]);
    int dw = g.dim(w), dx = g.dim(x);
    bool iso = dw == 1, diag = !iso && dw == dx, full = !iso && !diag && dw == dx * dx;
    std::string allowed = f == "SqNormIso" ? "1"
                          : f == "SqNormDiag" ? std::to_string(dx)
                          : f == "SymSqNorm" ? std::to_string(dx * dx)
                          : "1, " + std::to_string(dx) + " or " + std::to_string(dx * dx);
    if ((f == "SqNormIso" && !iso) || (f == "SqNormDiag" && dw != dx) || (f == "SymSqNorm" && dw != dx * dx) ||
        (!iso && !diag && !full))
      fail(s, "dimension mismatch in '" + f + "': the weights '" + text_of(*s.args[0]) + "' have dimension " +
                  std::to_string(dw) + " but must have dimension " + allowed + " for '" +
                  text_of(*s.args[1]) + (dist ? "' and '" + text_of(*s.args[2]) : std::string()) +
                  "' of dimension " + std::to_string(dx));
    if (f == "SymSqNorm" || (full && f != "SqNormDiag")) {
      int outer = g.tensordot(x, x, {dx}, {dx}, {}, {});
      return g.scalprod(w, outer);
    }
    if (iso && f != "SqNormDiag") return g.mul(w, g.sqnorm2(x));
    return g.sum(g.mul(w, g.unary(Op::Square, x)));
  }
  static const std::map<std::string, int> kernels = {
      {"GaussKernel", 4}, {"CauchyKernel", 4}, {"LaplaceKernel", 4},
      {"InverseMultiquadricKernel", 4}, {"SumGaussKernel", 5}, {"DivFreeGaussKernel", 4},
      {"CurlFreeGaussKernel", 4}, {"TRIGaussKernel", 5}};
  auto k = kernels.find(f);
  if (k == kernels.end()) {
    *handled = false;
    return -1;
  }
  arity(s, (std::size_t)k->second, k->second == 4 ? "c, x, y, b" : (f == "SumGaussKernel" ? "c, w, x, y, b" : "l, c, x, y, b"));
  std::size_t off = k->second - 4;  // x, y, b are the last three arguments
  int c = arg(f == "SumGaussKernel" ? 0 : off), x = arg(off + 1), y = arg(off + 2), b = arg(off + 3);
  int dxy = diff(x, y, *s.args[off + 1], *s.args[off + 2]);
  int r2 = g.sqnorm2(dxy);
  auto need_scalar = [&](int id, std::size_t at) {
    require(g.dim(id) == 1, *s.args[at], "'" + f + "' needs a scale of dimension 1, but " + dim_of(*s.args[at], id));
  };
  if (f == "SumGaussKernel") {
    int w = arg(1);
    require(g.dim(c) == g.dim(w), s, "'SumGaussKernel' needs scales and weights of the same dimension");
    int e = g.unary(Op::Exp, g.neg(g.mul(r2, c)));
    return g.mul(g.scalprod(w, e), b);
  }
  need_scalar(c, off);
  int kexp = g.unary(Op::Exp, g.neg(g.mul(c, r2)));
  if (f == "GaussKernel") return g.mul(kexp, b);
  if (f == "CauchyKernel") return g.mul(g.unary(Op::Inv, g.add(g.constant(1), g.mul(c, r2))), b);
  if (f == "LaplaceKernel") return g.mul(g.unary(Op::Exp, g.neg(g.mul(c, g.unary(Op::Sqrt, r2)))), b);
  if (f == "InverseMultiquadricKernel")
    return g.mul(g.unary(Op::Inv, g.unary(Op::Sqrt, g.add(g.unary(Op::Inv, c), r2))), b);
  require(g.dim(b) == g.dim(x), *s.args[off + 3], "'" + f + "' needs b of the dimension of x, but " + dim_of(*s.args[off + 3], b));
  int bxy = g.mul(g.scalprod(b, dxy), dxy);
  int inv2c = g.unary(Op::Inv, g.mul(g.constant(2), c));
  int divfree = g.mul(kexp, g.add(g.mul(g.sub(g.mul(g.constant(g.dim(x) - 1), inv2c), r2), b), bxy));
  int curlfree = g.mul(kexp, g.sub(g.mul(inv2c, b), bxy));
  if (f == "DivFreeGaussKernel") return divfree;
  if (f == "CurlFreeGaussKernel") return curlfree;
  int l = arg(0);
  need_scalar(l, 0);
  return g.add(g.mul(l, divfree), g.mul(g.sub(g.constant(1), l), curlfree));
}

// The variable a derivative is taken with respect to.
int Builder::variable_operand(const Syntax& s, const std::string& op) {
  int v = build(s);
  if (p_.graph[v].op != Op::Var)
    fail(s, "'" + op + "' differentiates with respect to a variable, but '" + text_of(s) +
                "' is not a variable");
  return v;
}

// Derivatives around a reduction (spec 5.4, 5.6, 5.7).
bool Builder::is_derivative_of_reduction(const Syntax& s) const {
  static const char* const names[] = {"Grad", "GradFromPos", "GradFromInd", "Diff",
                                      "Grad_WithSavedForward"};
  if (s.kind != Syntax::Call || s.args.empty()) return false;
  if (std::find(std::begin(names), std::end(names), s.text) == std::end(names)) return false;
  const Syntax& r = *s.args[0];
  return r.kind == Syntax::Call && (reductions().count(r.text) || is_derivative_of_reduction(r));
}

// A hidden input holding the result of `formula` on the same arguments.
int Builder::saved_forward(const std::string& formula, int cat, int dim) {
  int pos = static_cast<int>(p_.args.size());
  p_.args.push_back(ArgDecl{"", cat, pos, dim});
  p_.saved.push_back(SavedForward{formula, pos, cat, dim});
  return p_.graph.var(pos, dim, cat);
}

// A gradient input must be indexed like the reduction's output rows.
void Builder::check_indexed_like_output(const Syntax& s, int e, int tag) {
  static const char* cats[] = {"Vi", "Vj", "Pm"};
  for (int id : p_.graph.topological({e})) {
    const Node& n = p_.graph[id];
    if (n.op == Op::Var && n.ints[1] != tag && n.ints[1] != kPm)
      fail(s, "the gradient input must be indexed like the output of the reduction (a " +
                  std::string(cats[tag]) + " or a parameter), but it uses a " + cats[n.ints[1]]);
  }
}

void Builder::build_derivative(const Syntax& s) {
  const std::string& f = s.text;
  const bool saved_form = f == "Grad_WithSavedForward";
  arity(s, saved_form ? 4 : 3, f == "GradFromPos" ? "a reduction, a variable and a position"
                               : f == "GradFromInd" ? "a reduction, a variable position and a position"
                               : f == "Diff" ? "a reduction, a variable and a direction"
                               : saved_form ? "a reduction, a variable, the gradient input and the forward result"
                                            : "a reduction, a variable and the gradient input");
  const Syntax& red = *s.args[0];
  build_top(red);
  if (p_.sum_rows)
    fail(s, "differentiate with respect to a parameter last: its gradient is summed over all rows", true);
  if (!p_.saved.empty())
    fail(s, "second derivatives through LogSumExp, LogSumExpWeight or SumSoftMaxWeight are not supported", true);
  Graph& g = p_.graph;
  const Reduction r = p_.reduction;
  const int t = p_.tag, F = p_.formula, G = p_.weight, C = p_.out_cols;
  int v;
  if (f == "GradFromInd") {
    long long k = int_param(*s.args[1], f, "variable position");
    if (k < 0 || k >= (long long)p_.args.size() || p_.args[k].cat < 0)
      fail(*s.args[1], "no variable has position " + std::to_string(k));
    const ArgDecl& a = p_.args[k];
    v = g.var(a.pos, a.dim, a.cat);
  } else {
    v = variable_operand(*s.args[1], f);
  }
  int e;
  if (f == "GradFromPos" || f == "GradFromInd") {
    long long pos = int_param(*s.args[2], f, "position of the gradient input");
    e = variable(*s.args[2], (int)pos, C, t);
  } else {
    e = build(*s.args[2]);
  }
  const int cv = static_cast<int>(g[v].ints[1]);
  if (f == "Diff") {
    require(g.dim(e) == g.dim(v), *s.args[2], "the direction of 'Diff' must have the dimension of the variable (" +
                                                  std::to_string(g.dim(v)) + "), but " + dim_of(*s.args[2], e));
    require(r == Reduction::Sum, s, "'Diff' of '" + std::string(reduction_name(r)) + "' is not supported (only Sum_Reduction)");
    p_.formula = jvp(g, F, v, e);
    p_.out_cols = g.dim(p_.formula);
    return;
  }
  require(g.dim(e) == C, *s.args[2], "the gradient input must have the dimension of the reduction's output (" +
                                         std::to_string(C) + "), but " + dim_of(*s.args[2], e));
  check_indexed_like_output(*s.args[2], e, t);
  auto F_text = [&] { return text_of(*red.args[0]); };
  int out;
  switch (r) {
    case Reduction::Sum:
      out = vjp(g, F, v, e);
      break;
    case Reduction::ArgMin: case Reduction::ArgMax: case Reduction::ArgKMin: case Reduction::Zero:
      out = g.zero(g.dim(v));
      break;
    case Reduction::LogSumExp: {  // e * exp(F - L), L the forward result
      int L = saved_forward(text_of(red), t, 1);
      out = vjp(g, F, v, g.mul(e, g.unary(Op::Exp, g.sub(F, L))));
      break;
    }
    case Reduction::LogSumExpWeight: {  // W = exp(F - L) per component of G
      int L = saved_forward(text_of(red), t, C);
      int W = g.unary(Op::Exp, g.sub(F, L));
      out = g.add(vjp(g, F, v, g.sum(g.mul(e, g.mul(W, G)))), vjp(g, G, v, g.mul(e, W)));
      break;
    }
    case Reduction::SumSoftMaxWeight: {  // P = exp(F - LSE(F)), S the forward result
      int S = saved_forward(text_of(red), t, C);
      int Lse = saved_forward("LogSumExp_Reduction(" + F_text() + ", " + std::to_string(t) + ")", t, 1);
      int P = g.unary(Op::Exp, g.sub(F, Lse));
      int inner = g.mul(P, g.sub(g.scalprod(e, G), g.scalprod(e, S)));
      out = g.add(vjp(g, F, v, inner), vjp(g, G, v, g.mul(P, e)));
      break;
    }
    case Reduction::MaxSumShiftExp: case Reduction::MaxSumShiftExpWeight: {
      if (!saved_form)
        fail(s, "'" + std::string(reduction_name(r)) + "' can only be differentiated with "
                "Grad_WithSavedForward(R, v, e, r), r being its forward result [m, s] "
                "(or use LogSumExp_Reduction)", true);
      int rs = build(*s.args[3]);
      require(g.dim(rs) == C, *s.args[3], "the forward result must have the dimension of the reduction's output (" +
                                              std::to_string(C) + "), but " + dim_of(*s.args[3], rs));
      check_indexed_like_output(*s.args[3], rs, t);
      int weight = G >= 0 ? G : g.constant(1);
      int body = g.mul(g.unary(Op::Exp, g.sub(F, g.extract(rs, 0, 1))), weight);
      out = vjp(g, body, v, g.extract(e, 1, g.dim(weight)));
      break;
    }
    default:
      fail(red, "'" + std::string(reduction_name(r)) + "' cannot be differentiated (spec 5.5): " +
                    "its result is not a differentiable function of the inputs", true);
  }
  const bool zero = r == Reduction::ArgMin || r == Reduction::ArgMax || r == Reduction::ArgKMin ||
                    r == Reduction::Zero;
  p_.reduction = zero ? Reduction::Zero : Reduction::Sum;
  p_.formula = out;
  p_.weight = -1;
  p_.K = 0;
  p_.tag = cv == kPm ? 0 : cv;
  p_.out_cols = g.dim(v);
  p_.sum_rows = cv == kPm;
}

// Symbolic differential operators inside formulas (spec 3.8).
int Builder::call_calculus(const Syntax& s, bool* handled) {
  const std::string& f = s.text;
  Graph& g = p_.graph;
  *handled = true;
  if (f == "Grad" || f == "Diff") {
    if (f == "Grad" && s.args.size() == 2)
      fail(s, "'Grad' needs the gradient input: Grad(F, v, e) with e of the dimension of F", true);
    arity(s, 3, f == "Grad" ? "a formula, a variable and the gradient input" : "a formula, a variable and a direction");
    if (s.args[0]->kind == Syntax::Call && reductions().count(s.args[0]->text))
      fail(s, "'" + f + "' of a reduction is only allowed at the top level of the formula", true);
    int F = build(*s.args[0]);
    int v = variable_operand(*s.args[1], f);
    int e = build(*s.args[2]);
    if (f == "Grad") {
      require(g.dim(e) == g.dim(F) || g.dim(e) == 1, *s.args[2],
              "the gradient input of 'Grad' must have the dimension of the formula (" +
                  std::to_string(g.dim(F)) + ") or 1, but " + dim_of(*s.args[2], e));
      return vjp(g, F, v, e);
    }
    require(g.dim(e) == g.dim(v), *s.args[2],
            "the direction of 'Diff' must have the dimension of the variable (" +
                std::to_string(g.dim(v)) + "), but " + dim_of(*s.args[2], e));
    return jvp(g, F, v, e);
  }
  if (f == "GradMatrix" || f == "Divergence" || f == "Laplacian") {
    arity(s, 2, "a formula and a variable");
    int F = build(*s.args[0]);
    int v = variable_operand(*s.args[1], f);
    require((long long)g.dim(F) * g.dim(v) <= kMaxDim, s,
            "'" + f + "' of a formula of dimension " + std::to_string(g.dim(F)) +
                " with respect to a variable of dimension " + std::to_string(g.dim(v)) +
                " is too large");
    if (f == "GradMatrix") return jacobian(g, F, v);
    if (f == "Divergence") {
      require(g.dim(F) == g.dim(v), s, "'Divergence' needs a formula of the dimension of the variable (" +
                                           std::to_string(g.dim(v)) + "), but " + dim_of(*s.args[0], F));
      return divergence(g, F, v);
    }
    require(g.dim(F) == 1, *s.args[0], "'Laplacian' needs a formula of dimension 1, but " + dim_of(*s.args[0], F));
    return laplacian(g, F, v);
  }
  *handled = false;
  return -1;
}

// Matrices packed in vectors, row-major (spec 3.7).
int Builder::call_tensor(const Syntax& s, bool* handled) {
  const std::string& f = s.text;
  Graph& g = p_.graph;
  *handled = true;
  auto arg = [&](std::size_t k) { return build(*s.args[k]); };
  if (f == "MatVecMult" || f == "VecMatMult") {
    arity(s, 2, f == "MatVecMult" ? "a matrix A and a vector b" : "a vector b and a matrix A");
    bool mv = f == "MatVecMult";
    int A = arg(mv ? 0 : 1), b = arg(mv ? 1 : 0);
    int da = g.dim(A), db = g.dim(b);
    const Syntax& sA = *s.args[mv ? 0 : 1];
    const Syntax& sb = *s.args[mv ? 1 : 0];
    require(da % db == 0, s, "dimension mismatch in '" + f + "': the matrix '" + text_of(sA) + "' has dimension " +
                                 std::to_string(da) + ", not a multiple of the dimension " + std::to_string(db) +
                                 " of the vector '" + text_of(sb) + "'");
    int other = da / db;
    if (mv) return g.tensordot(A, b, {other, db}, {db}, {1}, {0});
    return g.tensordot(b, A, {db}, {db, other}, {0}, {0});
  }
  if (f == "TensorProd") {
    arity(s, 2, "two formulas");
    int a = arg(0), b = arg(1);
    return g.tensordot(a, b, {g.dim(a)}, {g.dim(b)}, {}, {});
  }
  if (f == "TensorDot" || f == "Kron") {
    bool kron = f == "Kron";
    if (kron) arity(s, 4, "f, g, [dims of f], [dims of g]");
    else if (s.args.size() != 6 && s.args.size() != 7)
      fail(s, "'TensorDot' takes 6 or 7 arguments (f, g, [dims of f], [dims of g], [axes of f], "
              "[axes of g], optionally [permutation]), got " + std::to_string(s.args.size()), true);
    int a = arg(0), b = arg(1);
    std::vector<int> da = int_list(*s.args[2], f, "dimensions of f"),
                     db = int_list(*s.args[3], f, "dimensions of g"), ca, cb, perm;
    auto prod = [](const std::vector<int>& v) { long long p = 1; for (int x : v) p *= x; return p; };
    for (int x : da) require(x >= 1 && x <= kMaxDim, *s.args[2], "dimensions must be between 1 and " + std::to_string(kMaxDim));
    for (int x : db) require(x >= 1 && x <= kMaxDim, *s.args[3], "dimensions must be between 1 and " + std::to_string(kMaxDim));
    require(prod(da) == g.dim(a), *s.args[2], "the dimensions of f multiply to " + std::to_string(prod(da)) +
                                                  " but " + dim_of(*s.args[0], a));
    require(prod(db) == g.dim(b), *s.args[3], "the dimensions of g multiply to " + std::to_string(prod(db)) +
                                                  " but " + dim_of(*s.args[1], b));
    require(prod(da) * prod(db) <= 1000000, s, "'" + f + "' of tensors this large is not supported");
    if (kron) {
      require(da.size() == db.size(), s, "'Kron' needs f and g of the same number of axes");
      int r = (int)da.size();
      for (int k = 0; k < r; ++k) perm.push_back(2 * k);
      for (int k = 0; k < r; ++k) perm.push_back(2 * k + 1);
      return g.tensordot(a, b, da, db, {}, {}, perm);
    }
    ca = int_list(*s.args[4], f, "contracted axes of f");
    cb = int_list(*s.args[5], f, "contracted axes of g");
    require(ca.size() == cb.size(), s, "'TensorDot' needs as many contracted axes for f as for g");
    for (std::size_t t = 0; t < ca.size(); ++t) {
      require(ca[t] >= 0 && ca[t] < (int)da.size(), *s.args[4], "axis " + std::to_string(ca[t]) + " of f does not exist");
      require(cb[t] >= 0 && cb[t] < (int)db.size(), *s.args[5], "axis " + std::to_string(cb[t]) + " of g does not exist");
      require(da[ca[t]] == db[cb[t]], s, "contracted axes must have equal sizes: axis " + std::to_string(ca[t]) +
                                             " of '" + text_of(*s.args[0]) + "' has " + std::to_string(da[ca[t]]) +
                                             ", axis " + std::to_string(cb[t]) + " of '" + text_of(*s.args[1]) +
                                             "' has " + std::to_string(db[cb[t]]));
      for (std::size_t u = 0; u < t; ++u)
        require(ca[u] != ca[t] && cb[u] != cb[t], s, "an axis is contracted twice");
    }
    if (s.args.size() == 7) {
      perm = int_list(*s.args[6], f, "permutation");
      std::size_t rank = da.size() + db.size() - 2 * ca.size();
      std::vector<int> sorted = perm;
      std::sort(sorted.begin(), sorted.end());
      bool ok = sorted.size() == rank;
      for (std::size_t k = 0; ok && k < rank; ++k) ok = sorted[k] == (int)k;
      require(ok, *s.args[6], "the permutation must list 0 to " + std::to_string((long)rank - 1) + " once each");
    }
    return g.tensordot(a, b, da, db, ca, cb, perm);
  }
  *handled = false;
  return -1;
}

}  // namespace

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
    for (const char* n : kPlannedNames) out.push_back(n);
    return out;
  }();
  return v;
}

Program compile_formula(const std::string& formula, const std::vector<std::string>& decls) {
  Program p;
  std::vector<ArgDecl> declared = parse_arg_decls(decls);
  for (const ArgDecl& a : declared) {
    if (static_cast<int>(p.args.size()) <= a.pos) p.args.resize(a.pos + 1, ArgDecl{"", -1, 0, 0});
    p.args[a.pos] = a;
  }
  SyntaxPtr syntax = parse_syntax(formula);
  Builder(formula, p, decls).build_top(*syntax);
  for (std::size_t k = 0; k < p.args.size(); ++k)
    if (p.args[k].cat == -1)
      throw ArgumentError("positions must be 0, 1, ..., " + std::to_string(p.args.size() - 1) +
                              " without gaps, but no argument has position " + std::to_string(k),
                          static_cast<int>(k));
  p.canonical = canonical_text(p);
  return p;
}

}  // namespace rkeops
