# The computations of the RKeOps 2.x vignette "RKeOps LazyTensor"
# (rkeops/vignettes/LazyTensor_rkeops.Rmd in getkeops/keops), written as its
# users wrote them, run against brute-force R. Where this package differs on
# purpose the code is changed and the change is said in a comment ("changed:").
# Also the k-nearest-neighbour search of the RKeOps 2.x benchmarks
# (rkeops/benchmarks/benchmark_rr2023_knn_search.R), which relies on the
# 0-based indices of argKmin.

test_that("vignette 'Lazy evaluation': the Gaussian column sums run as written", {
  for_precisions(function(precision) {
    set.seed(11)
    # Data (as in the vignette: N rows for x, M rows for y)
    N <- 100
    M <- 150
    x <- matrix(runif(N * 3), nrow = N, ncol = 3)
    y <- matrix(runif(M * 3), nrow = M, ncol = 3)
    s <- 0.1
    x_i <- LazyTensor(x, "i")
    y_j <- LazyTensor(y, "j")
    D_ij <- sum((x_i - y_j)^2)
    K_ij <- exp(- D_ij / s^2)
    a_j <- sum(K_ij, index = "i")
    # brute force: column sums of the N x M kernel matrix
    expect_identical(dim(a_j), c(150L, 1L))
    expect_close(a_j, as.matrix(colSums(exp(-ref_sqdist(x, y) / s^2))), 10 * tol_for(precision))
  })
})

test_that("vignette 'ComplexLazyTensor': complex LazyTensors are refused with a clear error", {
  # changed: the vignette's line gives 6 values for a 2 x 2 matrix, which R
  # (>= 4.0) warns about; the warning is silenced, the matrix is the same.
  z <- suppressWarnings(matrix(2 + 1i^(-6:-1), nrow = 2, ncol = 2))
  # changed: complex LazyTensors do not exist in this version; the vignette's
  # three calls stop with an rkeops_lazytensor_error instead of encoding the
  # real and imaginary parts.
  expect_error(LazyTensor(z, index = "i", is_complex = TRUE),
               "complex LazyTensors (is_complex = TRUE) are not supported", fixed = TRUE,
               class = "rkeops_lazytensor_error")
  expect_error(LazyTensor(c(4 + 5i, 2 + 3i, 7 + 1i), is_complex = TRUE), "complex LazyTensors", fixed = TRUE)
  expect_error(LazyTensor(c(5, 4, 7, 9), is_complex = TRUE), "complex LazyTensors", fixed = TRUE)
})

test_that("vignette operation tables: every real operation, in the vignette's spelling", {
  with_precision("float64", {
    set.seed(12)
    X <- matrix(runif(6 * 3, 0.2, 1), 6)
    Y <- matrix(runif(8 * 3, 0.1, 0.9), 8)
    x <- LazyTensor(X, "i")
    y <- LazyTensor(Y, "j")
    s <- LazyTensor(c(1, 2, 3))
    a <- 0.3
    b <- 0.7
    # (x: a row of X, y: a row of Y) -> the vignette's meaning of each row
    rows <- list(
      list(x + y, function(p, q) p + q), list(x - y, function(p, q) p - q), list(-x, function(p, q) -p),
      list(x * y, function(p, q) p * q), list(x / y, function(p, q) p / q), list(x^y, function(p, q) p^q),
      list((x | y), function(p, q) sum(p * q)),
      list(square(x), function(p, q) p^2), list(sqrt(x), function(p, q) sqrt(p)),
      list(rsqrt(x), function(p, q) 1 / sqrt(p)), list(exp(x), function(p, q) exp(p)),
      list(log(x), function(p, q) log(p)), list(xlogx(x), function(p, q) p * log(p)),
      list(inv(x), function(p, q) 1 / p), list(cos(x), function(p, q) cos(p)), list(sin(x), function(p, q) sin(p)),
      list(sinxdivx(x), function(p, q) sin(p) / p), list(acos(x - y), function(p, q) acos(p - q)),
      list(asin(x - y), function(p, q) asin(p - q)), list(atan(x), function(p, q) atan(p)),
      list(atan2(x, y), function(p, q) base::atan2(p, q)), list(abs(x - y), function(p, q) abs(p - q)),
      list(sign(x - y), function(p, q) sign(p - q)), list(step(x - y), function(p, q) as.numeric(p >= q)),
      list(relu(x - y), function(p, q) pmax(p - q, 0)),
      list(clamp(x, a, b), function(p, q) pmin(pmax(p, a), b)),
      list(clampint(3 * x, 1, 2), function(p, q) pmin(pmax(3 * p, 1), 2)),
      list(ifelse(x - y, a, b), function(p, q) base::ifelse(p - q >= 0, a, b)),
      list(mod(x, a, b), function(p, q) p - a * floor((p - b) / a)),
      list(round(x, 2), function(p, q) round(p, 2)),
      list(norm2(x), function(p, q) sqrt(sum(p^2))), list(sqnorm2(x), function(p, q) sum(p^2)),
      list(normalize(x), function(p, q) p / sqrt(sum(p^2))), list(sqdist(x, y), function(p, q) sum((p - q)^2)),
      list(weightedsqnorm(x, s), function(p, q) sum(c(1, 2, 3) * p^2)),
      list(weightedsqdist(x, y, s), function(p, q) sum(c(1, 2, 3) * (p - q)^2)),
      # the vignette says "column-major"; matrices in vectors are row-major here (see ?lazytensor_functions)
      list(matvecmult(tensorprod(x, y), y), function(p, q) drop(matrix(outer(p, q), 3, byrow = FALSE) %*% q)),
      list(vecmatmult(x, tensorprod(x, y)), function(p, q) drop(t(p) %*% outer(p, q))),
      list(tensorprod(x, y), function(p, q) as.vector(t(outer(p, q)))),
      list(sum(x), function(p, q) sum(p)), list(max(x), function(p, q) max(p)), list(min(x), function(p, q) min(p)),
      list(argmax(x), function(p, q) which.max(p) - 1), list(argmin(x), function(p, q) which.min(p) - 1),
      list(elem(x, 1), function(p, q) p[2]), list(elemT(elem(x, 0), 1, 3), function(p, q) c(0, p[1], 0)),
      list(extract(x, 1, 2), function(p, q) p[2:3]), list(extractT(x, 1, 5), function(p, q) c(0, p, 0)),
      list(concat(x, y), function(p, q) c(p, q)), list(one_hot(elem(y, 0) * 3L, 3), function(p, q) {
        v <- numeric(3)
        r <- trunc(3 * q[1] + 0.5)
        if (r < 3) v[r + 1] <- 1
        v
      })
    )
    res <- sum(Reduce(concat, lapply(rows, `[[`, 1)), index = "j")
    start <- 1
    for (k in seq_along(rows)) {
      ref <- lt_brute_sum(function(p, q) as.numeric(rows[[k]][[2]](p, q)), X, Y, "j")
      got <- res[, start:(start + ncol(ref) - 1), drop = FALSE]
      start <- start + ncol(ref)
      expect(rel_err(got, ref) < 1e-12, sprintf("table row %d: relative error %.3g", k, rel_err(got, ref)))
    }
    expect_identical(as.integer(start - 1), ncol(res))
  })
})

test_that("vignette reductions table and gradient row, in the vignette's spelling", {
  with_precision("float64", {
    set.seed(13)
    X <- matrix(runif(6 * 2), 6)
    Y <- matrix(runif(9 * 2), 9)
    W <- matrix(runif(9, 0.5, 1.5), 9)
    x <- LazyTensor(X, "i")
    y <- LazyTensor(Y, "j")
    w <- LazyTensor(W, "j")
    D <- ref_sqdist(X, Y)
    f <- -sqdist(x, y)
    expect_equal(sum(f, "j"), as.matrix(rowSums(-D)), tolerance = 1e-12)
    expect_equal(sum_reduction(f, "j"), sum(f, "j"))
    expect_equal(min(sqdist(x, y), "j"), as.matrix(apply(D, 1, min)), tolerance = 1e-12)
    expect_identical(argmin(sqdist(x, y), "j"), as.matrix(apply(D, 1, which.min) - 1))
    ma <- min_argmin(sqdist(x, y), "j")
    expect_identical(ma[[2]], argmin(sqdist(x, y), "j"))            # [[1]], [[2]] as in RKeOps 2.x
    expect_equal(max(sqdist(x, y), "j"), as.matrix(apply(D, 1, max)), tolerance = 1e-12)
    expect_identical(argmax(sqdist(x, y), "j"), as.matrix(apply(D, 1, which.max) - 1))
    expect_identical(max_argmax(sqdist(x, y), "j")[[2]], argmax(sqdist(x, y), "j"))
    expect_equal(logsumexp(f, "j", w), log(exp(-D) %*% W), tolerance = 1e-12)
    expect_equal(sumsoftmaxweight(f, "j", w), (exp(-D) %*% W) / rowSums(exp(-D)), tolerance = 1e-12)
    expect_equal(x %*% w, sum(W) * X, tolerance = 1e-12)   # sum_j x_i w_j
    # grad(x, gradin, red, var, "i"): the vignette's order. With var indexed
    # by j and the gradient reduced over i, this is the gradient of
    # sum_j gradin_j sum_i F_ij w.r.t. y_j.
    eta <- LazyTensor(matrix(runif(9), 9), "j")
    g <- grad(sqdist(x, y), eta, "Sum", y, "i")
    ref <- 2 * (nrow(X) * Y - matrix(colSums(X), 9, 2, byrow = TRUE)) * eta$vars[[1]]$data[, 1]
    expect_equal(g, ref, tolerance = 1e-12)
  })
})

test_that("RKeOps 2.x benchmark: kNN search with argKmin, 0-based as there", {
  local_clean_options()
  rkeops_use_float64()
  knn_search_keops <- function(x, y, K) {
    x_i <- Vi(x)
    y_j <- Vj(y)
    res <- argKmin(sum(abs(x_i - y_j)), K, "j")
    return(res)
  }
  knn_search_base <- function(x, y, K) {
    N <- nrow(x)
    D <- ncol(x)
    res <- matrix(0, N, K)
    for (i in 1:N) {
      res[i, ] <- order(rowSums(abs(y - matrix(x[i, ], N, D, byrow = TRUE))))[1:K]
    }
    return(res)
  }
  set.seed(14)
  N <- 100
  D <- 15
  x <- matrix(rnorm(N * D), N, D)
  y <- matrix(rnorm(N * D), N, D)
  K <- 5
  res1 <- knn_search_keops(x, y, K)
  res2 <- knn_search_base(x, y, K)
  expect_identical(sum(abs(res1 + 1 - res2)), 0)
})
