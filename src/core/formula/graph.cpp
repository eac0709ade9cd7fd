#include "formula/graph.h"

#include <cmath>
#include <cstring>

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
    case Op::Neg: return "Minus";
    case Op::Inv: return "Inv";
    case Op::Square: return "Square";
    case Op::Exp: return "Exp";
    case Op::Pow: return "Pow";
    case Op::Sum: return "Sum";
    case Op::SqNorm2: return "SqNorm2";
    case Op::Scalprod: return "Scalprod";
  }
  return "?";
}

int Graph::intern(Node n) {
  std::string key;
  key.reserve(32);
  key += std::to_string(static_cast<int>(n.op)) + ":" + std::to_string(n.dim);
  for (int k : n.kids) key += "," + std::to_string(k);
  key += ";";
  for (long long v : n.ints) key += std::to_string(v) + ",";
  if (n.op == Op::Const) {
    // exact bits: 0.1 and 0.1000000001 are different constants
    std::uint64_t bits;
    std::memcpy(&bits, &n.value, sizeof bits);
    key += "v" + std::to_string(bits);
  }
  auto it = index_.find(key);
  if (it != index_.end()) return it->second;
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

namespace {
int max_dim(const Graph& g, int a, int b) { return g.dim(a) > g.dim(b) ? g.dim(a) : g.dim(b); }
}  // namespace

// Identities below never change a value in exact arithmetic; with IEEE
// special values they differ only where KeOps' own simplifier differs too
// (0 * Inf is folded to 0, as K2 does for Zero operands).
int Graph::add(int a, int b) {
  int d = max_dim(*this, a, b);
  if (is_zero(a) && dim(b) == d) return b;
  if (is_zero(b) && dim(a) == d) return a;
  if (is_const(a) && is_const(b)) return constant(nodes_[a].value + nodes_[b].value);
  return intern(Node{Op::Add, d, {a, b}, {}, 0});
}

int Graph::sub(int a, int b) {
  int d = max_dim(*this, a, b);
  if (is_zero(b) && dim(a) == d) return a;
  if (is_zero(a) && dim(b) == d) return neg(b);
  if (is_const(a) && is_const(b)) return constant(nodes_[a].value - nodes_[b].value);
  return intern(Node{Op::Sub, d, {a, b}, {}, 0});
}

int Graph::mul(int a, int b) {
  int d = max_dim(*this, a, b);
  if (is_zero(a) || is_zero(b)) return zero(d);
  if (is_const(a, 1) && dim(b) == d) return b;
  if (is_const(b, 1) && dim(a) == d) return a;
  if (is_const(a, -1) && dim(b) == d) return neg(b);
  if (is_const(b, -1) && dim(a) == d) return neg(a);
  if (is_const(a) && is_const(b)) return constant(nodes_[a].value * nodes_[b].value);
  if (a == b) return square(a);
  // constants first, so that 2*x and x*2 are one node
  if (is_const(b) && !is_const(a)) std::swap(a, b);
  return intern(Node{Op::Mul, d, {a, b}, {}, 0});
}

int Graph::div(int a, int b) {
  int d = max_dim(*this, a, b);
  if (is_const(b, 1) && dim(a) == d) return a;
  if (is_zero(a) && !is_zero(b)) return zero(d);
  if (is_const(a) && is_const(b)) return constant(nodes_[a].value / nodes_[b].value);
  if (is_const(a, 1)) return inv(b);
  return intern(Node{Op::Div, d, {a, b}, {}, 0});
}

int Graph::neg(int a) {
  if (is_zero(a)) return a;
  if (is_const(a)) return constant(-nodes_[a].value);
  if (nodes_[a].op == Op::Neg) return nodes_[a].kids[0];
  return intern(Node{Op::Neg, dim(a), {a}, {}, 0});
}

int Graph::inv(int a) {
  if (is_const(a)) return constant(1.0 / nodes_[a].value);
  return intern(Node{Op::Inv, dim(a), {a}, {}, 0});
}

int Graph::square(int a) {
  if (is_zero(a)) return a;
  if (is_const(a)) return constant(nodes_[a].value * nodes_[a].value);
  return intern(Node{Op::Square, dim(a), {a}, {}, 0});
}

int Graph::exp(int a) {
  if (is_const(a)) return constant(std::exp(nodes_[a].value));
  if (is_zero(a)) return dim(a) == 1 ? constant(1) : intern(Node{Op::Exp, dim(a), {a}, {}, 0});
  return intern(Node{Op::Exp, dim(a), {a}, {}, 0});
}

int Graph::pow(int a, long long n) {
  if (n == 1) return a;
  if (n == 2) return square(a);
  if (n == -1) return inv(a);
  if (is_const(a)) return constant(std::pow(nodes_[a].value, static_cast<double>(n)));
  return intern(Node{Op::Pow, dim(a), {a}, {n}, 0});
}

int Graph::sum(int a) {
  if (dim(a) == 1) return a;
  if (is_zero(a)) return zero(1);
  return intern(Node{Op::Sum, 1, {a}, {}, 0});
}

int Graph::sqnorm2(int a) {
  if (is_zero(a)) return zero(1);
  if (dim(a) == 1) return square(a);
  return intern(Node{Op::SqNorm2, 1, {a}, {}, 0});
}

int Graph::scalprod(int a, int b) {
  if (is_zero(a) || is_zero(b)) return zero(1);
  if (a == b) return sqnorm2(a);
  if (dim(a) == 1 && dim(b) == 1) return mul(a, b);
  if (b < a) std::swap(a, b);  // (f|g) = (g|f): one node for both spellings
  return intern(Node{Op::Scalprod, 1, {a, b}, {}, 0});
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
