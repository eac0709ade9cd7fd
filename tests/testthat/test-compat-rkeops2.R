# RKeOps 2.x compatibility (issue 13, scope 2): set_rkeops_options(list(...))
# and its reset, the 2.x option names, the 2.x helpers, sum_scheme = "auto",
# op(NULL), keops_grad(operator = , var = ).

test_that("set_rkeops_options() takes a list, as in 2.x, and 2.x option names", {
  local_clean_options()
  old <- set_rkeops_options(list(precision = "float64", verbosity = 1, device_id = 2))
  expect_setequal(names(old), c("precision", "verbose", "device"))
  expect_identical(get_rkeops_options("precision"), "float64")
  expect_true(get_rkeops_options("verbose"))
  expect_identical(get_rkeops_options("device"), 2L)
  # the aliases read too
  expect_identical(get_rkeops_options("device_id"), 2L)
  expect_true(get_rkeops_options("verbosity"))
  # 2.x's device_id = -1 is the default GPU, device 0; verbosity = 0 is FALSE
  set_rkeops_options(device_id = -1, verbosity = 0)
  expect_identical(get_rkeops_options("device"), 0L)
  expect_false(get_rkeops_options("verbose"))
  # named arguments still work, and a list does nothing when empty
  set_rkeops_options(precision = "float32")
  expect_identical(get_rkeops_options("precision"), "float32")
  expect_identical(set_rkeops_options(list()), list())
  # the same checks as for the names of this version
  expect_error(set_rkeops_options(list(verbosity = "maybe")), class = "rkeops_option_error",
               regexp = "option 'verbose' must be TRUE or FALSE", fixed = TRUE)
  expect_error(set_rkeops_options(list(device_id = -2)), class = "rkeops_option_error",
               regexp = "option 'device' must be a non-negative integer", fixed = TRUE)
  expect_error(set_rkeops_options(device = 1, device_id = 2), class = "rkeops_option_error",
               regexp = "option 'device' is given twice ('device' and 'device_id')", fixed = TRUE)
  expect_error(set_rkeops_options(list(bogus = 1)), class = "rkeops_option_error",
               regexp = "unknown rkeops option 'bogus'.*RKeOps 2.x names: device_id = device, verbosity = verbose")
})

test_that("set_rkeops_options() with no argument resets every option", {
  local_clean_options()
  with_envvars(c(RKEOPS_PRECISION = NA, RKEOPS_THREADS = NA, RKEOPS_VERBOSE = NA), {
    set_rkeops_options(precision = "float64", threads = 1, verbose = TRUE)
    old <- set_rkeops_options()
    expect_identical(old$precision, "float64")
    expect_identical(old$threads, 1L)
    expect_true(old$verbose)
    expect_named(old, names(get_rkeops_options()))
    expect_identical(get_rkeops_options("precision"), "float32")
    expect_null(get_rkeops_options("threads"))
    expect_false(get_rkeops_options("verbose"))
    expect_null(getOption("rkeops.precision"))
    # 2.x's set_rkeops_options(NULL) is the same; the reset can be undone
    do.call(set_rkeops_options, old)
    expect_identical(get_rkeops_options("precision"), "float64")
    set_rkeops_options(NULL)
    expect_identical(get_rkeops_options("precision"), "float32")
  })
})

test_that("the 2.x helpers set the options of this version", {
  local_clean_options()
  old <- rkeops_use_cpu(1)
  expect_named(old, c("backend", "threads"))
  expect_identical(get_rkeops_options("threads"), 1L)
  expect_identical(get_rkeops_options("backend"), "CPU")
  rkeops_use_cpu(0)  # 2.x: every core
  expect_null(get_rkeops_options("threads"))
  rkeops_use_cpu()
  expect_null(get_rkeops_options("threads"))
  expect_error(rkeops_use_cpu(-3), class = "rkeops_option_error", regexp = "'ncore' must be a positive integer")
  # without a GPU this warns (rkeops_gpu_warning); the options are set either way
  withCallingHandlers(rkeops_use_gpu(), rkeops_gpu_warning = function(w) invokeRestart("muffleWarning"))
  expect_identical(get_rkeops_options("backend"), "GPU")
  expect_identical(get_rkeops_options("device"), 0L)
  withCallingHandlers(rkeops_use_gpu(1), rkeops_gpu_warning = function(w) invokeRestart("muffleWarning"))
  expect_identical(get_rkeops_options("device"), 1L)
  rkeops_use_cpu()
  expect_identical(get_rkeops_options("backend"), "CPU")
  rkeops_enable_verbosity()
  expect_true(get_rkeops_options("verbose"))
  rkeops_disable_verbosity()
  expect_false(get_rkeops_options("verbose"))
  dir <- file.path(tempdir(), "rkeops-2x-cache")
  old <- set_rkeops_cache_dir(dir)
  expect_named(old, "cache_dir")
  expect_identical(get_rkeops_cache_dir(), normalizePath(dir, mustWork = FALSE))
  expect_false(dir.exists(dir))  # created only when an operator is compiled
  set_rkeops_cache_dir()
  expect_null(getOption("rkeops.cache_dir"))
})

test_that("sum_scheme = \"auto\" is block_sum, for every reduction", {
  args <- c("x = Vi(2)", "y = Vj(2)")
  x <- rand_mat(7, 2, 701)
  y <- rand_mat(9, 2, 702)
  d2 <- ref_sqdist(x, y)
  op <- keops_kernel("Sum_Reduction(SqDist(x, y), 0)", args, sum_scheme = "auto")
  expect_identical(op()$sum_scheme, "block_sum")
  expect_close(op(list(x, y)), matrix(rowSums(d2)), TOL32)
  mn <- keops_kernel("Min_Reduction(SqDist(x, y), 0)", args, sum_scheme = "auto")
  expect_close(mn(list(x, y)), matrix(apply(d2, 1, min)), TOL32)
  expect_error(keops_kernel("Min_Reduction(SqDist(x, y), 0)", args, sum_scheme = "kahan_scheme"),
               class = "rkeops_formula_error")
  expect_error(keops_kernel("Sum_Reduction(SqDist(x, y), 0)", args, sum_scheme = "fast"),
               class = "rkeops_argument_error",
               regexp = "'sum_scheme' must be one of \"block_sum\", \"direct_sum\", \"kahan_scheme\", \"auto\"",
               fixed = TRUE)
})

test_that("op(NULL) describes the operator like op()", {
  op <- get_op("Sum_Reduction(SqDist(x, y), 0)", c("x = Vi(2)", "y = Vj(2)"))
  a <- op()
  b <- op(NULL)
  expect_identical(b[names(b) != "source"], a[names(a) != "source"])
  expect_identical(b$formula, "Sum_Reduction(SqDist(x, y), 0)")
  expect_identical(b$source(), a$source())
})

test_that("keops_grad(operator = , var = ) as in 1.x / 2.x, and keops_grad(op, var)", {
  op <- get_op("Sum_Reduction(SqDist(x, y), 0)", c("x = Vi(2)", "y = Vj(2)"))
  x <- rand_mat(6, 2, 711)
  y <- rand_mat(5, 2, 712)
  eta <- matrix(1, 6, 1)
  ref <- 2 * (nrow(y) * x - matrix(colSums(y), 6, 2, byrow = TRUE))
  g1 <- keops_grad(operator = op, var = "x")
  g2 <- keops_grad(op, "x")
  g3 <- keops_grad(op = op, var = 0)
  for (g in list(g1, g2, g3)) expect_close(g(list(x, y, eta)), ref, TOL32)
  expect_error(keops_grad(op = op, operator = op, var = "x"), class = "rkeops_argument_error",
               regexp = "not both", fixed = TRUE)
  expect_error(keops_grad(operator = op), class = "rkeops_argument_error", regexp = "'var' is missing",
               fixed = TRUE)
  expect_error(keops_grad(operator = "op", var = "x"), class = "rkeops_argument_error",
               regexp = "'op' must be an operator", fixed = TRUE)
})
