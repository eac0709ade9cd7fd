// The formula as a hash-consed DAG: building a node that already exists
// returns the existing one, so identical subexpressions are one node and the
// generated code computes them once. Constructors fold constants and apply
// identities (x*1, x+0, Zero) so that differentiation and code generation
// see a small graph. Dimension rules are enforced by the formula builder
// (which can point at the text); here they are assumed.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace rkeops {

enum class Op {
  // leaves
  Var,        // ints = {pos, cat}
  Const,      // value, dim 1
  Zero,       // dim d
  // element-wise, 2 operands, dim-1 operands broadcast
  Add, Sub, Mul, Div, Powf, Atan2, Equal, NotEqual, LessThan, LessOrEqual,
  // element-wise, 3 operands
  Mod, Clamp, IfElse,
  // element-wise, 1 operand
  Neg, Inv, Square, Exp, Log, XLogX, Sqrt, Rsqrt, Sin, Cos, SinXDivX, Asin, Acos, Atan,
  Abs, Sign, Step, ReLU, Floor,
  // element-wise, 1 operand + integers
  Pow,           // ints = {n}
  Round,         // ints = {decimals}
  ClampInt,      // ints = {a, b}
  DiffClampInt,  // ints = {a, b}
  // structure
  Sum,           // dim 1
  SumT,          // dim-1 operand repeated: ints = {d}
  Max, Min, ArgMax, ArgMin,  // over components, dim 1
  Extract,       // ints = {start, dim}
  ExtractT,      // operand written at `start` in zeros of dim n: ints = {start, n}
  Concat,
  OneHot,        // ints = {d}
  // out_k = sum over triples (k, i, j) of f_i * g_j : scalar products,
  // tensor products, matrix-vector products, TensorDot. ints = triples.
  Bilinear,
};

const char* op_name(Op op);

struct Node {
  Op op;
  int dim;
  std::vector<int> kids;
  std::vector<long long> ints;
  double value = 0;
};

class Graph {
 public:
  const Node& operator[](int id) const { return nodes_[id]; }
  int size() const { return static_cast<int>(nodes_.size()); }
  int dim(int id) const { return nodes_[id].dim; }

  // Generic constructor: computes the dimension, simplifies, interns.
  int make(Op op, std::vector<int> kids, std::vector<long long> ints = {});

  int var(int pos, int dim, int cat);
  int constant(double v);
  int zero(int dim);

  int add(int a, int b) { return make(Op::Add, {a, b}); }
  int sub(int a, int b) { return make(Op::Sub, {a, b}); }
  int mul(int a, int b) { return make(Op::Mul, {a, b}); }
  int div(int a, int b) { return make(Op::Div, {a, b}); }
  int neg(int a) { return make(Op::Neg, {a}); }
  int unary(Op op, int a) { return make(op, {a}); }
  int pow(int a, long long n) { return make(Op::Pow, {a}, {n}); }
  int sum(int a) { return make(Op::Sum, {a}); }
  int sum_t(int a, int d) { return make(Op::SumT, {a}, {d}); }
  int extract(int a, int start, int d) { return make(Op::Extract, {a}, {start, d}); }
  int extract_t(int a, int start, int n) { return make(Op::ExtractT, {a}, {start, n}); }
  int concat(int a, int b) { return make(Op::Concat, {a, b}); }
  int scalprod(int a, int b);
  int sqnorm2(int a) { return scalprod(a, a); }
  // Tensor contraction as numpy.tensordot(F, G, axes=(ca, cb)) on row-major
  // shapes da, db, then the result's axes permuted so that natural axis k
  // lands at position perm[k] (identity when perm is empty).
  int tensordot(int a, int b, const std::vector<int>& da, const std::vector<int>& db,
                const std::vector<int>& ca, const std::vector<int>& cb,
                const std::vector<int>& perm = {});

  bool is_zero(int id) const { return nodes_[id].op == Op::Zero; }
  bool is_const(int id) const { return nodes_[id].op == Op::Const; }
  bool is_const(int id, double v) const { return is_const(id) && nodes_[id].value == v; }
  // A constant (dim 1) or Zero, with its value.
  bool constant_value(int id, double* v) const;

  // Nodes reachable from `roots`, children before parents, in a deterministic
  // order (depth-first, operands left to right).
  std::vector<int> topological(const std::vector<int>& roots) const;

 private:
  std::vector<Node> nodes_;
  std::unordered_map<std::string, int> index_;
  int intern(Node n);
  int simplify(Op op, const std::vector<int>& kids, const std::vector<long long>& ints, int dim,
               bool* done);
};

// Dimension of the result of `op` on operands of dims `kid_dims` (assumes the
// operation's rules hold).
int result_dim(Op op, const std::vector<int>& kid_dims, const std::vector<long long>& ints);

// True for operations applied component by component with broadcasting.
bool is_elementwise(Op op);

// Scalar value of an element-wise operation on constants (for folding).
double fold_elementwise(Op op, const std::vector<double>& x, const std::vector<long long>& ints);

}  // namespace rkeops
