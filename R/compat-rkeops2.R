# RKeOps 2.x compatibility: the helpers 2.x code calls, as thin wrappers of
# this version's functions (so that their checks and messages apply). The
# 2.x option names device_id and verbosity are aliases in R/options.R.

#' RKeOps 2.x option helpers
#'
#' Functions of RKeOps 2.x, kept so that code written for it runs
#' unchanged:
#' * `rkeops_use_cpu(ncore)` is [use_cpu()]; as in 2.x, `ncore = 0` means
#'   every core allowed (like `NULL`).
#' * `rkeops_use_gpu(device)` is [use_gpu()]; as in 2.x, `device = -1` (its
#'   default) means the default GPU, device 0.
#' * `rkeops_enable_verbosity()` and `rkeops_disable_verbosity()` set the
#'   option `verbose` (2.x's `verbosity`).
#' * `set_rkeops_cache_dir(dir)` sets the option `cache_dir`; `NULL` (the
#'   default) goes back to the default directory (see
#'   [get_rkeops_cache_dir()]). Unlike 2.x, the directory need not exist:
#'   it is created when the first operator is compiled.
#'
#' The option names of 2.x (`device_id`, `verbosity`) are accepted by
#' [set_rkeops_options()], which also takes 2.x's single list argument.
#'
#' @param ncore number of CPU threads; `NULL` or `0`: every core allowed.
#' @param device GPU device number; `-1` (default) is device 0.
#' @param dir cache directory, or `NULL` for the default.
#' @return The previous settings of the options changed, invisibly (as
#'   [set_rkeops_options()]).
#' @seealso [rkeops_options], [set_rkeops_options()]
#' @examples
#' old <- rkeops_use_cpu(ncore = 1)
#' rkeops_enable_verbosity()
#' get_rkeops_options("verbose")
#' rkeops_disable_verbosity()
#' do.call(set_rkeops_options, old)
#' @name rkeops2_compat
NULL

#' @rdname rkeops2_compat
#' @export
rkeops_use_cpu <- function(ncore = NULL) {
  if (is.numeric(ncore) && length(ncore) == 1 && !is.na(ncore) && ncore == 0) ncore <- NULL
  use_cpu(ncore)
}

#' @rdname rkeops2_compat
#' @export
rkeops_use_gpu <- function(device = -1) {
  if (is.numeric(device) && length(device) == 1 && !is.na(device) && device == -1) device <- 0L
  use_gpu(device)
}

#' @rdname rkeops2_compat
#' @export
rkeops_enable_verbosity <- function() invisible(set_rkeops_options(verbose = TRUE))

#' @rdname rkeops2_compat
#' @export
rkeops_disable_verbosity <- function() invisible(set_rkeops_options(verbose = FALSE))

#' @rdname rkeops2_compat
#' @export
set_rkeops_cache_dir <- function(dir = NULL) invisible(set_rkeops_options(cache_dir = dir))
