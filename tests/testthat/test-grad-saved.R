# The K1 forms with a saved forward result (spec 5.6): GradFromPos_WithSavedForward
# declares the gradient input at p and the forward result at p + 1;
# Diff_WithSavedForward ignores the forward result for a Sum reduction.

test_that("GradFromPos_WithSavedForward gives the LogSumExp gradient of E28", {
  local_clean_options()
  set_rkeops_options(precision = "float64")
  op <- keops_kernel("GradFromPos_WithSavedForward(Max_SumShiftExp_Reduction(x * y, 0), x, 2)",
                     c("x = Vi(0,1)", "y = Vj(1,1)"))
  x <- matrix(c(0, 1, 2))
  y <- matrix(c(1, 0, 1, 3))
  g <- cbind(1, c(0.25, 0.7573132023, 0.9623619936))
  r <- cbind(c(0, 3, 6), c(4, 1.320457635, 1.03911003))
  expect_equal(as.vector(op(list(x, y, g, r))), c(1.25, 2.476922001, 2.92233853), tolerance = 1e-8)
  expect_equal(nrow(op()$args_info), 4)
})

test_that("Diff_WithSavedForward of a Sum reduction is its directional derivative", {
  local_clean_options()
  set_rkeops_options(precision = "float64")
  op <- keops_kernel("Diff_WithSavedForward(Sum_Reduction(Exp(x * y), 0), x, u, r)",
                     c("x = Vi(0,1)", "y = Vj(1,1)", "u = Vi(2,1)", "r = Vi(3,1)"))
  x <- matrix(c(0.1, 0.5, -0.3))
  y <- matrix(c(1, 0.2, -0.7, 0.4))
  u <- matrix(c(1, -2, 0.5))
  want <- sapply(1:3, function(i) sum(y * exp(x[i] * y)) * u[i])
  expect_equal(as.vector(op(list(x, y, u, matrix(0, 3, 1)))), want, tolerance = 1e-12)
})
