// Differentiation in formulas: Grad, Diff, GradMatrix, Divergence and
// Laplacian inside a formula (spec 3.8), and Grad, GradFromPos, GradFromInd,
// Diff and Grad_WithSavedForward around a reduction (spec 5.4-5.7).
#include <algorithm>
#include <string>

#include "formula/autodiff.h"
#include "formula/builder.h"

namespace rkeops {
namespace detail {

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
                                      "GradFromPos_WithSavedForward", "Diff_WithSavedForward",
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
  // The *_WithSavedForward forms pass the reduction's forward result r (spec
  // 5.6); GradFromPos_WithSavedForward(R, v, p) declares e at p and r at p + 1.
  const bool saved_form = f == "Grad_WithSavedForward" || f == "GradFromPos_WithSavedForward";
  const bool diff = f == "Diff" || f == "Diff_WithSavedForward";
  const bool from_pos = f == "GradFromPos" || f == "GradFromInd" || f == "GradFromPos_WithSavedForward";
  const std::size_t nargs = (f == "Grad_WithSavedForward" || f == "Diff_WithSavedForward") ? 4 : 3;
  arity(s, nargs, from_pos ? "a reduction, a variable and a position"
                  : diff ? "a reduction, a variable and a direction"
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
  int e, saved_r = -1;
  if (from_pos) {
    long long pos = int_param(*s.args[2], f, "position of the gradient input");
    e = variable(*s.args[2], (int)pos, C, t);
    if (saved_form) saved_r = variable(*s.args[2], (int)pos + 1, C, t);
  } else {
    e = build(*s.args[2]);
    if (nargs == 4) saved_r = build(*s.args[3]);
  }
  const int cv = static_cast<int>(g[v].ints[1]);
  if (diff) {
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
  auto F_text = [&] { return source_of(*red.args[0]); };
  int out;
  switch (r) {
    case Reduction::Sum:
      out = vjp(g, F, v, e);
      break;
    case Reduction::ArgMin: case Reduction::ArgMax: case Reduction::ArgKMin: case Reduction::Zero:
      out = g.zero(g.dim(v));
      break;
    case Reduction::LogSumExp: {  // e * exp(F - L), L the forward result
      int L = saved_forward(source_of(red), t, 1);
      out = vjp(g, F, v, g.mul(e, g.unary(Op::Exp, g.sub(F, L))));
      break;
    }
    case Reduction::LogSumExpWeight: {  // W = exp(F - L) per component of G
      int L = saved_forward(source_of(red), t, C);
      int W = g.unary(Op::Exp, g.sub(F, L));
      out = g.add(vjp(g, F, v, g.sum(g.mul(e, g.mul(W, G)))), vjp(g, G, v, g.mul(e, W)));
      break;
    }
    case Reduction::SumSoftMaxWeight: {  // P = exp(F - LSE(F)), S the forward result
      int S = saved_forward(source_of(red), t, C);
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
      const int rs = saved_r;
      const Syntax& rsyn = *s.args[nargs == 4 ? 3 : 2];
      require(g.dim(rs) == C, rsyn, "the forward result must have the dimension of the reduction's output (" +
                                        std::to_string(C) + "), but " + dim_of(rsyn, rs));
      check_indexed_like_output(rsyn, rs, t);
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

}  // namespace detail
}  // namespace rkeops
