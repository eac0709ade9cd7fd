# Robustness at call time: the kinds of input R users actually pass (data
# frames, integer and logical matrices, plain vectors), special values (NA,
# NaN, Inf) and empty sides, and sizes that cannot fit (a clear error before
# anything is allocated). test-errors.R covers the messages of wrong inputs.

# ---- accepted inputs -----------------------------------------------------------

# An operator keeps the precision it was made with: fetched at each call so
# that it follows the precision the test sets.
rob_sq <- function(input) get_op("Sum_Reduction(SqNorm2(x - y) * b, 0)", c("x = Vi(2)", "y = Vj(2)", "b = Vj(1)"))(input)
rob_sq_ref <- function(x, y, b) ref_sqdist(as.matrix(x), as.matrix(y)) %*% as.matrix(b)

test_that("a data frame with numeric (or logical) columns is accepted as a matrix", {
  local_clean_options()
  set_rkeops_options(precision = "float64")
  x <- rand_mat(7, 2, 901)
  y <- rand_mat(5, 2, 902)
  b <- rand_mat(5, 1, 903)
  ref <- rob_sq_ref(x, y, b)
  dfx <- data.frame(u = x[, 1], v = x[, 2])
  expect_close(rob_sq(list(dfx, y, b)), ref, TOL64)
  # integer and logical columns are converted too
  yi <- matrix(c(1L, 0L, 2L, 3L, 1L, 0L, 1L, 1L, 2L, 0L), 5)
  dfy <- data.frame(a = yi[, 1], b = as.logical(yi[, 2] > 0))
  expect_close(rob_sq(list(x, dfy, b)), rob_sq_ref(x, cbind(yi[, 1], yi[, 2] > 0), b), TOL64)
  # a data frame must still have the declared number of columns
  expect_error(rob_sq(list(data.frame(u = x[, 1]), y, b)), class = "rkeops_input_error",
               regexp = "input 1 ('x' = Vi(2)) must have 2 columns (its declared dimension), got 1",
               fixed = TRUE)
})

test_that("integer and logical matrices are converted to numbers, values kept", {
  local_clean_options()
  set_rkeops_options(precision = "float64")
  xi <- matrix(c(-3L, 0L, 4L, 2L, 1L, -1L), 3)
  yl <- matrix(c(TRUE, FALSE, TRUE, TRUE), 2)
  bi <- c(2L, -5L)
  res <- rob_sq(list(xi, yl, bi))
  expect_type(res, "double")
  # exact: small integers, float64
  expect_identical(res, rob_sq_ref(xi * 1, yl * 1, matrix(bi * 1, ncol = 1)))
  expect_identical(as.vector(res), c(2 * 17 - 5 * 10, 2 * 1 - 5 * 0, 2 * 13 - 5 * 20))
  # integer NA becomes NA in the result of its row only
  xi[2, 1] <- NA_integer_
  res <- rob_sq(list(xi, yl, bi))
  expect_identical(is.na(res[, 1]), c(FALSE, TRUE, FALSE))
  expect_identical(res[c(1, 3), 1], c(2 * 17 - 5 * 10, 2 * 13 - 5 * 20))
})

test_that("plain vectors: for a dimension-1 Vi/Vj (one point per value) and for a Pm", {
  local_clean_options()
  set_rkeops_options(precision = "float64")
  op <- get_op("Sum_Reduction(Exp(-p * Square(u - v)) * w, 0)",
               c("u = Vi(1)", "v = Vj(1)", "w = Vj(1)", "p = Pm(1)"))
  u <- c(0, 0.5, 2)
  v <- c(0, 1, 1.5, 3)
  w <- c(1, -1, 2, 0.5)
  ref <- matrix(exp(-0.7 * outer(u, v, "-")^2) %*% w, ncol = 1)
  expect_close(op(list(u, v, w, 0.7)), ref, TOL64)
  # same as one-column matrices; with inner_dim = "row" a vector is one row of points
  expect_identical(op(list(u, v, w, 0.7)), op(list(matrix(u), matrix(v), matrix(w), matrix(0.7))))
  expect_close(op(list(u, v, w, 0.7), inner_dim = "row"), t(ref), TOL64)
  # an integer vector and a logical parameter
  expect_close(op(list(0:2, v, w, TRUE)), matrix(exp(-outer(0:2, v, "-")^2) %*% w, ncol = 1), TOL64)
  # a vector parameter: a vector, or a 1 x 3 / 3 x 1 matrix
  opq <- get_op("Sum_Reduction(x * q, 0)", c("x = Vi(3)", "q = Pm(3)"))
  x <- rand_mat(4, 3, 904)
  ref <- sweep(x, 2, c(1, 2, 3), "*")
  expect_close(opq(list(x, c(1, 2, 3))), ref, TOL64)
  expect_close(opq(list(x, matrix(1:3, 1))), ref, TOL64)
  expect_close(opq(list(x, matrix(1:3, 3))), ref, TOL64)
})

test_that("a scalar where a vector parameter is declared is an error naming it", {
  opq <- get_op("Sum_Reduction(x * q, 0)", c("x = Vi(3)", "q = Pm(3)"))
  x <- rand_mat(4, 3, 905)
  expect_error(opq(list(x, 2)), class = "rkeops_input_error",
               regexp = "input 2 ('q' = Pm(3)) must have 3 values, got 1", fixed = TRUE)
  expect_error(opq(list(q = 2, x = x)), class = "rkeops_input_error",
               regexp = "input 2 ('q' = Pm(3)) must have 3 values, got 1", fixed = TRUE)
  # a dimension-3 Vi given a plain vector is refused too (it is not one point)
  expect_error(opq(list(c(1, 2, 3), 1:3)), class = "rkeops_input_error",
               regexp = "input 1 ('x' = Vi(3)) must be a matrix with 3 columns, got a vector of length 3",
               fixed = TRUE)
})

# ---- special values ---------------------------------------------------------------

rob_xy <- get_op("Sum_Reduction(x * y, 0)", c("x = Vi(1)", "y = Vj(1)"))
rob_xy_t <- get_op("Sum_Reduction(x * y, 1)", c("x = Vi(1)", "y = Vj(1)"))

test_that("NaN and NA in a Sum reach exactly the rows whose reduction meets them", {
  local_clean_options()
  for (precision in c("float32", "float64")) {
    set_rkeops_options(precision = precision)
    x <- c(1, 2, NaN, 4, NA)
    y <- c(0.5, 1, 2)
    res <- rob_xy(list(x, y))
    # an i-value: only its own row
    expect_identical(is.na(res[, 1]), c(FALSE, FALSE, TRUE, FALSE, TRUE), label = precision)
    expect_true(is.nan(res[3, 1]))
    expect_equal(res[c(1, 2, 4), 1], c(1, 2, 4) * 3.5, tolerance = 1e-6)
    # a j-value of a Sum over j: every row
    res <- rob_xy(list(c(1, 2, 4), c(0.5, NaN, 2)))
    expect_true(all(is.nan(res)), label = precision)
    res <- rob_xy(list(c(1, 2, 4), c(0.5, NA, 2)))
    expect_true(all(is.na(res)), label = precision)
    # Sum over i (axis 1): an i-value reaches every output row j, a j-value its own
    res <- rob_xy_t(list(c(1, NaN), c(1, 2, 3)))
    expect_true(all(is.nan(res)))
    res <- rob_xy_t(list(c(1, 2), c(1, NaN, 3)))
    expect_identical(is.nan(res[, 1]), c(FALSE, TRUE, FALSE))
    expect_equal(res[c(1, 3), 1], c(3, 9), tolerance = 1e-6)
  }
})

test_that("Min, Max and their indices ignore NaN terms (spec 4.2)", {
  local_clean_options()
  set_rkeops_options(precision = "float64")
  mn <- get_op("Min_ArgMin_Reduction(Abs(x - y), 0)", c("x = Vi(1)", "y = Vj(1)"))
  mx <- get_op("Max_ArgMax_Reduction(Abs(x - y), 0)", c("x = Vi(1)", "y = Vj(1)"))
  x <- c(0, 10, NaN)
  y <- c(NaN, 3, 1, NaN, 9)
  # row 1: |0 - y| = NaN 3 1 NaN 9 -> min 1 at j = 2, max 9 at j = 4 (0-based)
  # row 2: |10 - y| = NaN 7 9 NaN 1 -> min 1 at 4, max 9 at 2
  # row 3: every term NaN -> the empty-range state (Inf / -Inf, index 0)
  expect_identical(mn(list(x, y)), matrix(c(1, 1, Inf, 2, 4, 0), 3))
  expect_identical(mx(list(x, y)), matrix(c(9, 9, -Inf, 4, 2, 0), 3))
  # the same with the reduced side split across threads (few rows, long side)
  local({
    use_cpu(2)
    yy <- c(NaN, rep(c(3, NaN, 1, 9), 10000))
    expect_identical(mn(list(x[1:2], yy)), matrix(c(1, 1, 3, 4), 2))
    expect_identical(mx(list(x[1:2], yy)), matrix(c(9, 9, 4, 3), 2))
  })
})

test_that("infinite values follow IEEE: a point at Inf adds exp(-Inf) = 0 to a Gaussian sum", {
  local_clean_options()
  d <- seed_data(M = 6, N = 9)
  for (precision in c("float32", "float64")) {
    set_rkeops_options(precision = precision)
    gauss <- get_op("Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)",
                    c("x = Vi(3)", "y = Vj(3)", "b = Vj(6)", "s = Pm(1)"))
    ref <- ref_gauss_conv(d$x, d$y, d$b, d$s)
    y <- rbind(d$y, c(Inf, 0, 0), c(0, -Inf, 1))
    b <- rbind(d$b, matrix(1, 2, 6))
    expect_close(gauss(list(d$x, y, b, d$s)), ref, tol_for(precision))
    # a point of x at infinity: its row is 0, the others unchanged
    x <- d$x
    x[4, 2] <- -Inf
    res <- gauss(list(x, d$y, d$b, d$s))
    expect_identical(res[4, ], rep(0, 6))
    expect_close(res[-4, ], ref[-4, ], tol_for(precision))
  }
})

test_that("an empty reduced side gives the spec 4.5 values; no output row gives 0 rows", {
  local_clean_options()
  set_rkeops_options(precision = "float64")
  x <- c(1, 2, 3)
  y0 <- matrix(numeric(0), 0, 1)
  expect_identical(rob_xy(list(x, y0)), matrix(0, 3, 1))
  mn <- get_op("Min_ArgMin_Reduction(Abs(x - y), 0)", c("x = Vi(1)", "y = Vj(1)"))
  mx <- get_op("Max_ArgMax_Reduction(Abs(x - y), 0)", c("x = Vi(1)", "y = Vj(1)"))
  am <- get_op("ArgMin_Reduction(Abs(x - y), 0)", c("x = Vi(1)", "y = Vj(1)"))
  lse <- get_op("LogSumExp_Reduction(-Abs(x - y), 0)", c("x = Vi(1)", "y = Vj(1)"))
  expect_identical(mn(list(x, y0)), matrix(c(Inf, Inf, Inf, 0, 0, 0), 3))
  expect_identical(mx(list(x, y0)), matrix(c(-Inf, -Inf, -Inf, 0, 0, 0), 3))
  expect_identical(am(list(x, numeric(0))), matrix(0, 3, 1))
  expect_identical(lse(list(x, y0)), matrix(-Inf, 3, 1))
  # Sum over i with M = 0: N rows of zeros
  expect_identical(rob_xy_t(list(numeric(0), c(1, 2))), matrix(0, 2, 1))
  # M = 0 for a reduction over j: a 0-row result with the right columns
  res <- mn(list(numeric(0), c(1, 2)))
  expect_identical(dim(res), c(0L, 2L))
  expect_identical(typeof(res), "double")
  gauss <- get_op("Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)",
                  c("x = Vi(3)", "y = Vj(3)", "b = Vj(6)", "s = Pm(1)"))
  d <- seed_data(M = 2, N = 4)
  expect_identical(dim(gauss(list(matrix(0, 0, 3), d$y, d$b, 0.5))), c(0L, 6L))
  expect_identical(dim(gauss(list(matrix(0, 3, 0), t(d$y), t(d$b), 0.5), inner_dim = "row")), c(6L, 0L))
  # both empty
  expect_identical(dim(rob_xy(list(numeric(0), numeric(0)))), c(0L, 1L))
})

# ---- sizes ----------------------------------------------------------------------

test_that("a result too large for memory is refused before anything is allocated", {
  skip_if(is.na(available_memory()), "no /proc/meminfo")
  local_clean_options()
  set_rkeops_options(precision = "float64")
  op <- get_op("Sum_Reduction(SumT(x, 1000), 0)", "x = Vi(1)")
  expect_identical(op(list(1:2)), matrix(rep(c(1, 2), 1000), 2))
  # twice the memory this machine has (RAM + swap), in rows of 1000 columns
  M <- ceiling(2 * available_memory() / 8000)
  skip_if(M > 5e7, "a machine with more than 400 GB of memory")
  x <- numeric(M)
  gb <- 8 * M * 1000 / 1e9
  t0 <- proc.time()[["elapsed"]]
  e <- catch_err(op(list(x)))
  expect_s3_class(e, c("rkeops_memory_error", "rkeops_error"), exact = FALSE)
  expect_match(conditionMessage(e), sprintf("the result is a %.0f x 1000 matrix of %s", M,
                                            sprintf("%.3g GB", gb)), fixed = TRUE)
  expect_match(conditionMessage(e), "GB of memory available", fixed = TRUE)
  expect_gt(e$bytes, e$available)
  expect_lt(proc.time()[["elapsed"]] - t0, 2)  # refused, not attempted
  # counted with the transposed copy when inner_dim = "row"
  e <- catch_err(op(list(matrix(x, 1)), inner_dim = "row"))
  expect_match(conditionMessage(e), "in all with its transpose", fixed = TRUE)
  # R still works, and so does the operator
  expect_identical(op(list(3)), matrix(3, 1, 1000))
})

test_that("the memory available counts a cgroup limit (containers, Slurm jobs)", {
  root <- tempfile("cgroup-")
  on.exit(unlink(root, recursive = TRUE), add = TRUE)
  proc <- file.path(root, "proc-cgroup")
  # cgroup v2: memory.max - memory.current
  dir.create(file.path(root, "job", "step"), recursive = TRUE)
  writeLines("0::/job/step", proc)
  writeLines("4294967296", file.path(root, "job", "step", "memory.max"))
  writeLines("1073741824", file.path(root, "job", "step", "memory.current"))
  expect_identical(cgroup_memory_left(proc, root), 3 * 2^30)
  writeLines("max", file.path(root, "job", "step", "memory.max"))
  expect_identical(cgroup_memory_left(proc, root), NA_real_)
  # cgroup v1: memory.limit_in_bytes - memory.usage_in_bytes, "no limit" is huge
  dir.create(file.path(root, "memory", "slurm", "job_1"), recursive = TRUE)
  writeLines(c("5:cpuacct,cpu:/slurm/job_1", "4:memory:/slurm/job_1", "1:name=systemd:/"), proc)
  writeLines("2147483648", file.path(root, "memory", "slurm", "job_1", "memory.limit_in_bytes"))
  writeLines("536870912", file.path(root, "memory", "slurm", "job_1", "memory.usage_in_bytes"))
  expect_identical(cgroup_memory_left(proc, root), 1.5 * 2^30)
  writeLines("9223372036854771712", file.path(root, "memory", "slurm", "job_1", "memory.limit_in_bytes"))
  expect_identical(cgroup_memory_left(proc, root), NA_real_)
  expect_identical(cgroup_memory_left(file.path(root, "none"), root), NA_real_)
})

test_that("more than 2^31 - 1 points or result rows is an input error, not a crash", {
  # a long vector (ALTREP: nothing is allocated) for a dimension-1 Vi
  op <- get_op("Sum_Reduction(x * y, 0)", c("x = Vi(1)", "y = Vj(1)"))
  expect_error(op(list(seq_len(3e9), 1)), class = "rkeops_input_error",
               regexp = "input 1 ('x' = Vi(1)) has 3000000000 values: more points than an R matrix can hold",
               fixed = TRUE)
  # the result-size check itself (a result with 3e9 rows cannot come from R
  # matrices, but the check guards the engine's int conversions)
  expect_error(check_call_memory(3e9, 1, list(), integer(), integer(), FALSE, "float64"),
               class = "rkeops_input_error",
               regexp = "the result would have 3000000000 rows, more than an R matrix can hold (2^31 - 1)",
               fixed = TRUE)
  expect_identical(op(list(c(1, 2), c(3, 4))), matrix(c(7, 14), 2))
})

test_that("an allocation R refuses becomes rkeops_memory_error naming the size", {
  skip_on_os(c("windows", "mac"))
  skip_if_not_installed("callr")
  skip_if(Sys.which("sh") == "", "no sh")
  local_clean_options()
  set_rkeops_options(precision = "float64")
  op <- get_op("Sum_Reduction(SumT(x, 1000), 0)", "x = Vi(1)")  # compiled in this cache
  script <- tempfile(fileext = ".R")
  on.exit(unlink(script), add = TRUE)
  writeLines(c(
    "library(rkeops)",
    "cat('started\\n')",
    sprintf("set_rkeops_options(cache_dir = '%s', precision = 'float64')", get_rkeops_cache_dir()),
    "op <- keops_kernel('Sum_Reduction(SumT(x, 1000), 0)', 'x = Vi(1)')",
    "e <- tryCatch(op(list(numeric(4e5))), error = function(e) e)",  # 3.2 GB result
    "cat(class(e)[1], conditionMessage(e), sep = '\\n')",
    "cat('after:', sum(op(list(c(1, 2)))), '\\n')"), script)
  # 2.5 GB of address space: enough for R, not for the result; /proc/meminfo
  # still shows the machine's memory, so R's own allocation is what fails
  out <- system2("sh", c("-c", shQuote(sprintf("ulimit -v 2500000 && R_LIBS=%s '%s' --vanilla '%s'",
                                                paste(.libPaths(), collapse = ":"),
                                                file.path(R.home("bin"), "Rscript"), script))),
                 stdout = TRUE, stderr = TRUE)
  out <- paste(out, collapse = "\n")
  skip_if(!grepl("started", out, fixed = TRUE), "R does not start under the address-space limit")
  expect_match(out, "rkeops_memory_error\nnot enough memory for the result, a 400000 x 1000 matrix of 3.2 GB",
               fixed = TRUE)
  expect_match(out, "after: 3000", fixed = TRUE)
})
