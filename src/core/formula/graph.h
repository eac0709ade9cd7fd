// The formula as a hash-consed DAG: building a node that already exists
// returns the existing one, so identical subexpressions are one node and the
// generated code computes them once. Constructors fold constants and apply
// identities (x*1, x+0, Zero) so that differentiation and code generation
// see a small graph.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace rkeops {

enum class Op {
  Var,       // ints = {pos, cat}
  Const,     // value, dim 1
  Zero,      // dim d
  Add, Sub, Mul, Div,  // element-wise with broadcasting of dim-1 operands
  Neg, Inv, Square, Exp,
  Pow,       // ints = {exponent}
  Sum,       // sum of components, dim 1
  SqNorm2,   // sum of squares, dim 1
  Scalprod,  // (f|g), dim 1
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

  // Leaves.
  int var(int pos, int dim, int cat);
  int constant(double v);
  int zero(int dim);

  // Operations; operands must already satisfy the dimension rules (checked
  // by the formula builder, which knows where to point in the text).
  int add(int a, int b);
  int sub(int a, int b);
  int mul(int a, int b);
  int div(int a, int b);
  int neg(int a);
  int inv(int a);
  int square(int a);
  int exp(int a);
  int pow(int a, long long n);
  int sum(int a);
  int sqnorm2(int a);
  int scalprod(int a, int b);

  bool is_zero(int id) const { return nodes_[id].op == Op::Zero; }
  bool is_const(int id) const { return nodes_[id].op == Op::Const; }
  bool is_const(int id, double v) const { return is_const(id) && nodes_[id].value == v; }

  // Nodes reachable from `roots`, children before parents, in a deterministic
  // order (depth-first, operands left to right).
  std::vector<int> topological(const std::vector<int>& roots) const;

 private:
  std::vector<Node> nodes_;
  std::unordered_map<std::string, int> index_;
  int intern(Node n);
};

}  // namespace rkeops
