// Symbolic differentiation on the DAG (spec section 5). Results are ordinary
// formulas in the same graph, so shared subexpressions of the forward formula
// are shared with its derivatives and generated once.
#pragma once
#include "formula/graph.h"

namespace rkeops {

// Vector-Jacobian product [dF/dv]^T e: dimension dim(v). `v` must be a Var
// node; `e` has dimension dim(F) (or 1: broadcast, spec 5.3).
int vjp(Graph& g, int f, int v, int e);

// Jacobian-vector product [dF/dv] u: dimension dim(F); dim(u) = dim(v).
int jvp(Graph& g, int f, int v, int u);

// Rows of the Jacobian: component k*dim(v) + l is dF_k/dv_l.
int jacobian(Graph& g, int f, int v);

// sum_k dF_k/dv_k (dim F = dim v).
int divergence(Graph& g, int f, int v);

// sum_k d^2 F / dv_k^2 (dim F = 1).
int laplacian(Graph& g, int f, int v);

}  // namespace rkeops
