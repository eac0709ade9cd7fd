#' The cache of compiled operators
#'
#' Each operator is compiled once per formula, precision, compiler and
#' machine, and kept in a per-user cache directory:
#' `tools::R_user_dir("rkeops", "cache")` by default, or the option
#' `rkeops.cache_dir`, or the environment variable `RKEOPS_CACHE_DIR`. The
#' directory is created when the first operator is compiled, never when the
#' package loads. Each entry holds the generated source, the compiler command
#' and its log, and the shared object.
#'
#' `clean_rkeops()` removes every compiled operator. Operators already loaded
#' in this R session keep working; new ones are compiled again. It waits for
#' compiles in progress in other R processes (and compiles wait for it); it
#' counts only what it really removed, and fails (class
#' `rkeops_cache_error`) on a cache where it could remove nothing, such as a
#' read-only one.
#'
#' @section Robustness:
#' Each object is written under a temporary name, flushed to disk (fsync)
#' and renamed into place; its size and checksum are recorded and checked
#' before it is loaded, so a damaged object (a power loss, a bad disk) is
#' rebuilt (with a warning of class `rkeops_cache_warning`) instead of
#' crashing R. A process waiting for another's compile of the same operator
#' (or for `clean_rkeops()`) says so, can be interrupted, and gives up after
#' `RKEOPS_LOCK_TIMEOUT` seconds (environment variable; default 600) with an
#' error of class `rkeops_lock_error`. Temporaries left by a process that
#' died while compiling are removed by the next compile of that operator. A
#' cache directory that is full or read-only (at any step of a compile) makes
#' rkeops compile into a per-session directory, with a warning naming the
#' disk. The compiler's identity (its `--version`) is recorded in the cache,
#' so operators already compiled load on a machine where the compiler is
#' missing (a compute node): only new formulas then fail to compile.
#'
#' @return `get_rkeops_cache_dir()`: the path (which may not exist yet).
#'   `clean_rkeops()`: the path, invisibly.
#' @examples
#' get_rkeops_cache_dir()
#' @export
get_rkeops_cache_dir <- function() {
  dir <- get_option("cache_dir") %||% tools::R_user_dir("rkeops", which = "cache")
  normalizePath(dir, mustWork = FALSE)
}

#' @rdname get_rkeops_cache_dir
#' @param verbose print what was removed.
#' @export
clean_rkeops <- function(verbose = TRUE) {
  dir <- get_rkeops_cache_dir()
  # Under the cache's lock (src/core/build/operator_cache.h): it waits for
  # compiles in progress, and no compile starts while it runs.
  res <- core_call(rk_clean_cache, dir)
  rk_forget_operators()
  if (res$failed > 0) {
    what <- sprintf("%d entr%s of the rkeops cache %s could not be removed (%s)", res$failed,
                    if (res$failed == 1) "y" else "ies", dir, res$problem)
    if (res$removed == 0) {
      rkeops_abort(c(paste0(what, "; nothing was removed"),
                     paste("  the cache is read-only or not yours: set RKEOPS_CACHE_DIR",
                           "(or the option cache_dir) to a writable directory")),
                   class = "rkeops_cache_error")
    }
    rkeops_warn(sprintf("%s; %d compiled operator%s removed", what, res$removed,
                        if (res$removed == 1) " was" else "s were"),
                class = "rkeops_cache_warning")
  }
  if (verbose) message(sprintf("rkeops: removed %d compiled operator%s from %s", res$removed,
                               if (res$removed == 1) "" else "s", dir))
  invisible(dir)
}
