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
#' in this R session keep working; new ones are compiled again.
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
  entries <- list.files(dir, full.names = TRUE, all.files = FALSE, no.. = TRUE)
  n_operators <- sum(dir.exists(entries))
  unlink(entries, recursive = TRUE, force = TRUE)
  rk_forget_operators()
  if (verbose) message(sprintf("rkeops: removed %d compiled operator%s from %s", n_operators,
                               if (n_operators == 1) "" else "s", dir))
  invisible(dir)
}
