// Semantic analysis: syntax tree -> checked DAG (names resolved, arities,
// integer parameters and dimensions checked), with errors that point at the
// offending part of the formula.
#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "formula/errors.h"
#include "formula/program.h"
#include "formula/syntax.h"

namespace rkeops {

namespace {

// Names of the spec that this version does not implement yet: a user who
// writes one is told so instead of "unknown operation".
const char* const kPlannedNames[] = {
    "Abs", "Acos", "ArgKMin_Reduction", "ArgKMinReduction", "ArgMax", "ArgMax_Reduction",
    "ArgMaxReduction", "ArgMin", "ArgMin_Reduction", "ArgMinReduction", "Asin", "Atan", "Atan2",
    "AutoFactorize", "BSpline", "CauchyKernel", "Clamp", "ClampInt", "Concat", "Cos",
    "CurlFreeGaussKernel", "Diff", "DiffClampInt", "Divergence", "DivFreeGaussKernel", "Elem",
    "ElemT", "Equal", "Extract", "ExtractT", "Factorize", "Floor", "GaussKernel", "Grad",
    "Grad_WithSavedForward", "GradFromInd", "GradFromPos", "GradMatrix", "IfElse", "IntInv",
    "InverseMultiquadricKernel", "KMin_ArgKMin_Reduction", "KMinArgKMinReduction",
    "KMin_Reduction", "KMinReduction", "Kron", "LaplaceKernel", "Laplacian", "LessOrEqual",
    "LessThan", "Log", "LogSumExp_Reduction", "LogSumExpReduction", "LogSumExpVectReduction",
    "LogSumExpWeight_Reduction", "MatVecMult", "Max", "Max_ArgMax_Reduction",
    "MaxArgMaxReduction", "Max_Reduction", "MaxReduction", "Max_SumShiftExp_Reduction",
    "Max_SumShiftExpWeight_Reduction", "Min", "Min_ArgMin_Reduction", "Min_Reduction",
    "MinReduction", "Mod", "Norm2", "Normalize", "NotEqual", "OneHot", "Powf", "RatCst",
    "ReLU", "Round", "Rsqrt", "Scal", "ScalOrMult", "Sign", "Sin", "SinXDivX", "SoftDTW_SqDist",
    "SqNormDiag", "SqNormIso", "Sqrt", "Step", "SumGaussKernel", "SumSoftMaxWeight_Reduction",
    "SumT", "SymSqNorm", "TensorDot", "TensorProd", "TRIGaussKernel", "VecMatMult",
    "WeightedSqDist", "WeightedSqNorm", "XLogX", "Zero_Reduction", "Atan2", "Diff_WithSavedForward",
    "Real2Complex", "Imag2Complex", "ComplexReal", "ComplexImag", "Conj", "ComplexAdd",
    "ComplexSubtract", "ComplexMult", "ComplexRealScal", "ComplexDivide", "ComplexSquareAbs",
    "ComplexAbs", "ComplexAngle", "ComplexExp", "ComplexExp1j", "ComplexSum", "ComplexSumT",
    "ComplexScal", "TraceOperator", "AdjointOperator", "SumLinOperator", "Ind"};

// Operations implemented now: name -> number of formula operands
// (-1: handled specially).
const std::map<std::string, int>& implemented() {
  static const std::map<std::string, int> m = {
      {"Exp", 1},     {"Square", 1},  {"Inv", 1},      {"Minus", 1},    {"Sum", 1},
      {"SqNorm2", 1}, {"Scalprod", 2}, {"SqDist", 2},  {"Add", 2},      {"Subtract", 2},
      {"Mult", 2},    {"Divide", 2},  {"Pow", -1},     {"IntCst", -1},  {"Zero", -1},
      {"Var", -1},    {"Vi", -1},     {"Vj", -1},      {"Pm", -1},      {"Vx", -1},
      {"Vy", -1}};
  return m;
}

const std::map<std::string, Reduction>& reductions() {
  static const std::map<std::string, Reduction> m = {
      {"Sum_Reduction", Reduction::Sum}, {"SumReduction", Reduction::Sum}};
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
  return best.empty() ? "" : "(did you mean '" + best + "'?)";
}

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
    if (s.kind != Syntax::Call || !reductions().count(s.text)) {
      if (s.kind == Syntax::Call && is_planned(s.text) && s.text.find("Reduction") != std::string::npos)
        fail(s, "'" + s.text + "' is not supported yet by this version of rkeops", true);
      fail(s,
           "the formula must be a reduction, such as Sum_Reduction(F, 0) (reduce over j, "
           "one row per i) or Sum_Reduction(F, 1) (reduce over i, one row per j)");
    }
    p_.reduction = reductions().at(s.text);
    if (s.args.size() != 2)
      fail(s, "'" + s.text + "' takes 2 arguments (formula, axis), got " +
                  std::to_string(s.args.size()), true);
    p_.formula = build(*s.args[0]);
    p_.tag = static_cast<int>(int_param(*s.args[1], s.text, "axis"));
    if (p_.tag != 0 && p_.tag != 1)
      fail(*s.args[1], "the axis of '" + s.text +
                           "' must be 0 (reduce over j, one row per i) or 1 (reduce over i, "
                           "one row per j)");
    p_.out_cols = p_.graph.dim(p_.formula);
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
    std::vector<std::string> v;
    for (const auto& kv : implemented()) v.push_back(kv.first);
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

  int binary_op(const Syntax& s, const std::string& op, const Syntax& sa, const Syntax& sb) {
    int a = build(sa), b = build(sb);
    if (op == "+" || op == "Add" || op == "-" || op == "Subtract" || op == "*" || op == "Mult" ||
        op == "/" || op == "Divide") {
      check_vso(s, op, {a, b}, {&sa, &sb});
      if (op == "+" || op == "Add") return p_.graph.add(a, b);
      if (op == "-" || op == "Subtract") return p_.graph.sub(a, b);
      if (op == "*" || op == "Mult") return p_.graph.mul(a, b);
      if (p_.graph.is_zero(b) && sb.kind == Syntax::Number)
        fail(s, "division by the constant 0");
      return p_.graph.div(a, b);
    }
    if (op == "|" || op == "Scalprod") {
      check_equal_dims(s, op == "|" ? "(x|y)" : op, a, b, sa, sb);
      return p_.graph.scalprod(a, b);
    }
    if (op == "SqDist") {
      check_equal_dims(s, op, a, b, sa, sb);
      return p_.graph.sqnorm2(p_.graph.sub(a, b));
    }
    fail(s, "the operator '" + op + "' is not supported yet by this version of rkeops");
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

  int build(const Syntax& s) {
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
        if (implemented().count(s.text) || reductions().count(s.text) || is_planned(s.text))
          fail(s, "'" + s.text + "' is an operation: call it with arguments, as in " + s.text +
                      "(...)");
        std::string hint = suggest(s.text, arg_names());
        if (declared_.empty())
          fail(s, "unknown variable '" + s.text + "': no arguments are declared");
        std::string list;
        for (const auto& kv : declared_) list += (list.empty() ? "" : ", ") + kv.first;
        fail(s, "unknown variable '" + s.text + "'", false,
             (hint.empty() ? "" : hint + "; ") + "declared arguments are: " + list);
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
        if (s.text == "<" || s.text == ">" || s.text == "<=" || s.text == ">=" ||
            s.text == "==" || s.text == "!=") {
          fail(s, "the comparison '" + s.text + "' is not supported yet by this version of rkeops");
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

  int call(const Syntax& s) {
    const std::string& f = s.text;
    if (declared_.count(f))
      fail(s, "'" + f + "' is a declared argument, not an operation", true);
    if (reductions().count(f))
      fail(s, "a reduction cannot be used inside a formula (only at the top level)", true);
    if (!implemented().count(f)) {
      if (is_planned(f)) fail(s, "'" + f + "' is not supported yet by this version of rkeops", true);
      fail(s, "unknown operation '" + f + "'", true, suggest(f, known_names()));
    }
    int n = implemented().at(f);
    if (n == 1) {
      arity(s, 1, "a formula");
      int a = build(*s.args[0]);
      if (f == "Exp") return p_.graph.exp(a);
      if (f == "Square") return p_.graph.square(a);
      if (f == "Inv") return p_.graph.inv(a);
      if (f == "Minus") return p_.graph.neg(a);
      if (f == "Sum") return p_.graph.sum(a);
      if (f == "SqNorm2") return p_.graph.sqnorm2(a);
    }
    if (n == 2) {
      arity(s, 2, "two formulas");
      return binary_op(s, f, *s.args[0], *s.args[1]);
    }
    if (f == "Pow") {
      arity(s, 2, "a formula and an integer exponent");
      long long m = int_param(*s.args[1], f, "exponent");
      int base = build(*s.args[0]);
      if (m == 0) return unit_of(base);
      return p_.graph.pow(base, m);
    }
    if (f == "IntCst") {
      arity(s, 1, "an integer");
      return p_.graph.constant(static_cast<double>(int_param(*s.args[0], f, "value")));
    }
    if (f == "Zero") {
      arity(s, 1, "a dimension");
      long long d = int_param(*s.args[0], f, "dimension");
      if (d < 1) fail(*s.args[0], "the dimension of 'Zero' must be at least 1");
      return p_.graph.zero(static_cast<int>(d));
    }
    if (f == "Var") {
      arity(s, 3, "position, dimension, category");
      long long pos = int_param(*s.args[0], f, "position");
      long long dim = int_param(*s.args[1], f, "dimension");
      long long cat = int_param(*s.args[2], f, "category");
      if (cat < 0 || cat > 2)
        fail(*s.args[2], "the category of 'Var' must be 0 (Vi), 1 (Vj) or 2 (Pm)");
      return variable(s, (int)pos, (int)dim, (int)cat);
    }
    // Vi(pos, dim), Vj(pos, dim), Pm(pos, dim) written inline
    if (s.args.size() == 1)
      fail(s, "inside a formula, '" + f + "' needs a position and a dimension, as in " + f +
                  "(0, 3); or declare the variable in 'args'", true);
    arity(s, 2, "position, dimension");
    long long pos = int_param(*s.args[0], f, "position");
    long long dim = int_param(*s.args[1], f, "dimension");
    int cat = (f == "Vi" || f == "Vx") ? kVi : (f == "Vj" || f == "Vy") ? kVj : kPm;
    return variable(s, (int)pos, (int)dim, cat);
  }
};

}  // namespace

const char* reduction_name(Reduction r) {
  switch (r) {
    case Reduction::Sum: return "Sum_Reduction";
  }
  return "?";
}

const std::vector<std::string>& reserved_names() {
  static const std::vector<std::string> v = [] {
    std::vector<std::string> out;
    for (const auto& kv : implemented()) out.push_back(kv.first);
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
