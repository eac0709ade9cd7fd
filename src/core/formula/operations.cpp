// Every operation of spec section 3, as methods of the Builder: element-wise
// functions, constants and variables, vector structure, norms and kernel
// shortcuts, tensor algebra.
#include <algorithm>
#include <map>
#include <string>

#include "formula/builder.h"

namespace rkeops {
namespace detail {

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
    // The product is built by pairing every component of A with every one
    // of b: bounded like TensorDot's.
    require((long long)da * db <= kMaxTensorPairs, s,
            "'" + f + "' of a matrix of dimension " + std::to_string(da) + " by a vector of dimension " +
                std::to_string(db) + " is too large (at most " + std::to_string(kMaxTensorPairs) +
                " pairs of components)");
    int other = da / db;
    if (mv) return g.tensordot(A, b, {other, db}, {db}, {1}, {0});
    return g.tensordot(b, A, {db}, {db, other}, {0}, {0});
  }
  if (f == "TensorProd") {
    arity(s, 2, "two formulas");
    int a = arg(0), b = arg(1);
    const long long d = (long long)g.dim(a) * g.dim(b);
    require(d <= kMaxDim, s, "'TensorProd' of dimensions " + std::to_string(g.dim(a)) + " and " +
                                 std::to_string(g.dim(b)) + " has dimension " + std::to_string(d) +
                                 ", more than rkeops supports (" + std::to_string(kMaxDim) + ")");
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
    require(prod(da) * prod(db) <= kMaxTensorPairs, s,
            "'" + f + "' of tensors of " + std::to_string(prod(da)) + " and " + std::to_string(prod(db)) +
                " components is too large (at most " + std::to_string(kMaxTensorPairs) +
                " pairs of components)");
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

}  // namespace detail
}  // namespace rkeops
