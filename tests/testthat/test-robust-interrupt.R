# Long computations: an interrupt (Ctrl-C, SIGINT) returns to R within a
# fraction of a second, leaking no thread and no memory, and the operator
# works again afterwards; the optional progress bar.

test_that("SIGINT stops a long computation within a second; the operator works again", {
  skip_on_os("windows")
  skip_if_not_installed("callr")
  cache <- tempfile("rkeops-interrupt-")
  started <- tempfile("rkeops-started-")
  on.exit(unlink(c(cache, started), recursive = TRUE), add = TRUE)
  # A costly formula over a reduced side of 2^24 + 1000 points (the regime of
  # few output rows per chunk, the reduced side split across threads): about
  # 20 s of work here; chunks used to be 128 rows, 4.5 s each.
  child <- callr::r_bg(function(cache, started) {
    library(rkeops)
    set_rkeops_options(cache_dir = cache, precision = "float32")
    use_cpu(2)
    op <- keops_kernel(paste("Sum_Reduction(Exp(-SqDist(x, y)) * Sin(x * y) * Cos(x - y) * Log(1 + Square(y))",
                             "* Sin(x + y) * Cos(x * y) * Exp(-Square(x + y)), 0)"),
                       c("x = Vi(1)", "y = Vj(1)"))
    threads <- function() length(list.files("/proc/self/task"))
    rss_mb <- function() {
      l <- grep("^VmRSS:", readLines("/proc/self/status"), value = TRUE)
      as.numeric(gsub("[^0-9]", "", l)) / 1024
    }
    small <- function() op(list(c(0, 1), c(0.5, 2)))
    small()
    n <- 2^24 + 1000
    y <- seq(0, 1, length.out = n)
    x <- seq(0, 1, length.out = 600)
    invisible(gc())
    before <- c(threads = threads(), rss = rss_mb())
    file.create(started)
    t0 <- as.numeric(Sys.time())
    caught <- tryCatch({
      op(list(x, y))
      NA_real_
    }, interrupt = function(e) as.numeric(Sys.time()))
    invisible(gc())
    after <- c(threads = threads(), rss = rss_mb())
    list(caught = caught, ran = caught - t0, before = before, after = after, small = small())
  }, args = list(cache = cache, started = started), libpath = .libPaths())
  on.exit(child$kill(), add = TRUE)
  deadline <- Sys.time() + 120
  while (!file.exists(started) && child$is_alive() && Sys.time() < deadline) Sys.sleep(0.05)
  expect_true(file.exists(started))
  Sys.sleep(2)
  sent <- as.numeric(Sys.time())
  child$interrupt()
  child$wait(60000)
  res <- child$get_result()
  expect_false(is.na(res$caught))  # the computation did not finish first
  expect_gt(res$ran, 1.5)
  reaction <- res$caught - sent
  expect_lt(reaction, 1.5)
  # no thread left behind (OpenMP's pool was already there), no buffer leaked
  # (the float32 copy of y is 67 MB)
  expect_identical(res$after[["threads"]], res$before[["threads"]])
  expect_lt(res$after[["rss"]] - res$before[["rss"]], 30)
  # and the operator still computes the right thing
  x <- c(0, 1)
  y <- c(0.5, 2)
  f <- outer(x, y, function(a, b) {
    exp(-(a - b)^2) * sin(a * b) * cos(a - b) * log(1 + b^2) * sin(a + b) * cos(a * b) * exp(-(a + b)^2)
  })
  expect_equal(as.vector(res$small), rowSums(f), tolerance = 1e-5)
})

test_that("option progress: a bar between chunks, only when asked for", {
  local_clean_options()
  old <- options(rkeops.progress_after = 0,  # internal: show it even for a short call
                 rkeops.progress = NULL)
  on.exit(options(old), add = TRUE)
  set_rkeops_options(precision = "float64")
  op <- get_op("Sum_Reduction(Exp(-SqDist(x, y)) * y, 0)", c("x = Vi(1)", "y = Vj(1)"))
  set.seed(7)
  x <- stats::runif(4000)
  y <- stats::runif(40000)   # 1.6e8 pairs: several chunks
  ref <- op(list(x[1:10], y))
  set_rkeops_options(progress = TRUE)
  expect_true(get_rkeops_options("progress"))
  out <- utils::capture.output(res <- op(list(x, y)), type = "message")
  out <- paste(out, collapse = "\n")
  expect_match(out, "rkeops: [", fixed = TRUE)
  expect_match(out, "[==============================] 100%", fixed = TRUE)
  expect_equal(res[1:10, , drop = FALSE], ref, tolerance = 1e-12)
  # a single-chunk call shows nothing
  expect_identical(utils::capture.output(invisible(op(list(x[1:10], y[1:10]))), type = "message"),
                   character())
  set_rkeops_options(progress = FALSE)
  expect_identical(utils::capture.output(invisible(op(list(x, y))), type = "message"), character())
  # unset: interactive sessions only (tests are not interactive)
  set_rkeops_options(progress = NULL)
  expect_null(get_rkeops_options("progress"))
  expect_identical(utils::capture.output(invisible(op(list(x, y))), type = "message"), character())
  expect_error(set_rkeops_options(progress = "sometimes"), class = "rkeops_option_error",
               regexp = "option 'progress' must be TRUE or FALSE")
})

test_that("GPU runs are cut into chunks too (progress, interrupts), with the same result", {
  # The emulation target goes through the same chunk loop as a real GPU:
  # between chunks R checks for Ctrl-C and updates the bar.
  local_clean_options()
  old <- options(rkeops.progress_after = 0)
  on.exit(options(old), add = TRUE)
  set_rkeops_options(precision = "float64")
  op <- get_op("Sum_Reduction(Exp(-SqDist(x, y)) * y, 0)", c("x = Vi(1)", "y = Vj(1)"))
  set.seed(8)
  x <- stats::runif(4000)
  y <- stats::runif(40000)   # 1.6e8 pairs: a first chunk of 2^24 pairs is 419 rows
  cpu <- op(list(x, y))
  set_rkeops_options(backend = "GPU_EMULATION", progress = TRUE)
  out <- utils::capture.output(emu <- op(list(x, y)), type = "message")
  out <- paste(out, collapse = "\n")
  expect_match(out, "rkeops: \\[=+ +\\] +[1-9][0-9]?%")  # a chunk before the last
  expect_match(out, "[==============================] 100%", fixed = TRUE)
  expect_close(emu, cpu, TOL64)
})
