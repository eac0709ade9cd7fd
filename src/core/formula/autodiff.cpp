// Reverse mode: the cotangent of each node is accumulated from its parents,
// visiting nodes from the root down (reverse topological order), with the
// per-operation rules of spec section 5.2.
#include "formula/autodiff.h"

#include <map>
#include <vector>

#include "formula/errors.h"

namespace rkeops {

namespace {

class Reverse {
 public:
  Reverse(Graph& g) : g_(g) {}

  int run(int f, int v, int e) {
    if (g_.dim(e) != g_.dim(f)) e = g_.sum_t(e, g_.dim(f));  // dim-1 e broadcasts
    std::vector<int> order = g_.topological({f});
    cot_[f] = e;
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      auto c = cot_.find(*it);
      if (c == cot_.end() || g_.is_zero(c->second)) continue;
      if (*it == v) continue;  // variables have no operands
      push_down(*it, c->second);
    }
    auto r = cot_.find(v);
    return r == cot_.end() ? g_.zero(g_.dim(v)) : r->second;
  }

 private:
  Graph& g_;
  std::map<int, int> cot_;

  void give(int kid, int contribution) {
    auto it = cot_.find(kid);
    cot_[kid] = it == cot_.end() ? contribution : g_.add(it->second, contribution);
  }

  // S(x) of spec 5.2: the adjoint of broadcasting a dimension-1 operand is a sum.
  int fit(int kid, int x) { return g_.dim(kid) == 1 && g_.dim(x) > 1 ? g_.sum(x) : x; }

  void push_down(int id, int c) {
    const Node n = g_[id];  // copy: the graph grows below
    const auto& k = n.kids;
    Graph& g = g_;
    auto one = [&] { return g.constant(1); };
    switch (n.op) {
      case Op::Var: case Op::Const: case Op::Zero:
      case Op::Sign: case Op::Step: case Op::Floor: case Op::Round: case Op::Equal:
      case Op::NotEqual: case Op::LessThan: case Op::LessOrEqual: case Op::OneHot:
      case Op::ArgMax: case Op::ArgMin: case Op::DiffClampInt:
        return;  // locally constant
      case Op::Add:
        give(k[0], fit(k[0], c));
        give(k[1], fit(k[1], c));
        return;
      case Op::Sub:
        give(k[0], fit(k[0], c));
        give(k[1], fit(k[1], g.neg(c)));
        return;
      case Op::Mul:
        give(k[0], fit(k[0], g.mul(k[1], c)));
        give(k[1], fit(k[1], g.mul(k[0], c)));
        return;
      case Op::Div:
        give(k[0], fit(k[0], g.div(c, k[1])));
        give(k[1], fit(k[1], g.neg(g.div(g.mul(id, c), k[1]))));  // -f e / g^2 = -(f/g) e / g
        return;
      case Op::Neg:
        give(k[0], g.neg(c));
        return;
      case Op::Inv:
        give(k[0], g.neg(g.mul(c, g.unary(Op::Square, id))));
        return;
      case Op::Square:
        give(k[0], g.mul(g.constant(2), g.mul(k[0], c)));
        return;
      case Op::Exp:
        give(k[0], g.mul(c, id));
        return;
      case Op::Log:
        give(k[0], g.div(c, k[0]));
        return;
      case Op::XLogX:
        give(k[0], g.mul(c, g.add(g.unary(Op::Log, k[0]), one())));
        return;
      case Op::Sqrt:  // e * Rsqrt(f) / 2: 0 at f = 0 (spec 6.5)
        give(k[0], g.mul(g.constant(0.5), g.mul(c, g.unary(Op::Rsqrt, k[0]))));
        return;
      case Op::Rsqrt:
        give(k[0], g.mul(g.constant(-0.5), g.mul(c, g.pow(id, 3))));
        return;
      case Op::Pow: {
        long long m = n.ints[0];
        give(k[0], g.mul(g.constant((double)m), g.mul(c, g.pow(k[0], m - 1))));
        return;
      }
      case Op::Powf: {
        int gm1 = g.sub(k[1], one());
        give(k[0], fit(k[0], g.mul(c, g.mul(k[1], g.make(Op::Powf, {k[0], gm1})))));
        give(k[1], fit(k[1], g.mul(c, g.mul(g.unary(Op::Log, k[0]), id))));
        return;
      }
      case Op::Sin:
        give(k[0], g.mul(c, g.unary(Op::Cos, k[0])));
        return;
      case Op::Cos:
        give(k[0], g.neg(g.mul(c, g.unary(Op::Sin, k[0]))));
        return;
      case Op::SinXDivX: {
        int d = g.sub(g.div(g.unary(Op::Cos, k[0]), k[0]),
                      g.div(g.unary(Op::Sin, k[0]), g.unary(Op::Square, k[0])));
        give(k[0], g.mul(c, d));
        return;
      }
      case Op::Asin: case Op::Acos: {
        int d = g.unary(Op::Rsqrt, g.sub(one(), g.unary(Op::Square, k[0])));
        int r = g.mul(c, d);
        give(k[0], n.op == Op::Asin ? r : g.neg(r));
        return;
      }
      case Op::Atan:
        give(k[0], g.div(c, g.add(one(), g.unary(Op::Square, k[0]))));
        return;
      case Op::Atan2: {
        int r2 = g.add(g.unary(Op::Square, k[0]), g.unary(Op::Square, k[1]));
        give(k[0], fit(k[0], g.div(g.mul(c, k[1]), r2)));
        give(k[1], fit(k[1], g.neg(g.div(g.mul(c, k[0]), r2))));
        return;
      }
      case Op::Abs:
        give(k[0], g.mul(c, g.unary(Op::Sign, k[0])));
        return;
      case Op::ReLU:
        give(k[0], g.mul(c, g.unary(Op::Step, k[0])));
        return;
      case Op::ClampInt:
        give(k[0], g.mul(c, g.make(Op::DiffClampInt, {k[0]}, n.ints)));
        return;
      case Op::Clamp: {
        // = ClampInt((f-g)/(h-g), 0, 1) * (h-g) + g: f gets e on [g, h],
        // g gets e where f < g, h gets e where f > h.
        int inside = g.mul(g.make(Op::LessOrEqual, {k[1], k[0]}), g.make(Op::LessOrEqual, {k[0], k[2]}));
        give(k[0], fit(k[0], g.mul(c, inside)));
        give(k[1], fit(k[1], g.mul(c, g.make(Op::LessThan, {k[0], k[1]}))));
        give(k[2], fit(k[2], g.mul(c, g.make(Op::LessThan, {k[2], k[0]}))));
        return;
      }
      case Op::Mod: {  // f - n * Floor((f - o) / n)
        give(k[0], fit(k[0], c));
        int fl = g.unary(Op::Floor, g.div(g.sub(k[0], k[2]), k[1]));
        give(k[1], fit(k[1], g.neg(g.mul(c, fl))));
        return;
      }
      case Op::IfElse: {
        int z = g.zero(1);
        give(k[1], fit(k[1], g.make(Op::IfElse, {k[0], c, z})));
        give(k[2], fit(k[2], g.make(Op::IfElse, {k[0], z, c})));
        return;
      }
      case Op::Sum:
        give(k[0], g.sum_t(c, g.dim(k[0])));
        return;
      case Op::SumT:
        give(k[0], g.sum(c));
        return;
      case Op::Max: case Op::Min: {
        int arg = g.make(n.op == Op::Max ? Op::ArgMax : Op::ArgMin, {k[0]});
        give(k[0], g.mul(g.make(Op::OneHot, {arg}, {g.dim(k[0])}), c));
        return;
      }
      case Op::Extract:
        give(k[0], g.extract_t(c, (int)n.ints[0], g.dim(k[0])));
        return;
      case Op::ExtractT:
        give(k[0], g.extract(c, (int)n.ints[0], g.dim(k[0])));
        return;
      case Op::Concat:
        give(k[0], g.extract(c, 0, g.dim(k[0])));
        give(k[1], g.extract(c, g.dim(k[0]), g.dim(k[1])));
        return;
      case Op::Bilinear: {
        // out_o = sum f_i g_j  =>  f_i gets sum e_o g_j, g_j gets sum e_o f_i
        std::vector<long long> tf{g.dim(k[0])}, tg{g.dim(k[1])};
        for (std::size_t t = 1; t + 2 < n.ints.size(); t += 3) {
          long long o = n.ints[t], i = n.ints[t + 1], j = n.ints[t + 2];
          tf.insert(tf.end(), {i, o, j});
          tg.insert(tg.end(), {j, o, i});
        }
        give(k[0], g.make(Op::Bilinear, {c, k[1]}, tf));
        give(k[1], g.make(Op::Bilinear, {c, k[0]}, tg));
        return;
      }
    }
    throw Error(std::string("internal error: no derivative rule for ") + op_name(n.op));
  }
};

// One-hot constant vector of dimension d with a 1 at k.
int unit_vector(Graph& g, int d, int k) { return g.extract_t(g.constant(1), k, d); }

}  // namespace

int vjp(Graph& g, int f, int v, int e) { return Reverse(g).run(f, v, e); }

int jvp(Graph& g, int f, int v, int u) {
  // J u is the gradient of <J^T w, u> with respect to w, for any w: a dummy
  // variable at an internal position that disappears from the result.
  int w = g.var(-1 - g.size(), g.dim(f), 3);
  int jtw = vjp(g, f, v, w);
  return vjp(g, g.scalprod(jtw, u), w, g.constant(1));
}

int jacobian(Graph& g, int f, int v) {
  int out = -1;
  for (int k = 0; k < g.dim(f); ++k) {
    int row = vjp(g, f, v, unit_vector(g, g.dim(f), k));
    out = out < 0 ? row : g.concat(out, row);
  }
  return out;
}

int divergence(Graph& g, int f, int v) {
  int out = g.zero(1);
  for (int k = 0; k < g.dim(f); ++k)
    out = g.add(out, g.extract(vjp(g, f, v, unit_vector(g, g.dim(f), k)), k, 1));
  return out;
}

int laplacian(Graph& g, int f, int v) { return divergence(g, vjp(g, f, v, g.constant(1)), v); }

}  // namespace rkeops
