# LazyTensor objects without computing: constructors, the formula text they
# build, print, the is.* predicates, errors raised while building, and base R
# left untouched on ordinary objects.

X <- rand_mat(10, 3, seed = 101)
Y <- rand_mat(15, 3, seed = 102)

test_that("Vi, Vj, Pm and LazyTensor() record category, dimension and points", {
  x_i <- Vi(X)
  expect_true(is.LazyTensor(x_i))
  expect_identical(x_i$dim, 3L)
  expect_identical(unname(x_i$n), c(10, NA))
  expect_identical(unname(Vj(Y)$n), c(NA, 15))
  expect_identical(format(LazyTensor(X, "i")), "v0")
  expect_identical(LazyTensor(X, "j")$vars[[1]]$cat, 1L)
  p <- Pm(c(1, 2, 3))
  expect_identical(p$dim, 3L)
  expect_identical(LazyTensor(c(1, 2))$vars[[1]]$cat, 2L)
  # a vector is points of dimension 1; data frames and integers are converted
  v <- Vj(1:15)
  expect_identical(c(v$dim, v$vars[[1]]$cat), c(1L, 1L))
  expect_identical(unname(v$n), c(NA, 15))
  df <- Vi(data.frame(a = 1:4, b = c(0.5, 1, 2, 3)))
  expect_identical(df$vars[[1]]$data, cbind(a = c(1, 2, 3, 4), b = c(0.5, 1, 2, 3)))
  expect_identical(Vi(matrix(1:6, 3))$vars[[1]]$data, matrix(as.double(1:6), 3))
})

test_that("is.LazyParameter, is.LazyVector, is.LazyMatrix, is.ComplexLazyTensor", {
  expect_false(is.LazyTensor(X))
  expect_true(is.LazyParameter(Pm(2)))
  expect_true(is.LazyParameter(Pm(2) * 3))
  expect_false(is.LazyParameter(Pm(c(1, 2))))
  expect_true(is.LazyVector(Pm(c(1, 2))))
  expect_false(is.LazyVector(Vi(X)))
  expect_true(is.LazyMatrix(Vi(X)))
  expect_true(is.LazyMatrix(Vi(X) - Pm(c(1, 2, 3))))
  expect_false(is.LazyMatrix(Pm(1)))
  expect_false(is.LazyMatrix(X))
  expect_false(is.ComplexLazyTensor(Vi(X)))
})

test_that("operations write the formula of the formula language", {
  x <- Vi(X)
  y <- Vj(Y)
  expect_identical(format(exp(-sqnorm2(x - y))), "Exp((-SqNorm2((v0 - v1))))")
  expect_identical(format(x * 2L), "(v0 * 2)")        # an R integer: a constant
  expect_identical(format(x - (-3L)), "(v0 - (-3))")
  expect_identical(format(2L / x), "(2 / v0)")
  expect_identical(format(x * 2), "(v0 * v1)")         # a double: a parameter, even when whole
  expect_identical(x$vars[[1]]$data, X)
  expect_identical((x * 0.5)$vars[[2]]$data, 0.5)
  expect_identical(format((x | y)), "(v0 | v1)")
  expect_identical(format(x^2), "Square(v0)")
  expect_identical(format(x^0.5), "Sqrt(v0)")
  expect_identical(format(x^-0.5), "Rsqrt(v0)")
  expect_identical(format(x^3), "Pow(v0, 3)")
  expect_identical(format(x^-2), "Pow(v0, -2)")
  expect_identical(format(x^1.5), "Powf(v0, v1)")
  expect_identical(format(x %% 2L), "Mod(v0, 2, 0)")
  expect_identical(format(x <= y), "(v0 <= v1)")
  expect_identical(format(round(x, 2)), "Round(v0, 2)")
  expect_identical(format(elemT(elem(x, 2), 1, 4)), "ElemT(Elem(v0, 2), 4, 1)")
  expect_identical(format(extractT(extract(x, 1, 2), 3, 6)), "ExtractT(Extract(v0, 1, 2), 3, 6)")
  expect_identical(format(weightedsqdist(x, y, Pm(c(1, 2, 3)))), "WeightedSqDist(v0, v1, v2)")  # weights first, as in the formula
  expect_identical(format(sum(x)), "Sum(v0)")
  expect_identical(format(max(x)), "Max(v0)")
  expect_identical(format(argmin(x)), "ArgMin(v0)")
  # dimensions are tracked
  expect_identical(concat(x, sqnorm2(y))$dim, 4L)
  expect_identical(tensorprod(x, y)$dim, 9L)
  expect_identical(matvecmult(tensorprod(x, y), y)$dim, 3L)
  expect_identical(vecmatmult(x, concat(tensorprod(x, y), tensorprod(x, y)))$dim, 6L)
  expect_identical(one_hot(elem(x, 0), 5)$dim, 5L)
  # the same variable used twice is one argument
  expect_identical(length((x - y + x)$vars), 2L)
})

test_that("print shows the formula, the variables with their data, and the shape", {
  x_i <- Vi(X)
  K <- exp(-sqnorm2(x_i - Vj(Y)) / 0.5)
  out <- capture.output(print(K))
  expect_identical(out[1], "LazyTensor: symbolic 10 x 15 matrix of dimension 1")
  expect_identical(out[2], "  formula:   Exp(((-SqNorm2((v0 - v1))) / v2))")
  expect_match(out[4], "v0 = Vi(3)     10 x 3 (10 points of dimension 3)  from 'X'", fixed = TRUE)
  expect_match(out[5], "v1 = Vj(3)     15 x 3", fixed = TRUE)
  expect_match(out[6], "v2 = Pm(1)     vector of length 1", fixed = TRUE)
  expect_identical(capture.output(print(Pm(c(1, 2))))[1], "LazyTensor: symbolic parameter of dimension 2")
  expect_identical(capture.output(print(Vj(Y)))[1],
                   "LazyTensor: symbolic vector indexed by j (15 points) of dimension 3")
})

test_that("wrong constructor inputs say what is expected", {
  e <- catch_err(LazyTensor(X))
  expect_s3_class(e, "rkeops_lazytensor_error")
  expect_match(conditionMessage(e), "'index' is missing: a matrix becomes a LazyTensor indexed by \"i\" or \"j\"",
               fixed = TRUE)
  expect_error(LazyTensor(X, "k"), "'index' must be \"i\" or \"j\", not \"k\"", fixed = TRUE,
               class = "rkeops_lazytensor_error")
  expect_error(Pm(matrix(1, 2, 2)), "a parameter is a vector, not a 2 x 2 matrix", fixed = TRUE)
  expect_error(Vi("a"), "must be a numeric matrix or vector", class = "rkeops_input_error")
  expect_error(Vi(Vi(X)), "Vi(): 'x' is already a LazyTensor", fixed = TRUE)
  expect_error(LazyTensor(1i, is_complex = TRUE), "complex LazyTensors (is_complex = TRUE) are not supported",
               fixed = TRUE)
  expect_error(Vi(X) + X, "turn a matrix into a LazyTensor with Vi() or Vj() first", fixed = TRUE)
  expect_error(Vi(X) & Vj(Y), "'&' has no meaning for LazyTensors", fixed = TRUE)
  expect_error(!Vi(X), "'!' has no meaning for a LazyTensor", fixed = TRUE)
  expect_error(gamma(Vi(X)), "gamma() is not available for LazyTensors", fixed = TRUE)
})

test_that("mismatched dimensions are errors where the expression is built", {
  x3 <- Vi(X)
  y2 <- Vj(Y[, 1:2])
  e <- catch_err(x3 - y2)
  expect_s3_class(e, "rkeops_dimension_error")
  expect_identical(conditionMessage(e),
                   "'-' needs operands of the same dimension, or of dimension 1; got dimensions 3 and 2")
  expect_error(exp(x3) * y2, "'*' needs operands of the same dimension, or of dimension 1; got dimensions 3 and 2",
               fixed = TRUE, class = "rkeops_dimension_error")
  expect_error((x3 | y2), "the scalar product (x | y) needs two vectors of the same dimension, got 3 and 2",
               fixed = TRUE, class = "rkeops_dimension_error")
  expect_error(sqdist(x3, y2), "sqdist() needs operands of the same dimension", fixed = TRUE)
  expect_error(clamp(x3, y2, 1), "clamp() needs operands of the same dimension, or of dimension 1; got dimensions 3 and 2 and 1",
               fixed = TRUE)
  expect_error(elem(x3, 3), "'m' must be a whole number in 0..2, got 3", fixed = TRUE)
  expect_error(extract(x3, 1, 3), "'d' must be a whole number in 1..2, got 3", fixed = TRUE)
  expect_error(elemT(x3, 0, 4), "elemT(): 'x' must have dimension 1, got 3", fixed = TRUE)
  expect_error(one_hot(x3, 4), "one_hot(): 'x' must have dimension 1, got 3", fixed = TRUE)
  expect_error(matvecmult(x3, y2), "matvecmult(): the matrix (dimension 3) must be a multiple of the vector's dimension 2",
               fixed = TRUE)
  expect_error(vecmatmult(y2, x3), "vecmatmult(): the matrix (dimension 3) must be a multiple", fixed = TRUE)
  expect_error(weightedsqnorm(x3, Pm(c(1, 2))),
               "weightedsqnorm(): the weights must have dimension 1, 3 or 9 (for vectors of dimension 3), got 2",
               fixed = TRUE)
  expect_error(clampint(x3, 0.5, 1), "'a' must be a whole number, got 0.5", fixed = TRUE)
  expect_error(round(x3, -1), "'digits' must be a whole number >= 0, got -1", fixed = TRUE)
  expect_error(logsumexp(x3 - Vj(Y), "j"), "the LogSumExp reduction needs an expression of dimension 1, got 3",
               fixed = TRUE, class = "rkeops_dimension_error")
})

test_that("mixing index kinds wrongly is an error that says how", {
  x_i <- Vi(X)
  z_i <- Vi(rand_mat(12, 3, seed = 103))
  expect_error(x_i - z_i, paste("cannot combine LazyTensors whose i-indexed variables have different numbers of",
                                "points (10 and 12): every Vi(x) of an expression must have the same number of rows"),
               fixed = TRUE, class = "rkeops_lazytensor_error")
  expect_error(Vj(Y) * Vj(1:4), "j-indexed variables have different numbers of points (15 and 4)", fixed = TRUE)
  K <- exp(-sqdist(x_i, Vj(Y)))
  expect_error(K %*% x_i, "'v' must be indexed by j (or a parameter), but it has an i-indexed variable",
               fixed = TRUE)
  expect_error(K %*% matrix(1, 14, 1), "j-indexed variables have different numbers of points (15 and 14)", fixed = TRUE)
  expect_error(X %*% K, "a matrix %*% LazyTensor product is not available", fixed = TRUE)
  expect_error(sum(K, index = "k"), "'index' must be \"i\" or \"j\", not \"k\"", fixed = TRUE)
  expect_error(argKmin(K, 3), "the ArgKMin reduction needs 'index'", fixed = TRUE)
  expect_error(argKmin(K, 0, "j"), "'K' must be a whole number >= 1, got 0", fixed = TRUE)
  expect_error(reduction(K, "Median", "j"), "unknown reduction 'Median'; known reductions: Sum, Min", fixed = TRUE)
  expect_error(reduction(X, "Sum", "j"), "reduction() needs a LazyTensor, not matrix", fixed = TRUE)
  expect_error(sum(K, K, index = "j"), "sum() of LazyTensors takes one LazyTensor (and 'index'), got 2 arguments",
               fixed = TRUE)
})

test_that("reducing an expression of parameters only is an error", {
  e <- catch_err(sum(Pm(c(1, 2)) * 3, index = "j"))
  expect_s3_class(e, "rkeops_lazytensor_error")
  expect_identical(strsplit(conditionMessage(e), "\n")[[1]],
                   c("cannot reduce over j an expression without any i- or j-indexed variable",
                     "  the expression is made of parameters and constants only: (v0 * v1)",
                     "  build it from Vi(x) / Vj(y) (points as rows), or compute it in plain R"))
  expect_error(Kmin(exp(Pm(2)), 2, "i"), "cannot reduce over i an expression without any i- or j-indexed variable",
               fixed = TRUE)
  expect_error(grad(Pm(2) * 3, Pm(2), "j"), "grad(): 'var' does not appear in the expression 'x'", fixed = TRUE)
  p <- Pm(2)
  expect_error(grad(p * 3, p, "j"), "grad(): the expression has no i- or j-indexed variable", fixed = TRUE)
})

test_that("base R functions are unchanged on ordinary objects", {
  m <- matrix(c(1.5, -2, 3, 0.25), 2)
  df <- data.frame(a = c(1, 2), b = c(3, 4))
  expect_identical(exp(2), base::exp(2))
  expect_identical(log(10), base::log(10))
  expect_identical(log(8, base = 2), base::log(8, base = 2))
  expect_identical(sqrt(1:4), base::sqrt(1:4))
  expect_identical(abs(-3:3), base::abs(-3:3))
  expect_identical(round(2.567, 2), base::round(2.567, 2))
  expect_identical(floor(m), base::floor(m))
  expect_identical(exp(m), base::exp(m))
  expect_identical(sum(1:3), base::sum(1:3))
  expect_identical(sum(1:3, 4.5, NA, na.rm = TRUE), base::sum(1:3, 4.5, NA, na.rm = TRUE))
  expect_identical(max(c(1, 5)), base::max(c(1, 5)))
  expect_identical(min(c(3, 1), 2), base::min(c(3, 1), 2))
  expect_identical(sum(m), base::sum(m))
  expect_identical(df + 1, base::`+`(df, 1))
  expect_identical(df * df, base::`*`(df, df))
  expect_identical(df == 2, base::`==`(df, 2))
  expect_identical(-df, base::`-`(df))
  expect_identical(c(TRUE, FALSE) | c(FALSE, FALSE), base::`|`(c(TRUE, FALSE), c(FALSE, FALSE)))
  expect_identical(2^10, base::`^`(2, 10))
  expect_identical(ifelse(c(TRUE, FALSE), 1, 2), base::ifelse(c(TRUE, FALSE), 1, 2))
  expect_identical(ifelse(c(a = TRUE, b = NA), "y", "n"), base::ifelse(c(a = TRUE, b = NA), "y", "n"))
  expect_identical(ifelse(TRUE, 1, stop("not evaluated")), 1)  # arguments stay lazy, as in base R
  expect_identical(atan2(1, 2), base::atan2(1, 2))
  expect_identical(atan2(c(1, -1), c(-2, 2)), base::atan2(c(1, -1), c(-2, 2)))
  expect_identical(m %*% m, base::`%*%`(m, m))
  expect_identical(1:3 %*% 1:3, base::`%*%`(1:3, 1:3))
  expect_identical(m %*% c(1, 2), base::`%*%`(m, c(1, 2)))
  expect_error(m %*% 1:3, "non-conformable arguments")
  fit <- stats::lm(mpg ~ wt + qsec + drat, data = datasets::mtcars)
  expect_identical(step(fit, trace = 0), stats::step(fit, trace = 0))
})
