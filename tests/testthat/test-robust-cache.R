# Faults of the compilation cache seen by several R processes: two processes
# compiling the same new formula at once (compiled once, both right), and
# damaged entries (a truncated object, another formula's object) detected,
# removed and rebuilt with a warning instead of crashing R.
# Every formula of this file is used nowhere else in the suite.

xr <- rand_mat(11, 2, 951)
yr <- rand_mat(17, 2, 952)

test_that("two processes compiling the same new formula at once: one compiles, both are right", {
  skip_if_not_installed("callr")
  dir <- tempfile("rkeops-race-")
  barrier <- tempfile("rkeops-barrier-")
  dir.create(barrier)
  on.exit(unlink(c(dir, barrier), recursive = TRUE), add = TRUE)
  formula <- "Sum_Reduction(Exp(-SqDist(x, y)) * 17 + y, 0)"
  args <- c("x = Vi(2)", "y = Vj(2)")
  worker <- function(id, dir, barrier, formula, args, x, y) {
    library(rkeops)
    set_rkeops_options(cache_dir = dir, precision = "float64", verbose = TRUE)
    file.create(file.path(barrier, paste0("ready-", id)))
    while (!file.exists(file.path(barrier, "go"))) Sys.sleep(0.01)
    compiled <- FALSE
    op <- withCallingHandlers(keops_kernel(formula, args), message = function(m) {
      if (grepl("rkeops: compiled", conditionMessage(m), fixed = TRUE)) compiled <<- TRUE
      invokeRestart("muffleMessage")
    })
    list(compiled = compiled, res = op(list(x, y)), source = op()$source_file)
  }
  procs <- lapply(1:2, function(id) {
    callr::r_bg(worker, args = list(id = id, dir = dir, barrier = barrier, formula = formula,
                                    args = args, x = xr, y = yr), libpath = .libPaths())
  })
  on.exit(for (p in procs) p$kill(), add = TRUE)
  deadline <- Sys.time() + 60
  while (!all(file.exists(file.path(barrier, c("ready-1", "ready-2")))) && Sys.time() < deadline &&
         all(vapply(procs, function(p) p$is_alive(), TRUE))) {
    Sys.sleep(0.02)
  }
  file.create(file.path(barrier, "go"))
  for (p in procs) p$wait(120000)
  out <- lapply(procs, function(p) p$get_result())
  ref <- exp(-ref_sqdist(xr, yr)) %*% matrix(17, nrow(yr), 2) +
    matrix(colSums(yr), nrow(xr), 2, byrow = TRUE)
  for (o in out) expect_close(o$res, ref, TOL64)
  # compiled exactly once: one process compiled, the other waited for the
  # lock and loaded the result; one entry, one command, one log
  expect_identical(sort(vapply(out, function(o) o$compiled, TRUE)), c(FALSE, TRUE))
  expect_identical(out[[1]]$source, out[[2]]$source)
  entries <- cache_entries(dir)
  expect_length(entries, 1)
  files <- list.files(file.path(dir, entries))
  expect_setequal(files, c("operator.cpp", "operator.so", "operator.so.sum", "compile.log", "command.txt"))
  expect_length(readLines(file.path(dir, entries, "command.txt")), 1)
  # clean_rkeops() leaves nothing but the cache-wide lock file
  old <- set_rkeops_options(cache_dir = dir)
  on.exit(options(rkeops.cache_dir = old$cache_dir), add = TRUE)
  expect_message(clean_rkeops(), "removed 1 compiled operator from", fixed = TRUE)
  expect_identical(list.files(dir, all.files = TRUE, no.. = TRUE, recursive = TRUE), ".lock")
})

test_that("a truncated object and another formula's object are detected and rebuilt", {
  skip_if_not_installed("callr")
  skip_on_os(c("windows", "mac"))  # ELF checks
  dir <- tempfile("rkeops-damaged-")
  old <- set_rkeops_options(cache_dir = dir, precision = "float64")
  on.exit({
    options(rkeops.cache_dir = old$cache_dir, rkeops.precision = old$precision)
    unlink(dir, recursive = TRUE)
  }, add = TRUE)
  fa <- "Sum_Reduction(SqDist(x, y) * 19, 0)"
  fb <- "Sum_Reduction(SqDist(x, y) * 23, 0)"
  args <- c("x = Vi(2)", "y = Vj(2)")
  so_a <- keops_kernel(fa, args)()$source_file
  so_b <- keops_kernel(fb, args)()$source_file
  so_a <- file.path(dirname(so_a), "operator.so")
  so_b <- file.path(dirname(so_b), "operator.so")
  bytes_a <- readBin(so_a, "raw", file.size(so_a))
  # Replace the files (new inodes): this process has the old ones mapped.
  replace_with <- function(path, bytes) {
    tmp <- paste0(path, ".new")
    writeBin(bytes, tmp)
    expect_true(file.rename(tmp, path))
  }
  replace_with(so_a, bytes_a[seq_len(length(bytes_a) %/% 2)])  # truncated: dlopen would crash R (SIGBUS)
  replace_with(so_b, bytes_a)                                   # a valid operator, of formula a
  out <- callr::r(function(dir, fa, fb, args, x, y) {
    library(rkeops)
    set_rkeops_options(cache_dir = dir, precision = "float64")
    warnings <- list()
    load <- function(f) withCallingHandlers(keops_kernel(f, args), warning = function(w) {
      warnings[[length(warnings) + 1]] <<- w
      invokeRestart("muffleWarning")
    })
    opa <- load(fa)
    opb <- load(fb)
    list(classes = lapply(warnings, class), messages = vapply(warnings, conditionMessage, ""),
         a = opa(list(x, y)), b = opb(list(x, y)))
  }, args = list(dir = dir, fa = fa, fb = fb, args = args, x = xr, y = yr), libpath = .libPaths())
  expect_length(out$messages, 2)
  for (cl in out$classes) expect_identical(cl[1], "rkeops_cache_warning")
  expect_match(out$messages[1], paste0("the cached operator '", so_a, "' cannot be loaded: it is truncated"),
               fixed = TRUE)
  expect_match(out$messages[1], "it was removed and rebuilt", fixed = TRUE)
  expect_match(out$messages[2], paste0("the cached operator '", so_b, "' cannot be loaded: it is damaged (its checksum differs"),
               fixed = TRUE)
  ref <- rowSums(ref_sqdist(xr, yr))
  expect_close(out$a, 19 * ref, TOL64)
  expect_close(out$b, 23 * ref, TOL64)
  # both entries are whole again, and different objects
  expect_gt(file.size(so_a), length(bytes_a) %/% 2)
  expect_false(identical(readBin(so_b, "raw", file.size(so_b)), bytes_a))
})
