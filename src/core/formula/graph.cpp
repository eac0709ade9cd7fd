#include "formula/graph.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "formula/errors.h"
#include "formula/limits.h"

namespace rkeops {

const char* op_name(Op op) {
  switch (op) {
    case Op::Var: return "Var";
    case Op::Const: return "Const";
    case Op::Zero: return "Zero";
    case Op::Add: return "Add";
    case Op::Sub: return "Subtract";
    case Op::Mul: return "Mult";
    case Op::Div: return "Divide";
    case Op::Powf: return "Powf";
    case Op::Atan2: return "Atan2";
    case Op::Equal: return "Equal";
    case Op::NotEqual: return "NotEqual";
    case Op::LessThan: return "LessThan";
    case Op::LessOrEqual: return "LessOrEqual";
    case Op::Mod: return "Mod";
    case Op::Clamp: return "Clamp";
    case Op::IfElse: return "IfElse";
    case Op::Neg: return "Minus";
    case Op::Inv: return "Inv";
    case Op::Square: return "Square";
    case Op::Exp: return "Exp";
    case Op::Log: return "Log";
    case Op::XLogX: return "XLogX";
    case Op::Sqrt: return "Sqrt";
    case Op::Rsqrt: return "Rsqrt";
    case Op::Sin: return "Sin";
    case Op::Cos: return "Cos";
    case Op::SinXDivX: return "SinXDivX";
    case Op::Asin: return "Asin";
    case Op::Acos: return "Acos";
    case Op::Atan: return "Atan";
    case Op::Abs: return "Abs";
    case Op::Sign: return "Sign";
    case Op::Step: return "Step";
    case Op::ReLU: return "ReLU";
    case Op::Floor: return "Floor";
    case Op::Pow: return "Pow";
    case Op::Round: return "Round";
    case Op::ClampInt: return "ClampInt";
    case Op::DiffClampInt: return "DiffClampInt";
    case Op::Sum: return "Sum";
    case Op::SumT: return "SumT";
    case Op::Max: return "Max";
    case Op::Min: return "Min";
    case Op::ArgMax: return "ArgMax";
    case Op::ArgMin: return "ArgMin";
    case Op::Extract: return "Extract";
    case Op::ExtractT: return "ExtractT";
    case Op::Concat: return "Concat";
    case Op::OneHot: return "OneHot";
    case Op::Bilinear: return "Bilinear";
  }
  return "?";
}

bool is_elementwise(Op op) {
  switch (op) {
    case Op::Var: case Op::Const: case Op::Zero: case Op::Sum: case Op::SumT: case Op::Max:
    case Op::Min: case Op::ArgMax: case Op::ArgMin: case Op::Extract: case Op::ExtractT:
    case Op::Concat: case Op::OneHot: case Op::Bilinear:
      return false;
    default:
      return true;
  }
}

int result_dim(Op op, const std::vector<int>& d, const std::vector<long long>& ints) {
  switch (op) {
    case Op::Sum: case Op::Max: case Op::Min: case Op::ArgMax: case Op::ArgMin:
      return 1;
    case Op::SumT: case Op::OneHot:
      return static_cast<int>(ints[0]);
    case Op::Extract:
      return static_cast<int>(ints[1]);
    case Op::ExtractT:
      return static_cast<int>(ints[1]);
    case Op::Concat:
      return d[0] + d[1];
    case Op::Bilinear:
      return static_cast<int>(ints[0]);
    default: {
      int m = 1;
      for (int x : d) m = std::max(m, x);
      return m;
    }
  }
}

double fold_elementwise(Op op, const std::vector<double>& x, const std::vector<long long>& ints) {
  double a = x.empty() ? 0 : x[0], b = x.size() > 1 ? x[1] : 0, c = x.size() > 2 ? x[2] : 0;
  switch (op) {
    case Op::Add: return a + b;
    case Op::Sub: return a - b;
    case Op::Mul: return a * b;
    case Op::Div: return a / b;
    case Op::Powf: return std::pow(a, b);
    case Op::Atan2: return std::atan2(a, b);
    case Op::Equal: return a == b;
    case Op::NotEqual: return a != b;
    case Op::LessThan: return a < b;
    case Op::LessOrEqual: return a <= b;
    case Op::Mod: return a - b * std::floor((a - c) / b);
    case Op::Clamp: return a < b ? b : (a > c ? c : a);
    case Op::IfElse: return a >= 0 ? b : c;
    case Op::Neg: return -a;
    case Op::Inv: return 1 / a;
    case Op::Square: return a * a;
    case Op::Exp: return std::exp(a);
    case Op::Log: return std::log(a);
    case Op::XLogX: return a == 0 ? 0 : a * std::log(a);
    case Op::Sqrt: return std::sqrt(a);
    case Op::Rsqrt: return a == 0 ? 0 : 1 / std::sqrt(a);
    case Op::Sin: return std::sin(a);
    case Op::Cos: return std::cos(a);
    case Op::SinXDivX: return a == 0 ? 1 : std::sin(a) / a;
    case Op::Asin: return std::asin(a);
    case Op::Acos: return std::acos(a);
    case Op::Atan: return std::atan(a);
    case Op::Abs: return std::fabs(a);
    case Op::Sign: return a > 0 ? 1 : (a < 0 ? -1 : 0);
    case Op::Step: return a < 0 ? 0 : 1;
    case Op::ReLU: return a < 0 ? 0 : a;
    case Op::Floor: return std::floor(a);
    case Op::Pow: return std::pow(a, static_cast<double>(ints[0]));
    case Op::Round: {
      double s = std::pow(10.0, static_cast<double>(ints[0]));
      return ints[0] == 0 ? std::round(a) : std::round(a * s) / s;
    }
    case Op::ClampInt: return a < ints[0] ? ints[0] : (a > ints[1] ? ints[1] : a);
    case Op::DiffClampInt: return (a >= ints[0] && a <= ints[1]) ? 1 : 0;
    default: return std::nan("");
  }
}

int Graph::intern(Node n) {
  std::string key;
  key.reserve(32);
  key += std::to_string(static_cast<int>(n.op)) + ":" + std::to_string(n.dim);
  for (int k : n.kids) key += "," + std::to_string(k);
  key += ";";
  for (long long v : n.ints) key += std::to_string(v) + ",";
  if (n.op == Op::Const) {
    std::uint64_t bits;  // exact bits: 0.1 and 0.1000000001 differ
    std::memcpy(&bits, &n.value, sizeof bits);
    key += "v" + std::to_string(bits);
  }
  auto it = index_.find(key);
  if (it != index_.end()) return it->second;
  if (nodes_.size() >= static_cast<std::size_t>(kMaxGraphNodes))
    throw FormulaError("the formula, with its derivatives expanded, has more than " +
                           std::to_string(kMaxGraphNodes) +
                           " distinct operations, the most rkeops supports",
                       FormulaError::kNoPosition, 0);
  nodes_.push_back(std::move(n));
  int id = static_cast<int>(nodes_.size()) - 1;
  index_.emplace(std::move(key), id);
  return id;
}

int Graph::var(int pos, int dim, int cat) { return intern(Node{Op::Var, dim, {}, {pos, cat}, 0}); }

int Graph::constant(double v) {
  if (v == 0 && !std::signbit(v)) return zero(1);
  return intern(Node{Op::Const, 1, {}, {}, v});
}

int Graph::zero(int dim) { return intern(Node{Op::Zero, dim, {}, {}, 0}); }

bool Graph::constant_value(int id, double* v) const {
  const Node& n = nodes_[id];
  if (n.op == Op::Const) { *v = n.value; return true; }
  if (n.op == Op::Zero && n.dim == 1) { *v = 0; return true; }
  return false;
}

// Identities applied while building. They never change a value in exact
// arithmetic; with NaN or Inf inputs, products with the constant 0 are folded
// to 0 as KeOps' own simplifier does.
int Graph::simplify(Op op, const std::vector<int>& k, const std::vector<long long>& ints, int d,
                    bool* done) {
  *done = true;
  auto z = [&](int id) { return is_zero(id); };
  auto same_dim = [&](int id) { return dim(id) == d; };
  // Fold element-wise operations on constants.
  if (is_elementwise(op)) {
    std::vector<double> vals;
    bool all_const = true;
    for (int id : k) {
      double v;
      if (!constant_value(id, &v)) { all_const = false; break; }
      vals.push_back(v);
    }
    if (all_const) return constant(fold_elementwise(op, vals, ints));
  }
  switch (op) {
    case Op::Add:
      if (z(k[0]) && same_dim(k[1])) return k[1];
      if (z(k[1]) && same_dim(k[0])) return k[0];
      if (k[0] == k[1]) return mul(constant(2), k[0]);
      break;
    case Op::Sub:
      if (z(k[1]) && same_dim(k[0])) return k[0];
      if (z(k[0]) && same_dim(k[1])) return neg(k[1]);
      if (k[0] == k[1]) return zero(d);
      break;
    case Op::Mul:
      if (z(k[0]) || z(k[1])) return zero(d);
      if (is_const(k[0], 1) && same_dim(k[1])) return k[1];
      if (is_const(k[1], 1) && same_dim(k[0])) return k[0];
      if (is_const(k[0], -1) && same_dim(k[1])) return neg(k[1]);
      if (is_const(k[1], -1) && same_dim(k[0])) return neg(k[0]);
      if (k[0] == k[1]) return unary(Op::Square, k[0]);
      if (is_const(k[1]) && !is_const(k[0])) return mul(k[1], k[0]);  // constants first
      break;
    case Op::Div:
      if (is_const(k[1], 1) && same_dim(k[0])) return k[0];
      if (z(k[0]) && !z(k[1])) return zero(d);
      if (is_const(k[0], 1)) return unary(Op::Inv, k[1]);
      break;
    case Op::Neg:
      if (z(k[0])) return k[0];
      if (nodes_[k[0]].op == Op::Neg) return nodes_[k[0]].kids[0];
      break;
    case Op::Square:
      if (z(k[0])) return k[0];
      break;
    case Op::Pow:
      if (ints[0] == 1) return k[0];
      if (ints[0] == 2) return unary(Op::Square, k[0]);
      if (ints[0] == -1) return unary(Op::Inv, k[0]);
      break;
    case Op::Abs: case Op::Sign: case Op::ReLU: case Op::Floor: case Op::Sin: case Op::Atan:
    case Op::Asin: case Op::Sqrt: case Op::Round: case Op::Step:
      if (z(k[0]) && op != Op::Step) return k[0];
      break;
    case Op::Sum:
      if (dim(k[0]) == 1) return k[0];
      if (z(k[0])) return zero(1);
      break;
    case Op::SumT:
      if (ints[0] == 1) return k[0];
      if (z(k[0])) return zero(d);
      break;
    case Op::Extract: {
      // Look through slices and concatenations (a loop: a Jacobian is a
      // chain of thousands of Concat) to the deepest node holding the slice.
      int src = k[0];
      long long start = ints[0];
      for (;;) {
        const Node& a = nodes_[src];
        if (a.op == Op::Extract) {
          start += a.ints[0];
          src = a.kids[0];
          continue;
        }
        if (a.op == Op::Concat) {  // pick from one side when the slice lies within it
          int left = dim(a.kids[0]);
          if (start + ints[1] <= left) { src = a.kids[0]; continue; }
          if (start >= left) { start -= left; src = a.kids[1]; continue; }
        }
        break;
      }
      if (src != k[0]) return extract(src, (int)start, (int)ints[1]);
      const Node& a = nodes_[src];
      if (ints[0] == 0 && ints[1] == a.dim) return k[0];
      if (a.op == Op::Zero) return zero(d);
      if (a.op == Op::ExtractT && ints[0] == a.ints[0] && ints[1] == dim(a.kids[0]))
        return a.kids[0];
      break;
    }
    case Op::ExtractT:
      if (ints[0] == 0 && ints[1] == dim(k[0])) return k[0];
      if (z(k[0])) return zero(d);
      break;
    case Op::Concat:
      if (z(k[0]) && z(k[1])) return zero(d);
      break;
    case Op::Bilinear:
      if (z(k[0]) || z(k[1])) return zero(d);
      break;
    default:
      break;
  }
  *done = false;
  return -1;
}

int Graph::make(Op op, std::vector<int> kids, std::vector<long long> ints) {
  std::vector<int> kd;
  for (int id : kids) kd.push_back(dim(id));
  int d = result_dim(op, kd, ints);
  bool done;
  int s = simplify(op, kids, ints, d, &done);
  if (done) return s;
  return intern(Node{op, d, std::move(kids), std::move(ints), 0});
}

int Graph::scalprod(int a, int b) {
  if (dim(a) == 1 && dim(b) == 1) return mul(a, b);
  if (b < a) std::swap(a, b);  // (f|g) = (g|f): one node for both spellings
  std::vector<long long> t{1};
  for (int k = 0; k < dim(a); ++k) {
    t.push_back(0);
    t.push_back(k);
    t.push_back(k);
  }
  return make(Op::Bilinear, {a, b}, t);
}

int Graph::tensordot(int a, int b, const std::vector<int>& da, const std::vector<int>& db,
                     const std::vector<int>& ca, const std::vector<int>& cb,
                     const std::vector<int>& perm) {
  auto prod = [](const std::vector<int>& v) {
    long long p = 1;
    for (int x : v) p *= x;
    return p;
  };
  std::vector<int> ka, kb;  // kept axes
  for (int i = 0; i < (int)da.size(); ++i)
    if (std::find(ca.begin(), ca.end(), i) == ca.end()) ka.push_back(i);
  for (int i = 0; i < (int)db.size(); ++i)
    if (std::find(cb.begin(), cb.end(), i) == cb.end()) kb.push_back(i);
  std::vector<int> nat;  // natural result shape
  for (int i : ka) nat.push_back(da[i]);
  for (int i : kb) nat.push_back(db[i]);
  std::vector<int> out_shape(nat.size());
  for (std::size_t k = 0; k < nat.size(); ++k) out_shape[perm.empty() ? k : perm[k]] = nat[k];
  const long long na = prod(da), nb = prod(db), nout = prod(out_shape);
  auto unflatten = [](long long f, const std::vector<int>& shape) {
    std::vector<int> idx(shape.size());
    for (int k = (int)shape.size() - 1; k >= 0; --k) {
      idx[k] = (int)(f % shape[k]);
      f /= shape[k];
    }
    return idx;
  };
  std::vector<long long> t{nout};
  for (long long i = 0; i < na; ++i) {
    std::vector<int> ia = unflatten(i, da);
    for (long long j = 0; j < nb; ++j) {
      std::vector<int> ib = unflatten(j, db);
      bool match = true;
      for (std::size_t c = 0; c < ca.size() && match; ++c) match = ia[ca[c]] == ib[cb[c]];
      if (!match) continue;
      std::vector<int> n;
      for (int ax : ka) n.push_back(ia[ax]);
      for (int ax : kb) n.push_back(ib[ax]);
      std::vector<int> o(n.size());
      for (std::size_t k = 0; k < n.size(); ++k) o[perm.empty() ? k : perm[k]] = n[k];
      long long flat = 0;
      for (std::size_t k = 0; k < o.size(); ++k) flat = flat * out_shape[k] + o[k];
      t.push_back(flat);
      t.push_back(i);
      t.push_back(j);
    }
  }
  return make(Op::Bilinear, {a, b}, t);
}

std::vector<int> Graph::topological(const std::vector<int>& roots) const {
  std::vector<int> order;
  std::vector<char> state(nodes_.size(), 0);  // 0 new, 1 on stack, 2 done
  std::vector<std::pair<int, std::size_t>> stack;
  for (int r : roots) {
    if (r < 0 || state[r]) continue;
    stack.push_back({r, 0});
    state[r] = 1;
    while (!stack.empty()) {
      auto& top = stack.back();
      const Node& n = nodes_[top.first];
      if (top.second < n.kids.size()) {
        int k = n.kids[top.second++];
        if (!state[k]) {
          state[k] = 1;
          stack.push_back({k, 0});
        }
      } else {
        state[top.first] = 2;
        order.push_back(top.first);
        stack.pop_back();
      }
    }
  }
  return order;
}

}  // namespace rkeops
