# Helpers shared by every test file: brute-force references, error measures,
# precision switching and random data.

# ---- brute-force references -------------------------------------------------

# Squared distances |x_i - y_j|^2 as an M x N matrix, computed the slow and
# obvious way (no expansion trick, so no cancellation).
ref_sqdist <- function(x, y) {
  x <- as.matrix(x)
  y <- as.matrix(y)
  out <- matrix(0, nrow(x), nrow(y))
  for (k in seq_len(ncol(x))) out <- out + outer(x[, k], y[, k], "-")^2
  out
}

# Gaussian convolution: sum_j exp(-s |x_i - y_j|^2) b_j  (M x ncol(b)).
ref_gauss_conv <- function(x, y, b, s) {
  exp(-s * ref_sqdist(x, y)) %*% as.matrix(b)
}

# Sum reduction of F(i, j) (an R function of the two indices returning a
# vector) over the M x N grid, pair by pair: axis 0 sums over j (M rows),
# axis 1 over i (N rows). Slow, obvious, independent of any trick.
ref_sum_reduction <- function(f, M, N, axis = 0) {
  outer_n <- if (axis == 0) M else N
  inner_n <- if (axis == 0) N else M
  rows <- lapply(seq_len(outer_n), function(a) {
    acc <- 0
    for (b in seq_len(inner_n)) {
      acc <- acc + if (axis == 0) f(a, b) else f(b, a)
    }
    acc
  })
  do.call(rbind, rows)
}

# ---- error measures -----------------------------------------------------------

# Max absolute difference relative to the largest reference entry (a
# normwise relative error: robust to reference entries close to 0).
rel_err <- function(x, ref) {
  x <- as.matrix(x)
  ref <- as.matrix(ref)
  scale <- max(abs(ref))
  if (scale == 0) scale <- 1
  max(abs(x - ref)) / scale
}

# Same dimensions, every entry finite, and relative error <= tol.
expect_close <- function(object, expected, tol) {
  object <- as.matrix(object)
  expected <- as.matrix(expected)
  if (!identical(as.integer(dim(object)), as.integer(dim(expected)))) {
    expect(FALSE, sprintf("result is %s, expected %s",
                          paste(dim(object), collapse = " x "),
                          paste(dim(expected), collapse = " x ")))
    return(invisible(object))
  }
  if (!all(is.finite(object))) {
    expect(FALSE, sprintf("result has %d non-finite entries", sum(!is.finite(object))))
    return(invisible(object))
  }
  err <- rel_err(object, expected)
  expect(err <= tol, sprintf("relative error %.3g is above the tolerance %.3g", err, tol))
  invisible(object)
}

TOL64 <- 1e-12
TOL32 <- 1e-5
tol_for <- function(precision) if (precision == "float64") TOL64 else TOL32

# ---- options ----------------------------------------------------------------

# Runs `code` with the given precision, then restores the option exactly as
# it was (unset stays unset, so RKEOPS_PRECISION keeps working).
with_precision <- function(precision, code) {
  old <- getOption("rkeops.precision")
  set_rkeops_options(precision = precision)
  on.exit(options(rkeops.precision = old), add = TRUE)
  force(code)
}

# Saves every rkeops.* R option and restores it when the calling function
# (or test) ends. Only the first call in a frame counts: a later one (in a
# loop, say) would otherwise restore the options as they were then.
local_clean_options <- function(envir = parent.frame()) {
  if (isTRUE(get0(".rkeops_options_saved", envir = envir, inherits = FALSE))) return(invisible())
  assign(".rkeops_options_saved", TRUE, envir = envir)
  keys <- paste0("rkeops.", c("backend", "device", "threads", "precision", "cache_dir", "compiler",
                              "compile_flags", "simd", "verbose", "progress", "gpu_block_size",
                              "cuda_arch"))
  old <- lapply(keys, getOption)
  names(old) <- keys
  do.call(on.exit, list(substitute(options(old), list(old = old)), add = TRUE), envir = envir)
  invisible(old)
}

# Runs `code` with environment variables set (NA = unset), then restores them.
with_envvars <- function(vars, code) {
  old <- Sys.getenv(names(vars), unset = NA, names = TRUE)
  on.exit({
    for (nm in names(old)) {
      if (is.na(old[[nm]])) Sys.unsetenv(nm) else do.call(Sys.setenv, stats::setNames(list(old[[nm]]), nm))
    }
  }, add = TRUE)
  for (nm in names(vars)) {
    if (is.na(vars[[nm]])) Sys.unsetenv(nm) else do.call(Sys.setenv, stats::setNames(list(vars[[nm]]), nm))
  }
  force(code)
}

# ---- data ---------------------------------------------------------------------

# n x d matrix of uniform values in [lo, hi], reproducible through `seed`.
rand_mat <- function(n, d, seed, lo = 0, hi = 1) {
  set.seed(seed)
  matrix(stats::runif(n * d, lo, hi), n, d)
}

# The seed example's data: x 100 x 3, y 150 x 3, b 150 x 6, s = 0.2.
seed_data <- function(M = 100, N = 150, db = 6, seed = 1) {
  list(x = rand_mat(M, 3, seed), y = rand_mat(N, 3, seed + 1),
       b = rand_mat(N, db, seed + 2, -1, 1), s = 0.2)
}

# Catches the error raised by `expr` (NULL if none).
catch_err <- function(expr) {
  tryCatch({
    force(expr)
    NULL
  }, error = function(e) e)
}

# Operators are compiled once per (formula, args) and reused by every test of
# the run (each distinct operator costs a C++ compile). An operator keeps the
# precision and compile settings it was made with, so these are part of the
# key: get_op() inside with_precision("float64", ...) gives a float64 operator.
.op_store <- new.env(parent = emptyenv())
settings_key <- function() {
  paste(get_rkeops_options("precision"), get_rkeops_options("compiler"),
        get_rkeops_options("compile_flags"), get_rkeops_options("simd"), sep = "|")
}
get_op <- function(formula, args = character()) {
  key <- paste(formula, paste(args, collapse = ";"), settings_key(), sep = "|")
  op <- .op_store[[key]]
  if (is.null(op)) {
    op <- keops_kernel(formula, args)
    assign(key, op, envir = .op_store)
  }
  op
}

# Gradient operators, compiled once per (operator, variable).
.grad_store <- new.env(parent = emptyenv())
get_grad <- function(op, var) {
  d <- op()
  key <- paste(d$formula, paste(d$args, collapse = ";"), var, d$precision, d$compile_flags, d$simd,
               sep = "|")
  g <- .grad_store[[key]]
  if (is.null(g)) {
    g <- keops_grad(op, var)
    assign(key, g, envir = .grad_store)
  }
  g
}

# Lists the operator entries (32-hex directories) of a cache directory.
cache_entries <- function(dir = get_rkeops_cache_dir()) {
  e <- list.files(dir, pattern = "^[0-9a-f]{32}$")
  e[dir.exists(file.path(dir, e))]
}
