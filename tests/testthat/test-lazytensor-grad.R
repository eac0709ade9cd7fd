# grad() on LazyTensors: the gradient of a reduction against central finite
# differences of the brute-force forward computation, for an i-variable, a
# j-variable and a parameter, both reduction indices, Sum and LogSumExp,
# float64 and float32; and the same result as keops_grad() on the formula.

M <- 5
N <- 6
X <- rand_mat(M, 2, seed = 401)
Y <- rand_mat(N, 2, seed = 402)
B <- rand_mat(N, 1, seed = 403, lo = -1, hi = 1)
S <- 0.7
ETA_I <- rand_mat(M, 1, seed = 404, lo = -1, hi = 1)  # gradient input, one row per i
ETA_J <- rand_mat(N, 1, seed = 405, lo = -1, hi = 1)  # one row per j

# sum_r eta_r R_r for R = sum over `index` of exp(-|x - y|^2 / s) b_j.
forward <- function(X, Y, s, index, eta) {
  K <- exp(-ref_sqdist(X, Y) / s) * matrix(B, M, N, byrow = TRUE)
  R <- if (index == "j") rowSums(K) else colSums(K)
  sum(eta * R)
}
forward_lse <- function(X, Y, s, eta) sum(eta * log(rowSums(exp(-ref_sqdist(X, Y) / s))))

# Central differences of f over every entry of v.
num_grad <- function(f, v, h = 1e-6) {
  g <- v
  for (k in seq_along(v)) {
    up <- v
    dn <- v
    up[k] <- v[k] + h
    dn[k] <- v[k] - h
    g[k] <- (f(up) - f(dn)) / (2 * h)
  }
  g
}

lazy_K <- function(x_i, y_j, s) exp(-sqdist(x_i, y_j) / s) * Vj(B)

test_that("grad() matches finite differences for Vi, Vj and Pm variables, both indices and precisions", {
  for_precisions(function(precision) {
    tol <- if (precision == "float64") 1e-7 else 1e-4
    x_i <- Vi(X)
    y_j <- Vj(Y)
    s <- Pm(S)
    F <- lazy_K(x_i, y_j, s)
    for (index in c("j", "i")) {
      eta <- if (index == "j") ETA_I else ETA_J
      info <- sprintf("index %s, %s", index, precision)
      gx <- grad(F, x_i, index, eta)
      expect_identical(dim(gx), c(as.integer(M), 2L), info = info)
      expect_close(gx, num_grad(function(v) forward(v, Y, S, index, eta), X), tol)
      gy <- grad(F, y_j, index, gradin = eta)
      expect_identical(dim(gy), c(as.integer(N), 2L), info = info)
      expect_close(gy, num_grad(function(v) forward(X, v, S, index, eta), Y), tol)
      gs <- grad(F, s, index, eta)
      expect_identical(dim(gs), c(1L, 1L), info = info)  # a parameter: one row, summed over all pairs
      expect_close(gs, num_grad(function(v) forward(X, Y, v, index, eta), S), tol)
    }
    # no gradin: ones, the gradient of the sum of all entries of R
    expect_close(grad(F, x_i, "j"), num_grad(function(v) forward(v, Y, S, "j", rep(1, M)), X), tol)
    expect_close(grad(F, x_i, "j", 2), num_grad(function(v) forward(v, Y, S, "j", rep(2, M)), X), tol)
  })
})

test_that("grad() of a LogSumExp reduction matches finite differences", {
  for_precisions(function(precision) {
    tol <- if (precision == "float64") 1e-7 else 1e-4
    x_i <- Vi(X)
    g <- grad(-sqdist(x_i, Vj(Y)) / S, x_i, "j", ETA_I, opstr = "LogSumExp")
    expect_close(g, num_grad(function(v) forward_lse(v, Y, S, ETA_I), X), tol)
  })
})

test_that("grad() is keops_grad() of the reduction's operator; the RKeOps 2.x call order is recognised", {
  with_precision("float64", {
    x_i <- Vi(X)
    F <- lazy_K(x_i, Vj(Y), Pm(S))
    op <- keops_kernel("Sum_Reduction(Exp(-SqDist(x, y) / s) * b, 0)",
                       c("x = Vi(2)", "y = Vj(2)", "s = Pm(1)", "b = Vj(1)"))
    expect_equal(grad(F, x_i, "j", ETA_I), keops_grad(op, "x")(list(X, Y, S, B, ETA_I)), tolerance = 1e-12)
    # RKeOps 2.x: grad(F, gradin, opstr, var, index); a LazyTensor gradin gives its data
    expect_identical(grad(F, Vi(ETA_I), "Sum", x_i, "j"), grad(F, x_i, "j", ETA_I))
  })
})

test_that("grad() errors say what is wrong", {
  x_i <- Vi(X)
  F <- lazy_K(x_i, Vj(Y), Pm(S))
  expect_error(grad(F, 2 * x_i, "j"), "grad(): 'var' must be a variable made by Vi(), Vj() or Pm() (not an expression)",
               fixed = TRUE, class = "rkeops_lazytensor_error")
  expect_error(grad(F, Vi(X), "j"), "grad(): 'var' does not appear in the expression 'x'", fixed = TRUE)
  expect_error(grad(F, x_i, "j", opstr = "KMin"),
               "grad(): 'opstr' must be a reduction without extra argument such as \"Sum\" or \"LogSumExp\", not 'KMin'",
               fixed = TRUE)
  expect_error(grad(F, x_i, "k"), "'index' must be \"i\" or \"j\", not \"k\"", fixed = TRUE)
  expect_error(grad(X, x_i, "j"), "grad(): 'x' must be a LazyTensor", fixed = TRUE)
  e <- catch_err(with_precision("float64", grad(F, x_i, "j", opstr = "Min")))
  expect_s3_class(e, "rkeops_formula_error")
})
