# Subnormal numbers are flushed to zero while an operator runs
# (inst/include/rkeops/fpenv.h): values, NaN/Inf, and the restored floating-
# point environment of R's own thread. Speed is not asserted here (see
# bench/bench.R, bandwidth sweep); these assertions fail if the flags are
# not set in every computing thread or not restored.

gauss_formula <- "Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)"
gauss_args <- c("x = Vi(1)", "y = Vj(1)", "b = Vj(1)", "s = Pm(1)")

# The smallest normal number of each precision.
tiny_normal <- c(float32 = 2^-126, float64 = 2^-1022)

for (backend in c("CPU", "GPU_EMULATION")) {
  for (precision in c("float32", "float64")) {
    test_that(sprintf("subnormal terms count as 0 (%s, %s)", precision, backend), {
      local_clean_options()
      set_rkeops_options(precision = precision, backend = backend, threads = 2)
      op <- keops_kernel(gauss_formula, gauss_args)
      # exp(-d2) with d2 chosen so that the terms are subnormal in this
      # precision (and normal in float64 for the float32 case).
      d2 <- if (precision == "float32") c(90, 95, 100) else c(710, 720, 730)
      stopifnot(all(exp(-d2) < tiny_normal[[precision]]), all(exp(-d2) > 0))
      N <- 3000  # several SIMD vectors, tiles and both threads
      y <- sqrt(rep(d2, length.out = N))
      x <- matrix(0, 64, 1)
      b <- matrix(1, N, 1)
      res <- op(list(x, matrix(y), b, 1))
      # Only subnormal terms: exactly 0, in every row (every thread).
      expect_identical(as.vector(res), rep(0, 64))
      # One normal term among them: the sum is that term.
      y2 <- y
      y2[1777] <- 0.5
      res2 <- op(list(x, matrix(y2), b, 1))
      expect_equal(as.vector(res2), rep(exp(-0.25), 64), tolerance = 1e-6)
      # Subnormal inputs are read as 0: a subnormal weight gives 0.
      sub <- tiny_normal[[precision]] / 8
      res3 <- op(list(x, matrix(0, N, 1), matrix(sub, N, 1), 1))
      expect_identical(as.vector(res3), rep(0, 64))
      # NaN and Inf still propagate.
      b4 <- b
      b4[5] <- NaN
      b4[6] <- Inf
      y4 <- y
      y4[6] <- 0
      res4 <- op(list(x, matrix(y4), b4, 1))
      expect_true(all(is.nan(res4)))
      b4[5] <- 1
      res5 <- op(list(x, matrix(y4), b4, 1))
      expect_identical(as.vector(res5), rep(Inf, 64))
    })
  }
}

test_that("R's own arithmetic keeps subnormals after an operator ran", {
  local_clean_options()
  set_rkeops_options(precision = "float64", threads = 2)
  op <- keops_kernel(gauss_formula, gauss_args)
  res <- op(list(matrix(0, 100, 1), matrix(sqrt(720), 5000, 1), matrix(1, 5000, 1), 1))
  expect_identical(as.vector(res), rep(0, 100))
  # In the R thread, after the call: IEEE gradual underflow is back.
  half_min <- .Machine$double.xmin / 2
  expect_gt(half_min, 0)
  expect_identical(half_min * 2, .Machine$double.xmin)
  expect_gt(2^-1074, 0)
  expect_identical(exp(-720) * 1, exp(-720))
  expect_gt(exp(-720), 0)
})
