# Gradients of every differentiable operation of the language (spec 3 and
# 5.2), checked against central finite differences of the forward operator,
# in float64.
#
# For an operation F, the operator is Sum_Reduction(F(x, y), 0) with x a Vi
# and y a Vj. For each declared variable v, keops_grad(op, v) evaluated with a
# random gradient input eta must equal
#     d/dv sum_i <eta_i, out_i>
# computed entry by entry of v by central differences (step 1e-6 times the
# scale of v): that is the full vector-Jacobian product, not a directional
# projection. For a parameter (Pm) the gradient is ONE row.
#
# To keep the number of C++ compilations small, the operations of a group
# (same declarations, same input domain) are concatenated in one formula
# Sum_Reduction(Concat(F1, Concat(F2, ...)), 0); the gradient of operation k
# alone is obtained by setting eta to zero outside the columns of F_k, so
# every operation is still checked (and reported) on its own. Inputs are
# chosen away from kinks, jumps and singularities.

M <- 4
N <- 5
GRAD_TOL <- 1e-6

# ---- finite differences ------------------------------------------------------

# Central differences of the forward operator with respect to every entry of
# input[[v]] (matrix or parameter vector): a list, one derivative of the
# whole output matrix per entry (column-major order of the entries).
fd_jacobian <- function(fwd, input, v, rel_step = 1e-6) {
  x0 <- input[[v]]
  h <- rel_step * max(abs(x0))
  lapply(seq_along(x0), function(k) {
    up <- input
    dn <- input
    up[[v]][k] <- x0[k] + h
    dn[[v]][k] <- x0[k] - h
    (fwd(up) - fwd(dn)) / (2 * h)
  })
}

# The reference gradient: sum over output entries of eta times their
# derivative, shaped like the gradient operator's result (rows x dim for a
# Vi/Vj, one row for a parameter).
fd_contract <- function(jac, eta, x0) {
  g <- vapply(jac, function(d) sum(eta * d), numeric(1))
  if (is.matrix(x0)) matrix(g, nrow(x0), ncol(x0)) else matrix(g, nrow = 1)
}

# Like expect_close() of the helpers, with a label naming the operation and
# the variable in the failure message.
expect_grad_close <- function(got, ref, tol, label) {
  got <- as.matrix(got)
  if (!identical(as.integer(dim(got)), as.integer(dim(ref)))) {
    expect(FALSE, sprintf("%s: gradient is %s, expected %s", label,
                          paste(dim(got), collapse = " x "), paste(dim(ref), collapse = " x ")))
    return(invisible())
  }
  if (!all(is.finite(got))) {
    expect(FALSE, sprintf("%s: gradient has %d non-finite entries", label, sum(!is.finite(got))))
    return(invisible())
  }
  if (all(ref == 0)) {
    # zero derivative: the finite difference is exactly 0 (no jump crossed),
    # and so must the symbolic gradient be.
    expect(all(got == 0), sprintf("%s: expected an exactly zero gradient, max |g| = %.3g",
                                  label, max(abs(got))))
    return(invisible())
  }
  err <- rel_err(got, ref)
  expect(err <= tol, sprintf("%s: relative error %.3g is above %.3g\n  got: %s\n  ref: %s", label, err, tol,
                             paste(format(signif(got, 8)), collapse = " "),
                             paste(format(signif(ref, 8)), collapse = " ")))
}

# Checks the gradients of every operation of `ops` (a named vector: formula
# body -> output dimension) with respect to each variable of `vars`.
# `input` is a list named by the declared names.
check_grad_group <- function(ops, args, input, vars = names(input), seed = 1, tol = GRAD_TOL) {
  with_precision("float64", {
    body <- Reduce(function(a, b) sprintf("Concat(%s, %s)", b, a), rev(names(ops)))
    fwd <- get_op(sprintf("Sum_Reduction(%s, 0)", body), args)
    out <- fwd(input)
    expect_identical(dim(out), c(as.integer(M), as.integer(sum(ops))))
    expect_true(all(is.finite(out)))
    ends <- cumsum(ops)
    starts <- ends - ops + 1
    set.seed(seed)
    eta <- matrix(stats::rnorm(length(out)), nrow(out))
    for (v in vars) {
      gop <- get_grad(fwd, v)
      jac <- fd_jacobian(fwd, input, v)
      for (k in seq_along(ops)) {
        eta_k <- eta
        eta_k[, -(starts[k]:ends[k])] <- 0
        got <- gop(c(input, list(eta = eta_k)))
        ref <- fd_contract(jac, eta_k, input[[v]])
        expect_grad_close(got, ref, tol, sprintf("%s, d/d%s", names(ops)[k], v))
      }
    }
  })
}

xy_args <- c("x = Vi(3)", "y = Vj(3)")
# positive inputs in [0.5, 1.5]
pos_input <- list(x = rand_mat(M, 3, 601, 0.5, 1.5), y = rand_mat(N, 3, 602, 0.5, 1.5))
# mixed signs: |x| in [0.5, 1.5] with random signs, y in [-0.3, 0.3], so
# that x - y stays at least 0.2 away from 0
mixed_input <- local({
  set.seed(603)
  s <- matrix(sample(c(-1, 1), M * 3, replace = TRUE), M)
  list(x = s * rand_mat(M, 3, 604, 0.5, 1.5), y = rand_mat(N, 3, 605, -0.3, 0.3))
})

# ---- tests --------------------------------------------------------------------

test_that("gradients of the arithmetic operations, with and without broadcasting", {
  ops <- c("x + y" = 3, "Add(x, Sum(y))" = 3, "x - y" = 3, "Subtract(Elem(x, 0), y)" = 3,
           "-x * y" = 3, "Minus(x - y)" = 3, "x * y" = 3, "Mult(Elem(x, 1), y)" = 3,
           "x / y" = 3, "Divide(x, Elem(y, 2))" = 3, "Inv(x + y)" = 3, "1 / x - y / 3" = 3,
           "2 * x * y + 1" = 3, "0.5 * x - y" = 3, "IntInv(4) * x * y - RatCst(2, 3) * y" = 3,
           "IntCst(3) * x - y" = 3, "Scal(Elem(y, 0), x)" = 3, "ScalOrMult(x, y)" = 3,
           "ScalOrMult(Sum(x), y)" = 3)
  check_grad_group(ops, xy_args, pos_input, seed = 11)
})

test_that("gradients of the element-wise mathematical functions", {
  ops <- c("Exp(x - y)" = 3, "Log(x + y)" = 3, "XLogX(x * y)" = 3, "Sqrt(x + y)" = 3,
           "Rsqrt(x * y)" = 3, "Square(x - y)" = 3, "Pow(x + y, 3)" = 3, "Pow(x * y, -2)" = 3,
           "(x - y)**2" = 3, "x**-1 * y" = 3, "Powf(x, y)" = 3, "Powf(x + y, Elem(y, 0))" = 3,
           "Sin(x * y)" = 3, "Cos(x - y)" = 3, "SinXDivX(x + y)" = 3,
           "Asin(0.4 * (x - y))" = 3, "Acos(0.4 * (x - y))" = 3, "Atan(x * y)" = 3,
           "Atan2(x - y, x + y)" = 3, "Atan2(x, Elem(y, 1))" = 3)
  check_grad_group(ops, xy_args, pos_input, seed = 12)
})

test_that("gradients of piecewise operations away from their kinks", {
  ops <- c("Abs(x - y)" = 3, "ReLU(x - y)" = 3, "ClampInt(2 * (x - y), -1, 1)" = 3,
           "Clamp(x, y - 1, y + 1)" = 3, "Clamp(x * y, Elem(y, 0) - 0.5, 0.2)" = 3,
           "Mod(x, y + 2, y - 1)" = 3, "Mod(3 * x, IntCst(2), Elem(y, 1))" = 3,
           "IfElse(x - y, x * y, x + y)" = 3, "IfElse(Elem(x, 0), Exp(y), x * y)" = 3,
           "Sign(x - y) * x * y" = 3, "Step(x - y) * (x + y)" = 3,
           "Max(x - y)" = 1, "Min(x * y)" = 1)
  check_grad_group(ops, xy_args, mixed_input, seed = 13)
})

test_that("operations with a zero derivative give exactly zero gradients", {
  ops <- c("Sign(x - y)" = 3, "Step(x - y)" = 3, "Floor(3 * (x - y))" = 3, "Round(x - y, 1)" = 3,
           "x < y" = 3, "x <= y" = 3, "x > y" = 3, "x >= y" = 3, "x == y" = 3, "x != y" = 3,
           "Equal(Floor(x), Floor(y))" = 3, "NotEqual(x, y)" = 3, "LessThan(y, x)" = 3,
           "LessOrEqual(x, y)" = 3, "OneHot(Elem(x, 0) - Elem(y, 1) + 2, 5)" = 5,
           "ArgMax(x * y)" = 1, "ArgMin(x - y)" = 1, "DiffClampInt(2 * (x - y), -1, 1)" = 3,
           # a zero-derivative factor in a product: only the other factor counts
           "Floor(3 * x) * Exp(y)" = 3)
  check_grad_group(ops, xy_args, mixed_input, seed = 14)
})

test_that("gradients of sums, indexing, concatenation, extrema", {
  ops <- c("Sum(x * y)" = 1, "SumT(Sum(x * y), 4)" = 4, "SumT(Elem(x, 0) - Elem(y, 1), 2)" = 2,
           "Max(x * y)" = 1, "Min(x / y)" = 1, "Elem(x * y, 1)" = 1,
           "ElemT(Elem(x, 0) * Elem(y, 2), 4, 1)" = 4, "Extract(x * y, 1, 2)" = 2,
           "ExtractT(x - y, 1, 5)" = 5, "Concat(x * y, Exp(y - x))" = 6)
  check_grad_group(ops, xy_args, pos_input, seed = 15)
})

test_that("gradients of scalar products, norms and distances", {
  ops <- c("(x | y)" = 1, "Scalprod(x * x, y)" = 1, "(x | y) * x" = 3, "SqNorm2(x - y)" = 1,
           "Norm2(x - y)" = 1, "Normalize(x - y)" = 3, "SqDist(x, y)" = 1, "SqDist(x * y, y)" = 1)
  check_grad_group(ops, xy_args, pos_input, seed = 16)
})

test_that("gradients of WeightedSqNorm with its three weight shapes, and its aliases", {
  # x = Vi(9) holds the weights (scalar: entry 4; diagonal: entries 3..5;
  # full 3 x 3: all of x) and part of the vector; y = Vj(3)
  ops <- c("WeightedSqNorm(Elem(x, 4), Extract(x, 0, 3) - y)" = 1,
           "WeightedSqNorm(Extract(x, 3, 3), Extract(x, 0, 3) - y)" = 1,
           "WeightedSqNorm(x, Extract(x, 6, 3) * y)" = 1,
           "WeightedSqNorm(x, y)" = 1,
           "WeightedSqDist(x, Extract(x, 0, 3), y)" = 1,
           "SqNormIso(Elem(x, 0), y)" = 1, "SqNormDiag(Extract(x, 0, 3), y)" = 1,
           "SymSqNorm(x, y - Extract(x, 3, 3))" = 1)
  inp <- list(x = rand_mat(M, 9, 611, -1, 1.5), y = rand_mat(N, 3, 612, 0.5, 1.5))
  check_grad_group(ops, c("x = Vi(9)", "y = Vj(3)"), inp, seed = 17)
})

test_that("gradients of MatVecMult, VecMatMult, TensorProd, TensorDot, Kron", {
  # x = Vi(6) is a 2 x 3 (or 3 x 2) matrix, y = Vj(3) a vector
  ops <- c("MatVecMult(x, y)" = 2, "VecMatMult(y, x)" = 2, "TensorProd(x, y)" = 18,
           "MatVecMult(TensorProd(y, y), Extract(x, 0, 3))" = 3,
           "TensorDot(x, y, [2,3], [3], [1], [0])" = 2,
           "TensorDot(x, y, [3,2], [3], [0], [0])" = 2,
           "TensorDot(x, y, [2,3], [3], [], [], [2,0,1])" = 18,
           "TensorDot(x, TensorProd(y, Extract(x, 0, 2)), [2,3], [3,2], [0,1], [1,0])" = 1,
           "Kron(x, y, [2,3], [1,3])" = 18, "Kron(Extract(x, 0, 4), Extract(y, 0, 2), [2,2], [2,1])" = 8)
  inp <- list(x = rand_mat(M, 6, 621, -1, 1), y = rand_mat(N, 3, 622, -1, 1))
  check_grad_group(ops, c("x = Vi(6)", "y = Vj(3)"), inp, seed = 18)
})

test_that("gradients of the kernel shortcuts, with respect to points, weights and scales", {
  ops <- c("GaussKernel(c, x, y, b)" = 3, "CauchyKernel(c, x, y, b)" = 3,
           "LaplaceKernel(c, x, y, b)" = 3, "InverseMultiquadricKernel(c, x, y, b)" = 3,
           "SumGaussKernel(cc, w, x, y, b)" = 3, "DivFreeGaussKernel(c, x, y, b)" = 3,
           "CurlFreeGaussKernel(c, x, y, b)" = 3, "TRIGaussKernel(l, c, x, y, b)" = 3)
  args <- c("x = Vi(3)", "y = Vj(3)", "b = Vj(3)", "c = Pm(1)", "l = Pm(1)", "w = Pm(2)", "cc = Pm(2)")
  inp <- list(x = rand_mat(M, 3, 631), y = rand_mat(N, 3, 632), b = rand_mat(N, 3, 633, -1, 1),
              c = 0.7, l = 0.3, w = c(1, -0.5), cc = c(0.5, 2))
  check_grad_group(ops, args, inp, seed = 19)
})

test_that("the gradient with respect to a parameter is one row: the derivative of sum_i <eta_i, out_i>", {
  ops <- c("Exp(-s * SqNorm2(x - y)) * w" = 3, "Powf(x + y, s)" = 3, "x * w - y" = 3,
           "WeightedSqNorm(w, x - y)" = 1, "Sqrt(s + SqNorm2(x * w - y))" = 1,
           "Sin(s * (w | x - y))" = 1, "Log(s + Sum(w * y))" = 1, "Concat(s * x, w / y)" = 6)
  args <- c("x = Vi(3)", "y = Vj(3)", "s = Pm(1)", "w = Pm(3)")
  inp <- c(pos_input, list(s = 0.8, w = c(0.6, 1.1, 1.4)))
  check_grad_group(ops, args, inp, seed = 20)
  # the parameter's gradient really is the column sum of per-row partials:
  # E26's closed form, sum_ij -|x_i - y_j|^2 K_ij <w, eta_i>
  with_precision("float64", {
    fwd <- get_op("Sum_Reduction(Exp(-s * SqNorm2(x - y)) * w, 0)", args)
    eta <- rand_mat(M, 3, 21, -1, 1)
    d2 <- ref_sqdist(inp$x, inp$y)
    k <- exp(-inp$s * d2)
    ref <- sum(-d2 * k * outer(drop(eta %*% inp$w), rep(1, N)))
    expect_close(get_grad(fwd, "s")(c(inp, list(eta = eta))), matrix(ref, 1, 1), 1e-12)
  })
})

test_that("at 0, Sqrt, Norm2 and Normalize have zero derivative (Rsqrt(0) = 0, spec 6.5)", {
  # x_1 coincides with y_1 and x_2 with y_3: those pairs contribute 0, not NaN
  x <- matrix(c(1, 2, 3, 0, 0, 0), 2, byrow = TRUE)
  y <- matrix(c(1, 2, 3, 1, 1, 1, 0, 0, 0, -1, 2, 0.5), 4, byrow = TRUE)
  eta3 <- rand_mat(2, 3, 31, -1, 1)
  pair_sum <- function(f, rows, by_x) {
    # sum over the pairs of f(d, i, j), d = x_i - y_j, indexed like x or y
    out <- matrix(0, rows, 3)
    for (i in 1:2) for (j in 1:4) {
      d <- x[i, ] - y[j, ]
      r <- sqrt(sum(d^2))
      if (r > 0) {
        k <- if (by_x) i else j
        out[k, ] <- out[k, ] + f(d, r, i) * (if (by_x) 1 else -1)
      }
    }
    out
  }
  with_precision("float64", {
    norm2 <- get_op("Sum_Reduction(Norm2(x - y), 0)", xy_args)
    sqrt_sq <- get_op("Sum_Reduction(Sqrt(SqNorm2(x - y)), 0)", xy_args)
    normalize <- get_op("Sum_Reduction(Normalize(x - y), 0)", xy_args)
    eta1 <- matrix(1, 2, 1)
    ref_x <- pair_sum(function(d, r, i) d / r, 2, TRUE)
    ref_y <- pair_sum(function(d, r, i) d / r, 4, FALSE)
    for (op in list(norm2, sqrt_sq)) {
      expect_close(get_grad(op, "x")(list(x, y, eta1)), ref_x, 1e-12)
      expect_close(get_grad(op, "y")(list(x, y, eta1)), ref_y, 1e-12)
    }
    # d Normalize(d) / d d, applied to eta: (eta - u <u, eta>) / |d|
    jt <- function(d, r, i) {
      u <- d / r
      (eta3[i, ] - u * sum(u * eta3[i, ])) / r
    }
    expect_close(get_grad(normalize, "x")(list(x, y, eta3)), pair_sum(jt, 2, TRUE), 1e-12)
    expect_close(get_grad(normalize, "y")(list(x, y, eta3)), pair_sum(jt, 4, FALSE), 1e-12)
  })
})
