# Reliability of the options / operator / runtime layer (issue 12, items 3,
# 5, 14, 15, 16 and 17): thread caps, forked children, saved operators,
# options validated at use, operators keeping their settings, and memory
# messages. Crash and hang cases run in a child R process with a time limit.

skip_if_not_installed("callr")

# Runs `fun` in a fresh R process with this test run's library and cache.
in_child <- function(fun, args = list(), timeout = 60) {
  callr::r(fun, args = args, libpath = .libPaths(), timeout = timeout,
           env = c(callr::rcmd_safe_env(), R_LIBS = paste(.libPaths(), collapse = ":"),
                   RKEOPS_CACHE_DIR = get_rkeops_cache_dir(), OMP_NUM_THREADS = ""))
}

gauss_formula <- "Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)"
gauss_args <- c("x = Vi(3)", "y = Vj(3)", "b = Vj(2)", "s = Pm(1)")
gd <- seed_data(M = 40, N = 50, db = 2)
gauss_ref <- ref_gauss_conv(gd$x, gd$y, gd$b, gd$s)

# ---- item 3: thread counts ---------------------------------------------------

test_that("a huge thread count is capped with a warning naming the cap, not a crash", {
  cap <- rkeops:::max_threads()
  expect_identical(cap, as.integer(min(1024, 4 * parallel::detectCores())))
  # the engine's own hard limit, for internal calls
  expect_identical(rkeops:::rk_usable_threads(1e6), 1024L)
  expect_identical(rkeops:::rk_usable_threads(0L), 1L)
  expect_identical(rkeops:::rk_usable_threads(2L), 2L)
  out <- in_child(function(formula, args, d) {
    library(rkeops)
    op <- keops_kernel(formula, args)
    input <- list(d$x, d$y, d$b, d$s)
    w <- list()
    keep <- function(expr) withCallingHandlers(expr, rkeops_option_warning = function(cnd) {
      w[[length(w) + 1]] <<- conditionMessage(cnd)
      invokeRestart("muffleWarning")
    })
    keep(use_cpu(1e5))
    t1 <- get_rkeops_options("threads")
    r1 <- keep(op(input))
    keep(use_cpu(1e6))
    r2 <- keep(op(input))
    use_cpu()
    options(rkeops.threads = 1e6)
    r3 <- keep(op(input))
    r4 <- keep(op(input))  # the checked value is kept: one warning per value
    options(rkeops.threads = NULL)
    list(w = w, t1 = t1, r = list(r1, r2, r3, r4))
  }, list(gauss_formula, gauss_args, gd))
  expect_identical(out$t1, cap)
  expect_length(out$w, 3)
  expect_match(out$w[[1]], sprintf("option 'threads' = 100000 is more than %d .*using %d threads", cap, cap))
  expect_match(out$w[[3]], "set by options(rkeops.threads = 1e+06)", fixed = TRUE)
  for (r in out$r) expect_close(r, gauss_ref, TOL32)
})

# ---- item 5: forked children ----------------------------------------------------

test_that("mclapply() after a multi-threaded call finishes, single-threaded, with right values", {
  skip_on_os("windows")
  out <- in_child(function(formula, args, d) {
    library(rkeops)
    use_cpu(2)
    op <- keops_kernel(formula, args)
    big <- list(d$x[rep(1:40, 50), ], d$y[rep(1:50, 40), ], d$b[rep(1:50, 40), ], d$s)
    parent <- op(big)  # starts OpenMP's pool with 2 threads
    kids <- parallel::mclapply(1:2, function(i) {
      list(forked = rkeops:::rk_in_forked_child(), threads = rkeops:::rk_usable_threads(2L),
           res = op(list(d$x * i, d$y, d$b, d$s)))
    }, mc.cores = 2)
    list(parent_forked = rkeops:::rk_in_forked_child(), parent_threads = rkeops:::rk_usable_threads(2L),
         parent = parent, kids = kids)
  }, list(gauss_formula, gauss_args, gd), timeout = 90)
  expect_false(out$parent_forked)
  expect_identical(out$parent_threads, 2L)
  expect_close(out$parent[1:40, ], 2000 / 50 * gauss_ref, TOL32)
  for (i in 1:2) {
    kid <- out$kids[[i]]
    expect_true(kid$forked)
    expect_identical(kid$threads, 1L)
    expect_close(kid$res, ref_gauss_conv(gd$x * i, gd$y, gd$b, gd$s), TOL32)
  }
})

# ---- item 14: saved operators ----------------------------------------------------

test_that("an operator saved with saveRDS() runs in another process (cache hit or compile)", {
  local_clean_options()
  set_rkeops_options(precision = "float64")
  op <- keops_kernel(gauss_formula, gauss_args)
  set_rkeops_options(precision = "float32")
  file <- tempfile(fileext = ".rds")
  on.exit(unlink(file), add = TRUE)
  saveRDS(op, file)
  out <- in_child(function(file, d) {
    library(rkeops)
    op <- readRDS(file)
    hit <- op(list(d$x, d$y, d$b, d$s))          # same cache: found there
    set_rkeops_options(cache_dir = tempfile("rkeops-fresh-"))
    op2 <- readRDS(file)
    fresh <- op2(list(d$x, d$y, d$b, d$s))       # empty cache: compiled
    list(hit = hit, fresh = fresh, precision = op()$precision, compiled = op()$compiled,
         printed = capture.output(print(op2)))
  }, list(file, gd))
  expect_close(out$hit, gauss_ref, TOL64)      # float64: kept across processes
  expect_close(out$fresh, gauss_ref, TOL64)
  expect_identical(out$precision, "float64")
  expect_true(out$compiled)
  expect_true(any(grepl("precision: float64", out$printed, fixed = TRUE)))
  # in this process too, a copy read back works
  expect_close(readRDS(file)(list(gd$x, gd$y, gd$b, gd$s)), gauss_ref, TOL64)
})

test_that("an operator sent to a PSOCK worker runs there", {
  skip_on_cran()
  op <- get_op(gauss_formula, gauss_args)
  cl <- parallel::makePSOCKcluster(1)
  on.exit(parallel::stopCluster(cl), add = TRUE)
  parallel::clusterCall(cl, function(lib, dir) {
    .libPaths(c(lib, .libPaths()))
    Sys.setenv(RKEOPS_CACHE_DIR = dir)
  }, .libPaths(), get_rkeops_cache_dir())
  res <- parallel::clusterCall(cl, function(op, d) op(list(d$x, d$y, d$b, d$s)), op, gd)[[1]]
  expect_close(res, gauss_ref, TOL32)
})

# ---- item 15: options validated at use --------------------------------------------

test_that("options(rkeops.*) and RKEOPS_* values are checked at use, with set_rkeops_options()'s message", {
  local_clean_options()
  op <- get_op(gauss_formula, gauss_args)
  input <- list(gd$x, gd$y, gd$b, gd$s)
  set_msg <- conditionMessage(catch_err(set_rkeops_options(threads = "abc")))
  expect_identical(set_msg, "option 'threads' must be a positive integer or NULL")
  options(rkeops.threads = "abc")
  e <- catch_err(op(input))
  expect_s3_class(e, c("rkeops_option_error", "rkeops_error"), exact = FALSE)
  expect_identical(conditionMessage(e), paste0(set_msg, " (set by options(rkeops.threads = \"abc\"))"))
  options(rkeops.threads = NULL)
  with_envvars(c(RKEOPS_THREADS = "abc"), {
    expect_error(op(input), class = "rkeops_option_error",
                 regexp = paste0(set_msg, " (set by the environment variable RKEOPS_THREADS=abc)"), fixed = TRUE)
  })
  options(rkeops.precision = "float16")
  expect_error(keops_kernel(gauss_formula, gauss_args), class = "rkeops_option_error",
               regexp = "option 'precision' must be \"float32\" or \"float64\" (set by options(rkeops.precision = \"float16\"))",
               fixed = TRUE)
  options(rkeops.precision = NULL, rkeops.backend = "banana")
  expect_error(op(input), class = "rkeops_option_error",
               regexp = "option 'backend' must be \"CPU\", \"GPU\" or \"GPU_EMULATION\" (set by options(rkeops.backend = \"banana\"))",
               fixed = TRUE)
  options(rkeops.backend = NULL, rkeops.compile_flags = 42)
  expect_error(keops_kernel(gauss_formula, gauss_args), class = "rkeops_option_error",
               regexp = "option 'compile_flags' must be a single string (set by options(rkeops.compile_flags = 42))",
               fixed = TRUE)
  expect_error(get_rkeops_options(), class = "rkeops_option_error", regexp = "compile_flags")
  options(rkeops.compile_flags = NULL)
  # valid values set with options() are normalised like set_rkeops_options() does
  options(rkeops.backend = "cpu", rkeops.threads = "1")
  expect_identical(get_rkeops_options("backend"), "CPU")
  expect_identical(get_rkeops_options("threads"), 1L)
  expect_close(op(input), gauss_ref, TOL32)
})

# ---- item 16: an operator keeps its precision and compile settings ---------------------

test_that("an operator keeps the precision and compile flags it was made with; the backend follows", {
  local_clean_options()
  x <- rand_mat(30, 3, 601, -1, 1) * 1e4
  y <- rand_mat(20, 3, 602, -1, 1) * 1e4
  ref <- matrix(rowSums(ref_sqdist(x, y)), ncol = 1)
  set_rkeops_options(precision = "float64", compile_flags = "-O2 -march=native")
  op64 <- keops_kernel("Sum_Reduction(SqNorm2(x - y), 0)", c("x = Vi(3)", "y = Vj(3)"))
  rkeops_use_float32()
  set_rkeops_options(compile_flags = "-O3 -march=native -DRKEOPS_TEST_FLAGS")
  expect_identical(op64()$precision, "float64")
  expect_identical(op64()$compile_flags, "-O2 -march=native")
  expect_close(op64(list(x, y)), ref, TOL64)
  # a call may ask for the other precision; compiled with the operator's flags
  r32 <- op64(list(x, y), precision = "float32")
  expect_close(r32, ref, TOL32)
  expect_gt(rel_err(r32, ref), 1e-12)
  loaded <- environment(op64)$state$loaded
  expect_setequal(names(loaded), c("cpu|float64", "cpu|float32"))
  for (h in loaded) {
    expect_match(h$command, "-O2 -march=native", fixed = TRUE)
    expect_false(grepl("RKEOPS_TEST_FLAGS", h$command, fixed = TRUE))
  }
  expect_true(op64(precision = "float32")$compiled)
  expect_error(op64(list(x, y), precision = "float16"), class = "rkeops_option_error",
               regexp = "option 'precision' must be \"float32\" or \"float64\" (set by the call's argument precision = \"float16\")",
               fixed = TRUE)
  # printed
  printed <- capture.output(print(op64))
  expect_true(any(grepl("precision: float64 (kept from its creation", printed, fixed = TRUE)))
  expect_true(any(grepl("compiled with: the default compiler -O2 -march=native, SIMD native", printed,
                        fixed = TRUE)))
  expect_true(any(grepl("backend:   CPU (now; follows use_cpu() / use_gpu())", printed, fixed = TRUE)))
  # gradients keep the settings of the operator they differentiate
  g <- keops_grad(op64, "x")
  expect_identical(g()$precision, "float64")
  expect_identical(g()$compile_flags, "-O2 -march=native")
  gx <- g(list(x, y, matrix(1, 30, 1)))
  expect_close(gx, 2 * (nrow(y) * x - matrix(colSums(y), 30, 3, byrow = TRUE)), TOL64)
  # the backend is read at each call
  set_rkeops_options(backend = "GPU_EMULATION", gpu_block_size = 32L)
  expect_close(op64(list(x, y)), ref, TOL64)
  expect_true(any(grepl("^gpu_emulation.*\\|float64$", names(environment(op64)$state$loaded))))
  expect_identical(op64()$backend, "GPU_EMULATION")
})

# ---- item 17: what does not fit ---------------------------------------------------

test_that("the memory refusal names what does not fit: the result or the input copies", {
  small <- function() 1e9  # 1 GB "available"
  # float32 copies of a 2e9-point Vj (an ALTREP sequence: nothing allocated)
  e <- catch_err(check_call_memory(10, 1, list(1, seq_len(2e9)), c(0L, 1L), c(1L, 1L), FALSE, "float32",
                                   available = small))
  expect_s3_class(e, "rkeops_memory_error")
  expect_match(conditionMessage(e), paste(
    "not enough memory: the float32 copies of the Vi/Vj inputs need 8 GB (8 GB in all with the result,",
    "a 10 x 1 matrix of 8e-08 GB), more than the 1 GB of memory available"), fixed = TRUE)
  expect_match(conditionMessage(e), "compute in float64", fixed = TRUE)
  expect_identical(e$bytes, 8e9 + 84)
  # float64, points as columns: the transposed copies
  e <- catch_err(check_call_memory(10, 1, list(1, seq_len(2e9)), c(0L, 1L), c(1L, 2L), TRUE, "float64",
                                   available = small))
  expect_match(conditionMessage(e), "the transposed copies of the Vi/Vj inputs need 16 GB", fixed = TRUE)
  expect_match(conditionMessage(e), "a 10 x 1 matrix of 8e-08 GB, and its transpose", fixed = TRUE)
  expect_match(conditionMessage(e), "give points as rows", fixed = TRUE)
  # the result itself, with the copies named and sized
  e <- catch_err(check_call_memory(2e8, 10, list(seq_len(2e8)), 0L, 1L, FALSE, "float32",
                                   available = small))
  expect_match(conditionMessage(e), paste(
    "not enough memory: the result is a 200000000 x 10 matrix of 16 GB (16.8 GB in all with the float32",
    "copies of the Vi/Vj inputs 0.8 GB), more than the 1 GB of memory available"), fixed = TRUE)
  expect_match(conditionMessage(e), "compute it in blocks of rows", fixed = TRUE)
  # enough memory: no error
  expect_equal(check_call_memory(10, 1, list(1, seq_len(2e9)), c(0L, 1L), c(1L, 1L), FALSE, "float32",
                                 available = function() 1e12), 8e9 + 84)
})
