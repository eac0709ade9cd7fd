# Options: get/set round trips, validation, environment fallbacks, thread
# count, precision switches, and check_rkeops().

option_names <- c("backend", "device", "threads", "precision", "cache_dir", "compiler",
                  "compile_flags", "simd", "verbose", "progress", "gpu_block_size", "cuda_arch")

test_that("get_rkeops_options() lists every option with its default", {
  local_clean_options()
  options(rkeops.backend = NULL, rkeops.device = NULL, rkeops.threads = NULL,
          rkeops.precision = NULL, rkeops.compiler = NULL, rkeops.compile_flags = NULL,
          rkeops.simd = NULL, rkeops.verbose = NULL, rkeops.gpu_block_size = NULL,
          rkeops.cuda_arch = NULL)
  with_envvars(c(RKEOPS_BACKEND = NA, RKEOPS_DEVICE = NA, RKEOPS_THREADS = NA, RKEOPS_PRECISION = NA,
                 RKEOPS_COMPILER = NA, RKEOPS_COMPILE_FLAGS = NA, RKEOPS_SIMD = NA,
                 RKEOPS_VERBOSE = NA), {
    opts <- get_rkeops_options()
    expect_type(opts, "list")
    expect_identical(names(opts), option_names)
    expect_identical(opts$backend, "CPU")
    expect_identical(opts$device, 0L)
    expect_null(opts$threads)
    expect_identical(opts$precision, "float32")
    expect_identical(opts$simd, "native")
    expect_null(opts$compiler)
    expect_identical(opts$compile_flags, "-O3 -march=native")
    expect_false(opts$verbose)
    expect_identical(opts$gpu_block_size, 192L)
    expect_null(opts$cuda_arch)
    expect_identical(get_rkeops_options("precision"), "float32")
  })
})

test_that("set_rkeops_options() sets values and returns the old ones invisibly", {
  local_clean_options()
  set_rkeops_options(precision = "float32", verbose = FALSE)
  expect_invisible(set_rkeops_options(verbose = TRUE))
  old <- set_rkeops_options(precision = "float64", threads = 1, verbose = FALSE)
  expect_identical(old, list(precision = "float32", threads = NULL, verbose = TRUE))
  expect_identical(get_rkeops_options("precision"), "float64")
  expect_identical(get_rkeops_options("threads"), 1L)   # coerced to integer
  expect_identical(getOption("rkeops.precision"), "float64")
  # round trip
  do.call(set_rkeops_options, old)
  expect_identical(get_rkeops_options("precision"), "float32")
  expect_null(get_rkeops_options("threads"))
  expect_true(get_rkeops_options("verbose"))
  # values are normalised
  set_rkeops_options(backend = "cpu", device = "2", verbose = "TRUE")
  expect_identical(get_rkeops_options("backend"), "CPU")
  expect_identical(get_rkeops_options("device"), 2L)
  expect_true(get_rkeops_options("verbose"))
  expect_identical(set_rkeops_options(list()), list())  # no argument resets: test-compat-rkeops2.R
})

test_that("unknown names and bad values are rkeops_option_error", {
  local_clean_options()
  known <- paste("known options are:", paste(option_names, collapse = ", "))
  expect_error(set_rkeops_options(foo = 1), class = "rkeops_option_error",
               regexp = paste0("unknown rkeops option 'foo'; ", known), fixed = FALSE)
  expect_error(get_rkeops_options("foo"), class = "rkeops_option_error",
               regexp = "unknown rkeops option 'foo'")
  expect_error(set_rkeops_options(1), class = "rkeops_option_error",
               regexp = "set_rkeops_options\\(\\) takes named arguments")
  bad <- list(
    list(precision = "float16", "option 'precision' must be \"float32\" or \"float64\""),
    list(backend = "TPU", "option 'backend' must be \"CPU\", \"GPU\" or \"GPU_EMULATION\""),
    list(gpu_block_size = 0, "option 'gpu_block_size' must be an integer in 1..1024"),
    list(device = -1, "option 'device' must be a non-negative integer"),
    list(device = "a", "option 'device' must be a non-negative integer"),
    list(threads = 0, "option 'threads' must be a positive integer or NULL"),
    list(threads = c(1, 2), "option 'threads' must be a positive integer or NULL"),
    list(verbose = NA, "option 'verbose' must be TRUE or FALSE"),
    list(cache_dir = "", "option 'cache_dir' must be a single string"),
    list(compiler = c("g++", "clang++"), "option 'compiler' must be a single string"),
    list(compile_flags = 3, "option 'compile_flags' must be a single string")
  )
  before <- get_rkeops_options()
  for (b in bad) {
    expect_error(do.call(set_rkeops_options, b[1]), class = "rkeops_option_error", regexp = b[[2]],
                 fixed = TRUE)
  }
  # nothing was changed by the failed calls
  expect_identical(get_rkeops_options(), before)
  # with several settings, the error names the bad one
  expect_error(set_rkeops_options(verbose = TRUE, threads = "x"), class = "rkeops_option_error",
               regexp = "option 'threads' must be a positive integer or NULL", fixed = TRUE)
})

test_that("environment variables are fallbacks for unset options", {
  local_clean_options()
  options(rkeops.precision = NULL, rkeops.threads = NULL, rkeops.backend = NULL)
  with_envvars(c(RKEOPS_PRECISION = "float64", RKEOPS_THREADS = "3", RKEOPS_BACKEND = NA), {
    expect_identical(get_rkeops_options("precision"), "float64")
    expect_identical(get_rkeops_options("threads"), 3L)
    expect_identical(get_rkeops_options()$precision, "float64")
    # operators follow it: a float64 computation, exact to 1e-12
    op <- get_op("Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)",
                 c("x = Vi(3)", "y = Vj(3)", "b = Vj(6)", "s = Pm(1)"))
    expect_identical(op()$precision, "float64")
    d <- seed_data(M = 20, N = 30)
    expect_close(op(list(d$x, d$y, d$b, d$s)), ref_gauss_conv(d$x, d$y, d$b, d$s), TOL64)
    # the R option wins over the environment (for operators made afterwards:
    # op keeps the precision it was made with)
    set_rkeops_options(precision = "float32")
    expect_identical(get_rkeops_options("precision"), "float32")
    expect_identical(op()$precision, "float64")
    expect_identical(get_op("Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)",
                            c("x = Vi(3)", "y = Vj(3)", "b = Vj(6)", "s = Pm(1)"))()$precision, "float32")
  })
  options(rkeops.precision = NULL)
  with_envvars(c(RKEOPS_PRECISION = "float16"), {
    expect_error(get_rkeops_options("precision"), class = "rkeops_option_error",
                 regexp = "option 'precision' must be \"float32\" or \"float64\"", fixed = TRUE)
  })
  with_envvars(c(RKEOPS_PRECISION = NA), {
    expect_identical(get_rkeops_options("precision"), "float32")
  })
})

test_that("rkeops_use_float32() / rkeops_use_float64() switch the precision", {
  local_clean_options()
  old <- rkeops_use_float64()
  expect_identical(get_rkeops_options("precision"), "float64")
  expect_type(old, "list")
  expect_named(old, "precision")
  rkeops_use_float32()
  expect_identical(get_rkeops_options("precision"), "float32")
  # operators made afterwards compute in it, and keep it
  x <- rand_mat(50, 3, 501, -1, 1) * 1e4
  y <- rand_mat(40, 3, 502, -1, 1) * 1e4
  ref <- matrix(rowSums(ref_sqdist(x, y)), ncol = 1)
  rkeops_use_float64()
  op64 <- get_op("Sum_Reduction(SqNorm2(x - y), 0)", c("x = Vi(3)", "y = Vj(3)"))
  rkeops_use_float32()
  op32 <- get_op("Sum_Reduction(SqNorm2(x - y), 0)", c("x = Vi(3)", "y = Vj(3)"))
  r64 <- op64(list(x, y))
  r32 <- op32(list(x, y))
  expect_close(r64, ref, TOL64)
  expect_close(r32, ref, TOL32)
  expect_gt(rel_err(r32, ref), 1e-12)
})

test_that("use_cpu(): thread count, and 1 or 2 threads give the same numbers", {
  local_clean_options()
  old <- use_cpu(ncore = 1)
  expect_named(old, c("backend", "threads"))
  expect_identical(get_rkeops_options("threads"), 1L)
  expect_identical(get_rkeops_options("backend"), "CPU")
  op <- get_op("Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)",
               c("x = Vi(3)", "y = Vj(3)", "b = Vj(6)", "s = Pm(1)"))
  op_t <- get_op("Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 1)",
                 c("x = Vi(3)", "y = Vj(3)", "b = Vi(6)", "s = Pm(1)"))
  # M large and M small with N large (the threads then split the reduction)
  for (MN in list(c(1000, 300), c(3, 5000))) {
    d <- seed_data(M = MN[1], N = MN[2], seed = 510)
    bi <- rand_mat(MN[1], 6, 511, -1, 1)
    ref <- ref_gauss_conv(d$x, d$y, d$b, d$s)
    ref_t <- t(exp(-d$s * ref_sqdist(d$x, d$y))) %*% bi
    with_precision("float64", {
      # made in float64 (an operator keeps the precision it was made with)
      op64 <- get_op("Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)",
                     c("x = Vi(3)", "y = Vj(3)", "b = Vj(6)", "s = Pm(1)"))
      op_t64 <- get_op("Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 1)",
                       c("x = Vi(3)", "y = Vj(3)", "b = Vi(6)", "s = Pm(1)"))
      use_cpu(ncore = 1)
      r1 <- op64(list(d$x, d$y, d$b, d$s))
      t1 <- op_t64(list(d$x, d$y, bi, d$s))
      use_cpu(ncore = 2)
      expect_identical(get_rkeops_options("threads"), 2L)
      r2 <- op64(list(d$x, d$y, d$b, d$s))
      t2 <- op_t64(list(d$x, d$y, bi, d$s))
      use_cpu()
      expect_null(get_rkeops_options("threads"))
      r0 <- op64(list(d$x, d$y, d$b, d$s))
    })
    expect_close(r1, ref, TOL64)
    expect_close(r2, r1, TOL64)
    expect_close(r0, r1, TOL64)
    expect_close(t1, ref_t, TOL64)
    expect_close(t2, t1, TOL64)
    use_cpu(ncore = 1)
    s1 <- op(list(d$x, d$y, d$b, d$s), precision = "float32")
    use_cpu(ncore = 2)
    s2 <- op(list(d$x, d$y, d$b, d$s), precision = "float32")
    expect_close(s1, ref, TOL32)
    expect_close(s2, ref, TOL32)
  }
})

test_that("use_cpu() rejects bad thread counts; use_gpu() sets the backend and device", {
  local_clean_options()
  for (bad in list(0, -1, "a", c(1, 2), NA)) {
    expect_error(use_cpu(bad), class = "rkeops_option_error",
                 regexp = "'ncore' must be a positive integer or NULL", fixed = TRUE)
  }
  use_cpu(ncore = 2)
  expect_error(use_cpu(0), class = "rkeops_option_error")
  expect_identical(get_rkeops_options("threads"), 2L)   # unchanged by the failed call
  suppressWarnings(use_gpu(device = 1))  # warns (rkeops_gpu_warning) without such a GPU
  expect_identical(get_rkeops_options("backend"), "GPU")
  expect_identical(get_rkeops_options("device"), 1L)
  expect_error(use_gpu(device = -1), class = "rkeops_option_error",
               regexp = "option 'device' must be a non-negative integer", fixed = TRUE)
  use_cpu()
  expect_identical(get_rkeops_options("backend"), "CPU")
})

test_that("the thread default respects mc.cores and OMP_THREAD_LIMIT", {
  local_clean_options()
  options(rkeops.threads = NULL)
  old_mc <- getOption("mc.cores")
  on.exit(options(mc.cores = old_mc), add = TRUE)
  options(mc.cores = 1)
  expect_identical(default_threads(), 1L)
  options(mc.cores = NULL)
  with_envvars(c(OMP_THREAD_LIMIT = "1", RKEOPS_THREADS = NA, `_R_CHECK_LIMIT_CORES_` = NA), {
    expect_identical(default_threads(), 1L)
  })
  set_rkeops_options(threads = 2)
  expect_identical(default_threads(), 2L)
})

test_that("verbose = TRUE reports each compile with its time", {
  local_clean_options()
  set_rkeops_options(verbose = TRUE)
  # a formula no other test uses, so it is really compiled here
  expect_message(op <- keops_kernel("Sum_Reduction(x * 17 + y, 0)", c("x = Vi(2)", "y = Vj(2)")),
                 "rkeops: compiled float(32|64) operator in [0-9.]+ s \\(")
  x <- rand_mat(3, 2, 520)
  y <- rand_mat(4, 2, 521)
  expect_close(op(list(x, y)), 68 * x + matrix(colSums(y), 3, 2, byrow = TRUE),
               tol_for(get_rkeops_options("precision")))
  # already compiled: silent
  expect_silent(keops_kernel("Sum_Reduction(x * 17 + y, 0)", c("x = Vi(2)", "y = Vj(2)")))
})

test_that("check_rkeops() reports the setup and returns TRUE invisibly", {
  out <- NULL
  msgs <- capture.output(out <- withVisible(check_rkeops()), type = "message")
  expect_identical(out$value, TRUE)
  expect_false(out$visible)
  text <- paste(msgs, collapse = "\n")
  expect_match(text, "C++ compiler", fixed = TRUE)
  expect_match(text, get_rkeops_cache_dir(), fixed = TRUE)
  expect_match(text, "test formula compiled and gave the right result", fixed = TRUE)
  # In a fresh cache, forgetting the loaded operators (the tiny formula is
  # loaded): with a compiler that does not run, it must report it.
  local_clean_options()
  dir <- tempfile("rkeops-check-cache-")
  on.exit(unlink(dir, recursive = TRUE), add = TRUE)
  set_rkeops_options(cache_dir = dir)
  clean_rkeops(verbose = FALSE)
  set_rkeops_options(compiler = "false")
  msgs <- capture.output(out <- withVisible(check_rkeops()), type = "message")
  expect_identical(out$value, FALSE)
  expect_false(out$visible)
  expect_match(paste(msgs, collapse = "\n"), "test formula failed", fixed = TRUE)
})
