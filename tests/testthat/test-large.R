# Large problems: more than 2^31 pairs (64-bit indexing), and a long float32
# sum that must stay accurate (blockwise accumulation).

test_that("M * N > 2^31 pairs in float64: Sum_Reduction(x * y, 0)", {
  op <- get_op("Sum_Reduction(x * y, 0)", c("x = Vi(1)", "y = Vj(1)"))
  M <- 50000
  N <- 50000
  expect_gt(M * N, 2^31)
  set.seed(601)
  x <- stats::runif(M, 0.5, 1.5)
  y <- stats::runif(N, 0.5, 1.5)
  res <- op(list(x, y), precision = "float64")
  expect_equal(dim(res), c(50000L, 1L))
  expect_close(res, matrix(x * sum(y), ncol = 1), 1e-10)
  # every row, including the last ones (indices beyond 2^31 / N), is right
  expect_lt(max(abs(res[(M - 9):M] / (x[(M - 9):M] * sum(y)) - 1)), 1e-10)
})

test_that("a float32 sum of 10^6 terms 0.1 with no Vi (M = 1) stays accurate", {
  op <- get_op("Sum_Reduction(b, 0)", c("b = Vj(1)"))
  b <- rep(0.1, 1e6)
  res <- op(list(b), precision = "float32")
  expect_equal(dim(res), c(1L, 1L))
  expect_lt(abs(res[1, 1] - 1e5) / 1e5, 1e-5)
  # a naive float32 running sum would be off by about 1e-2 relative: the
  # test above is far tighter than that
  res64 <- op(list(b), precision = "float64")
  expect_lt(abs(res64[1, 1] - 1e5) / 1e5, 1e-12)
})

test_that("the reduced side may have more than 2^31 points (a long vector, 64-bit indexing)", {
  skip_if(Sys.getenv("RKEOPS_TEST_HUGE") != "true",
          "needs 17 GB of memory and a minute: set RKEOPS_TEST_HUGE=true to run it")
  local_clean_options()
  set_rkeops_options(precision = "float64")
  n <- 2^31 + 5
  y <- rep(c(1, 2, 3), length.out = n)  # a long double vector: 17 GB
  op <- get_op("Sum_Reduction(x * y, 0)", c("x = Vi(1)", "y = Vj(1)"))
  res <- op(list(c(1, -2), y))
  total <- sum(y)
  rm(y)
  expect_equal(as.vector(res), c(total, -2 * total), tolerance = 1e-12)
})
