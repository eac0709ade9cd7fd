# Few output rows and a long reduction: the reduced side is split across
# threads and the partial results merged. Every reduction must give what a
# single thread gives (exactly for min/max/arg types, ties included).

split_reductions <- c(
  "Sum_Reduction(x * y, 0)", "Min_Reduction(Abs(x - y), 0)", "Max_Reduction(Abs(x - y), 0)",
  "ArgMin_Reduction(Abs(x - y), 0)", "ArgMax_Reduction(Abs(x - y), 0)",
  "Min_ArgMin_Reduction(Abs(x - y), 0)", "Max_ArgMax_Reduction(Abs(x - y), 0)",
  "KMin_Reduction(Abs(x - y), 3, 0)", "ArgKMin_Reduction(Abs(x - y), 3, 0)",
  "KMin_ArgKMin_Reduction(Abs(x - y), 3, 0)", "LogSumExp_Reduction(-Abs(x - y), 0)",
  "Max_SumShiftExp_Reduction(-Abs(x - y), 0)", "SumSoftMaxWeight_Reduction(-Abs(x - y), y, 0)",
  "LogSumExpWeight_Reduction(-Abs(x - y), 1 + y, 0)"
)

test_that("splitting the reduced side across threads merges every reduction exactly", {
  local_clean_options()
  set_rkeops_options(precision = "float64")
  # 3 output rows, 20011 reduced rows (several 4096-row tiles per thread);
  # integer data so that ties happen, also across the split point.
  set.seed(3)
  x <- matrix(c(2, 5, 9), 3)
  y <- matrix(sample(0:12, 20011, replace = TRUE), ncol = 1)
  for (f in split_reductions) {
    op <- keops_kernel(f, c("x = Vi(1)", "y = Vj(1)"))
    use_cpu(1)
    one <- op(list(x, y))
    use_cpu(2)
    two <- op(list(x, y))
    if (grepl("^(Sum|LogSumExp|Max_SumShiftExp|SumSoftMax|LogSumExpWeight)", f)) {
      expect_lt(max(abs(two - one) / pmax(1, abs(one))), 1e-12, label = f)
    } else {
      expect_identical(two, one, label = f)
    }
  }
  # and against brute force for the index reductions
  d <- abs(outer(as.vector(x), as.vector(y), "-"))
  op <- keops_kernel("ArgKMin_Reduction(Abs(x - y), 3, 0)", c("x = Vi(1)", "y = Vj(1)"))
  expect_equal(op(list(x, y)), t(apply(d, 1, function(r) order(r)[1:3] - 1)))
})
