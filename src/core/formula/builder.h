// Semantic analysis, shared by the files of src/core/formula that turn a
// syntax tree into a checked DAG: builder.cpp (names, declarations,
// reductions), operations.cpp (every operation of spec section 3) and
// derivatives.cpp (Grad and friends, inside formulas and around reductions).
// Internal: not included outside this folder.
#pragma once
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "formula/errors.h"
#include "formula/limits.h"
#include "formula/program.h"
#include "formula/syntax.h"

namespace rkeops {
namespace detail {

// Largest K * dim(F) of the KMin family (the sorted lists are kept per lane).
constexpr long long kMaxKD = 1024;

bool is_planned(const std::string& name);       // in the spec, not implemented yet
std::vector<std::string> planned_names();
const std::vector<std::string>& implemented();  // every operation name understood
bool is_implemented(const std::string& name);
const std::map<std::string, Reduction>& reductions();
// "did you mean 'X'?" for a close name, "" otherwise.
std::string suggest(const std::string& name, const std::vector<std::string>& candidates);
std::string plural(long n, const char* word);

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
      if (d > kMaxDim)
        fail(*s.args[0], "the dimension of '" + name + "' is " + std::to_string(d) +
                             ", more than rkeops supports (" + std::to_string(kMaxDim) + ")");
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

  // The text of `s` as quoted in a message (long texts elided).
  std::string text_of(const Syntax& s) const { return elide(source_of(s)); }
  // The text of `s` exactly as written.
  std::string source_of(const Syntax& s) const { return src_.substr(s.pos, s.len); }


  std::vector<std::string> known_names() const {
    std::vector<std::string> v = implemented();
    for (const auto& kv : reductions()) v.push_back(kv.first);
    for (const std::string& n : planned_names()) v.push_back(n);
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
  // `a` and `b` are the built operands `sa` and `sb`.
  int binary_op(const Syntax& s, const std::string& op, int a, int b, const Syntax& sa,
                const Syntax& sb) {
    static const std::map<std::string, Op> infix = {
        {"+", Op::Add}, {"-", Op::Sub}, {"*", Op::Mul}, {"/", Op::Div},
        {"<", Op::LessThan}, {">", Op::LessThan}, {"<=", Op::LessOrEqual},
        {">=", Op::LessOrEqual}, {"==", Op::Equal}, {"!=", Op::NotEqual}};
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
  // formula cannot ask for gigabytes of generated code. A limit reached in
  // the graph (which knows no text) is reported at the expression built.
  int build(const Syntax& s) {
    int id;
    try {
      id = build_node(s);
    } catch (const FormulaError& e) {
      if (e.pos() != FormulaError::kNoPosition) throw;
      fail(s, e.what(), s.kind == Syntax::Call);
    }
    return checked_dim(s, id);
  }

  int checked_dim(const Syntax& s, int id) const {
    if (p_.graph.dim(id) > kMaxDim)
      fail(s, "this expression has dimension " + std::to_string(p_.graph.dim(id)) +
                  ", more than rkeops supports (" + std::to_string(kMaxDim) + ")");
    return id;
  }

  // x + y - z * ...: the tree of a chain of left-associative operators is as
  // deep as the chain is long, so it is built by a loop down its left spine;
  // only the right operands recurse, and their nesting is bounded by the
  // parser (kMaxNesting).
  int binary_chain(const Syntax& s) {
    std::vector<const Syntax*> spine;
    const Syntax* leftmost = &s;
    while (leftmost->kind == Syntax::Binary && leftmost->text != "**") {
      spine.push_back(leftmost);
      leftmost = leftmost->args[0].get();
    }
    int acc = build(*leftmost);
    for (auto it = spine.rbegin(); it != spine.rend(); ++it) {
      const Syntax& n = **it;
      int b = build(*n.args[1]);
      acc = checked_dim(n, binary_op(n, n.text, acc, b, *n.args[0], *n.args[1]));
    }
    return acc;
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
        return binary_chain(s);
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

}  // namespace detail
}  // namespace rkeops
