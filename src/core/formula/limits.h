// Size limits of a formula, checked before any pass that could take
// unbounded stack, memory or compile time. Every pass over a formula is either
// a loop (the parser's operator chains, topological orders, differentiation,
// code generation) or a recursion bounded by kMaxNesting; the other limits
// keep the graph and the generated code to what a compiler handles in
// seconds. The numbers are stated in the error messages and documented in the
// formula-language vignette and the README (Troubleshooting).
#pragma once

namespace rkeops {

// Levels of parentheses, function calls, unary signs and '**' exponents.
constexpr int kMaxNesting = 64;

// Operations written in the formula (operators and function calls).
constexpr long kMaxOperations = 10000;

// Nodes of the formula's graph, derivatives included (a nested Grad can
// multiply the size of its formula at each level).
constexpr long kMaxGraphNodes = 200000;

// Largest dimension of any value in a formula (and of a declared variable).
constexpr int kMaxDim = 10000;

// Pairs of components a tensor product, contraction or matrix-vector product
// examines while it is built (dim(f) * dim(g)).
constexpr long long kMaxTensorPairs = 1000000;

// Scalar operations the generated code may hold, an estimate of its compile
// time: one per component of each computed node, one per term of a sum or
// product of components, one per output column, and kVariableCost per
// component of a variable (the kernel keeps the variables of several rows at
// once). Measured with g++ 12 -O3 on a loaded 2-core AMD EPYC (Zen 4): about
// 1 ms per operation, 8 ms per variable component, so that the limit stays
// under a minute or two; SqDist of two 1024-dimensional points (about 10000)
// compiles in 20 s, x * y of dimension 4096 (41000) took 150 s and a
// TensorProd of two 100-vectors (31000) more than 400 s.
constexpr long long kMaxCodeSize = 16384;
constexpr long long kVariableCost = 4;

}  // namespace rkeops
