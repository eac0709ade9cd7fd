# The compilation cache: created on first compile, one entry per meaning of a
# formula (spacing and argument names do not matter; precision does),
# inspectable, cleanable, relocatable, and robust to a damaged entry.
#
# Operators stay loaded for the whole R session (a second keops_kernel() on a
# formula already loaded does not touch the disk), so every formula of this
# file is used nowhere else in the suite.

# Runs `code` with a fresh, not yet existing cache directory, removed after.
with_fresh_cache <- function(code) {
  dir <- tempfile("rkeops-cache-test-")
  old <- getOption("rkeops.cache_dir")
  set_rkeops_options(cache_dir = dir)
  on.exit({
    options(rkeops.cache_dir = old)
    unlink(dir, recursive = TRUE)
  }, add = TRUE)
  force(code)
}

x4 <- rand_mat(13, 4, 401)
y4 <- rand_mat(21, 4, 402)
w1 <- rand_mat(13, 1, 403)
# Sum_Reduction(SqDist(x, y) * w, 1): one row per j, sum_i |x_i - y_j|^2 w_i
ref_cache <- t(ref_sqdist(x4, y4)) %*% w1

test_that("the cache directory is created by the first compile and holds the entry files", {
  with_fresh_cache({
    dir <- get_rkeops_cache_dir()
    expect_identical(dir, normalizePath(getOption("rkeops.cache_dir"), mustWork = FALSE))
    expect_false(dir.exists(dir))
    op <- with_precision("float32", keops_kernel("Sum_Reduction(SqDist(x, y) * w, 1)",
                                                 c("x = Vi(4)", "y = Vj(4)", "w = Vi(1)")))
    expect_true(dir.exists(dir))
    entries <- cache_entries(dir)
    expect_length(entries, 1)
    entry <- file.path(dir, entries)
    expect_true(all(file.exists(file.path(entry, c("operator.cpp", "operator.so", "compile.log", "command.txt")))))
    # the entry records how it was built
    cmd <- paste(readLines(file.path(entry, "command.txt"), warn = FALSE), collapse = "\n")
    expect_match(cmd, "-O3 -march=native", fixed = TRUE)
    expect_match(cmd, file.path(entry, "operator.cpp"), fixed = TRUE)
    # the shared object is a real ELF/Mach-O object, not an empty file
    expect_gt(file.size(file.path(entry, "operator.so")), 1000)
    info <- op(precision = "float32")
    expect_true(info$compiled)
    expect_identical(normalizePath(info$source_file), normalizePath(file.path(entry, "operator.cpp")))
    expect_close(op(list(x4, y4, w1), precision = "float32"), ref_cache, TOL32)
  })
})

test_that("spacing and argument names do not change the entry; precision does", {
  with_fresh_cache({
    dir <- get_rkeops_cache_dir()
    op1 <- with_precision("float32", keops_kernel("Sum_Reduction(SqDist(x, y) * w + 1, 1)",
                                                  c("x = Vi(4)", "y = Vj(4)", "w = Vi(1)")))
    expect_length(cache_entries(dir), 1)
    op2 <- with_precision("float32", keops_kernel("Sum_Reduction( SqDist(a,b)*c+1 ,1 )",
                                                  c("a=Vi(4)", "b = Vj(4)", "c =Vi( 1 )")))
    expect_length(cache_entries(dir), 1)
    op3 <- with_precision("float32", keops_kernel("Sum_Reduction(SqDist(p, q) * r + 1, 1)",
                                                  c("r = Vi(2,1)", "p = Vi(0,4)", "q = Vj(1,4)")))
    expect_length(cache_entries(dir), 1)
    expect_identical(op1()$source_file, op2()$source_file)
    expect_identical(op1()$source_file, op3()$source_file)
    ref <- ref_cache + 13
    for (op in list(op1, op2, op3)) {
      expect_close(op(list(x4, y4, w1), precision = "float32"), ref, TOL32)
    }
    # float64 is another operator, in another entry
    res64 <- op2(list(x4, y4, w1), precision = "float64")
    expect_close(res64, ref, TOL64)
    entries <- cache_entries(dir)
    expect_length(entries, 2)
    f64 <- op2(precision = "float64")$source_file
    expect_false(op1(precision = "float64")$compiled)  # op1 has not run in float64 yet
    f32 <- op1(precision = "float32")$source_file
    expect_false(identical(f64, f32))
    expect_setequal(basename(dirname(c(f64, f32))), entries)
    # op1 shares op2's float64 operator: no third entry
    expect_close(op1(list(x4, y4, w1), precision = "float64"), ref, TOL64)
    expect_length(cache_entries(dir), 2)
    # a different formula is a different entry
    op4 <- with_precision("float32", keops_kernel("Sum_Reduction(SqDist(x, y) * w + 2, 1)",
                                                  c("x = Vi(4)", "y = Vj(4)", "w = Vi(1)")))
    expect_length(cache_entries(dir), 3)
    expect_close(op4(list(x4, y4, w1), precision = "float32"), ref_cache + 26, TOL32)
  })
})

test_that("op(precision = )$compiled follows the precision; op()$source() is the generated C++", {
  with_fresh_cache({
    formula <- "Sum_Reduction(SqDist(x, y) * w - 3, 1)"
    args <- c("x = Vi(4)", "y = Vj(4)", "w = Vi(1)")
    op <- with_precision("float32", keops_kernel(formula, args))
    # the operator's own precision, whatever the option is now
    with_precision("float64", {
      expect_true(op()$compiled)
      expect_identical(op()$precision, "float32")
    })
    info <- op(precision = "float64")
    expect_false(info$compiled)
    expect_null(info$source_file)
    expect_identical(info$precision, "float64")
    expect_close(op(list(x4, y4, w1), precision = "float64"), ref_cache - 39, TOL64)
    expect_true(op(precision = "float64")$compiled)
    src32 <- op()$source("float32")
    src64 <- op()$source("float64")
    expect_type(src32, "character")
    expect_length(src32, 1)
    for (src in c(src32, src64)) {
      expect_match(src, "rkeops_run", fixed = TRUE)
      expect_match(src, "Sum_Reduction", fixed = TRUE)
    }
    expect_match(src32, "float32", fixed = TRUE)
    expect_match(src64, "float64", fixed = TRUE)
    # the canonical text (a comment line of the source) is the same for an
    # equivalent formula and differs for another formula
    canonical <- function(src) grep("Sum_Reduction\\(n[0-9]+,", strsplit(src, "\n")[[1]], value = TRUE)
    expect_length(canonical(src32), 1)
    expect_match(canonical(src32), "args:0,4;1,4;0,1;", fixed = TRUE)
    same <- keops_kernel("Sum_Reduction(SqDist(a,b)*c-3,1)", c("a = Vi(4)", "b = Vj(4)", "c = Vi(1)"))
    expect_identical(canonical(same()$source("float32")), canonical(src32))
    expect_identical(same()$source("float32"), src32)
    other <- keops_kernel("Sum_Reduction(SqDist(x, y) * w - 3, 0)", args)
    expect_false(identical(canonical(other()$source("float32")), canonical(src32)))
    # the source on disk is the generated source, with its cache key filled in
    on_disk <- op(precision = "float64")$source_file
    disk <- paste(readLines(on_disk), collapse = "\n")
    expect_match(disk, basename(dirname(on_disk)), fixed = TRUE)
    expect_identical(canonical(disk), canonical(src64))
  })
})

test_that("clean_rkeops() removes the entries; operators are rebuilt when created again", {
  with_fresh_cache({
    dir <- get_rkeops_cache_dir()
    formula <- "Sum_Reduction(SqDist(x, y) * w * 5, 1)"
    args <- c("x = Vi(4)", "y = Vj(4)", "w = Vi(1)")
    op <- with_precision("float32", keops_kernel(formula, args))
    op(list(x4, y4, w1), precision = "float64")
    expect_length(cache_entries(dir), 2)
    expect_message(res <- clean_rkeops(), "rkeops: removed 2 compiled operators from ", fixed = TRUE)
    expect_identical(res, dir)
    # only the cache's lock file stays (compiles and clean_rkeops() take it)
    expect_identical(list.files(dir, all.files = TRUE, no.. = TRUE), ".lock")
    expect_message(clean_rkeops(), "removed 0 compiled operators", fixed = TRUE)
    expect_silent(clean_rkeops(verbose = FALSE))
    # an operator loaded before the cleaning keeps working
    expect_close(op(list(x4, y4, w1), precision = "float64"), 5 * ref_cache, TOL64)
    expect_length(cache_entries(dir), 0)
    # created again, it is compiled again into a new entry
    op2 <- with_precision("float32", keops_kernel(formula, args))
    entries <- cache_entries(dir)
    expect_length(entries, 1)
    expect_true(file.exists(file.path(dir, entries, "operator.so")))
    expect_close(op2(list(x4, y4, w1), precision = "float32"), 5 * ref_cache, TOL32)
  })
})

test_that("RKEOPS_CACHE_DIR is used when the option is unset; the option wins over it", {
  env_dir <- tempfile("rkeops-env-cache-")
  opt_dir <- tempfile("rkeops-opt-cache-")
  old <- getOption("rkeops.cache_dir")
  on.exit({
    options(rkeops.cache_dir = old)
    unlink(c(env_dir, opt_dir), recursive = TRUE)
  }, add = TRUE)
  options(rkeops.cache_dir = NULL)
  with_envvars(c(RKEOPS_CACHE_DIR = env_dir), {
    expect_identical(get_rkeops_cache_dir(), normalizePath(env_dir, mustWork = FALSE))
    op <- keops_kernel("Sum_Reduction(SqDist(x, y) * w * 7, 1)", c("x = Vi(4)", "y = Vj(4)", "w = Vi(1)"))
    expect_length(cache_entries(env_dir), 1)
    expect_close(op(list(x4, y4, w1)), 7 * ref_cache, tol_for(get_rkeops_options("precision")))
    set_rkeops_options(cache_dir = opt_dir)
    expect_identical(get_rkeops_cache_dir(), normalizePath(opt_dir, mustWork = FALSE))
    op <- keops_kernel("Sum_Reduction(SqDist(x, y) * w * 11, 1)", c("x = Vi(4)", "y = Vj(4)", "w = Vi(1)"))
    expect_length(cache_entries(opt_dir), 1)
    expect_length(cache_entries(env_dir), 1)
  })
  # neither: the per-user cache of R (only looked at, nothing is compiled)
  options(rkeops.cache_dir = NULL)
  with_envvars(c(RKEOPS_CACHE_DIR = NA), {
    expect_identical(get_rkeops_cache_dir(),
                     normalizePath(tools::R_user_dir("rkeops", "cache"), mustWork = FALSE))
  })
})

test_that("a damaged shared object is detected, reported and rebuilt in a new R process", {
  skip_if_not_installed("callr")
  with_fresh_cache({
    dir <- get_rkeops_cache_dir()
    formula <- "Sum_Reduction(SqDist(x, y) * w * 13, 1)"
    args <- c("x = Vi(4)", "y = Vj(4)", "w = Vi(1)")
    op <- with_precision("float64", keops_kernel(formula, args))
    entries <- cache_entries(dir)
    expect_length(entries, 1)
    so <- file.path(dir, entries, "operator.so")
    # Replace the file (new inode): this process has the old one mapped, and
    # truncating a mapped object in place would crash it.
    tmp <- paste0(so, ".garbage")
    writeLines(c("this is not a shared object", "garbage"), tmp)
    expect_true(file.rename(tmp, so))
    expect_identical(readLines(so), c("this is not a shared object", "garbage"))
    out <- callr::r(function(dir, formula, args, x, y, w) {
      library(rkeops)
      set_rkeops_options(cache_dir = dir, precision = "float64")
      warning_seen <- NULL
      op <- withCallingHandlers(keops_kernel(formula, args), warning = function(w) {
        warning_seen <<- w
        invokeRestart("muffleWarning")
      })
      list(class = class(warning_seen), message = conditionMessage(warning_seen),
           res = op(list(x, y, w)))
    }, args = list(dir = dir, formula = formula, args = args, x = x4, y = y4, w = w1),
    libpath = .libPaths())
    expect_identical(out$class[1], "rkeops_cache_warning")
    expect_true("warning" %in% out$class)
    expect_match(out$message, "the cached operator '.*operator.so' cannot be loaded")
    expect_match(out$message, entries, fixed = TRUE)
    expect_close(out$res, 13 * ref_cache, TOL64)
    # the entry was rebuilt: a real object again, usable by this process too
    expect_false(identical(readLines(so, n = 1, warn = FALSE), "this is not a shared object"))
    expect_gt(file.size(so), 1000)
    expect_close(op(list(x4, y4, w1), precision = "float64"), 13 * ref_cache, TOL64)
  })
})
