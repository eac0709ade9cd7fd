# Options. Every option lives in R's options() as rkeops.<name>, with an
# RKEOPS_<NAME> environment variable as fallback, and is documented on the
# help page ?rkeops_options.

option_defaults <- function() {
  list(
    backend = "CPU",
    device = 0L,
    threads = NULL,
    precision = "float32",
    cache_dir = NULL,
    compiler = NULL,
    compile_flags = "-O3 -march=native",
    simd = "native",
    verbose = FALSE,
    progress = NULL,
    gpu_block_size = 192L,
    cuda_arch = NULL
  )
}

#' rkeops options
#'
#' All options of rkeops, on one page. Each can be set with
#' [set_rkeops_options()] (or `options(rkeops.<name> = ...)`), or from the
#' environment variable `RKEOPS_<NAME>` when the R option is unset.
#'
#' \describe{
#'   \item{`backend`}{`"CPU"` (default), `"GPU"` (an NVIDIA GPU, see
#'     [rkeops_gpu]) or `"GPU_EMULATION"` (the GPU kernel run on the CPU, for
#'     tests); set with [use_cpu()] and [use_gpu()].}
#'   \item{`device`}{GPU device number, default 0; set with [use_gpu()].}
#'   \item{`threads`}{number of CPU threads; `NULL` (default) uses all cores
#'     allowed, respecting `OMP_THREAD_LIMIT`, the option `mc.cores` and R CMD
#'     check's two-core limit. Set with [use_cpu()].}
#'   \item{`precision`}{`"float32"` (default) or `"float64"`: the type every
#'     intermediate value is computed in. Inputs are cast to it; results come
#'     back as R doubles. See [rkeops_use_float32()].}
#'   \item{`cache_dir`}{where compiled operators are kept; default
#'     `tools::R_user_dir("rkeops", "cache")`. See [get_rkeops_cache_dir()].}
#'   \item{`compiler`}{the C++ compiler command; default the one R was
#'     configured with (`R CMD config CXX17`), as recorded at installation.}
#'   \item{`compile_flags`}{optimisation flags for operators; default
#'     `"-O3 -march=native"` (operators are built on the machine that runs
#'     them).}
#'   \item{`simd`}{the instruction set generated operators use for their
#'     SIMD lanes: `"native"` (default: the widest this CPU has, 512-bit with
#'     AVX-512, 256-bit with AVX2, else 128-bit), `"avx2"` (256-bit vectors,
#'     no AVX-512), or `"generic"` (128-bit vectors, SSE2 or NEON level).
#'     The narrower paths exist for portability and for testing: results
#'     agree with the native path up to rounding.}
#'   \item{`gpu_block_size`}{threads per block of GPU kernels (and
#'     reduced-side rows per shared-memory tile), default 192; lowered
#'     automatically when the tile would not fit in shared memory.}
#'   \item{`cuda_arch`}{GPU architectures nvcc compiles for: `"native"`
#'     (the GPUs of this machine), or compute capabilities such as
#'     `"75,80,86,90"`; `NULL` (default) means `"native"` when a GPU is
#'     present, else a fat binary for every architecture from 7.5 to 9.0 that
#'     this nvcc supports. See [rkeops_gpu].}
#'   \item{`verbose`}{`TRUE` to print a message when an operator is
#'     compiled, with the time taken.}
#'   \item{`progress`}{`TRUE` to show a progress bar (on the console's
#'     error stream) during computations expected to last more than 3
#'     seconds, `FALSE` never to; `NULL` (default) shows it in interactive
#'     sessions only. The bar moves between chunks of output rows, the same
#'     points at which an interrupt (Ctrl-C) stops the computation.}
#' }
#'
#' @name rkeops_options
#' @seealso [get_rkeops_options()], [set_rkeops_options()]
NULL

#' Get or set rkeops options
#'
#' @param name optional option name; `NULL` returns all options as a list.
#' @param ... options to set, as `name = value` (see [rkeops_options]); a
#'   `NULL` value unsets the option (the `RKEOPS_<NAME>` environment variable
#'   or the default applies again).
#' @return `get_rkeops_options()`: the value in effect of one option, or a
#'   named list of all. `set_rkeops_options()`: the previous settings of the
#'   options it changed (`NULL` where unset), invisibly, so that
#'   `do.call(set_rkeops_options, old)` restores them exactly.
#' @examples
#' get_rkeops_options()
#' old <- set_rkeops_options(precision = "float64")
#' set_rkeops_options(precision = old$precision)
#' @export
get_rkeops_options <- function(name = NULL) {
  defaults <- option_defaults()
  if (!is.null(name)) {
    check_option_name(name)
    return(get_option(name))
  }
  stats::setNames(lapply(names(defaults), get_option), names(defaults))
}

#' @rdname get_rkeops_options
#' @export
set_rkeops_options <- function(...) {
  new <- list(...)
  if (length(new) == 0) return(invisible(list()))
  if (is.null(names(new)) || any(names(new) == "")) {
    rkeops_abort("set_rkeops_options() takes named arguments, e.g. set_rkeops_options(precision = \"float64\")",
                 class = "rkeops_option_error")
  }
  # Validate everything before changing anything: all or nothing.
  for (name in names(new)) check_option_name(name)
  values <- Map(function(name, value) if (is.null(value)) NULL else validate_option(name, value),
                names(new), new)
  keys <- paste0("rkeops.", names(new))
  old <- stats::setNames(lapply(keys, getOption), names(new))
  opts <- stats::setNames(values, keys)
  options(opts)  # NULL unsets: back to RKEOPS_<NAME> or the default
  invisible(old)
}

check_option_name <- function(name) {
  known <- names(option_defaults())
  if (!is.character(name) || length(name) != 1 || !name %in% known) {
    rkeops_abort(sprintf("unknown rkeops option '%s'; known options are: %s",
                         paste(name, collapse = ","), paste(known, collapse = ", ")),
                 class = "rkeops_option_error")
  }
}

get_option <- function(name) {
  value <- getOption(paste0("rkeops.", name))
  if (is.null(value)) {
    env <- Sys.getenv(paste0("RKEOPS_", toupper(name)), unset = "")
    if (nzchar(env)) value <- validate_option(name, env)
  }
  if (is.null(value)) value <- option_defaults()[[name]]
  value
}

validate_option <- function(name, value) {
  bad <- function(expected) {
    rkeops_abort(sprintf("option '%s' must be %s", name, expected), class = "rkeops_option_error")
  }
  switch(name,
    backend = {
      value <- toupper(as.character(value))
      if (length(value) != 1 || !value %in% c("CPU", "GPU", "GPU_EMULATION")) {
        bad("\"CPU\", \"GPU\" or \"GPU_EMULATION\"")
      }
      value
    },
    device = {
      value <- suppressWarnings(as.integer(value))
      if (length(value) != 1 || is.na(value) || value < 0) bad("a non-negative integer")
      value
    },
    threads = {
      if (is.null(value)) return(NULL)
      value <- suppressWarnings(as.integer(value))
      if (length(value) != 1 || is.na(value) || value < 1) bad("a positive integer or NULL")
      value
    },
    precision = {
      value <- as.character(value)
      if (length(value) != 1 || !value %in% c("float32", "float64")) bad("\"float32\" or \"float64\"")
      value
    },
    verbose = , progress = {
      value <- as.logical(value)
      if (length(value) != 1 || is.na(value)) bad("TRUE or FALSE")
      value
    },
    simd = {
      value <- as.character(value)
      if (length(value) != 1 || !value %in% c("native", "avx2", "generic")) {
        bad("\"native\", \"avx2\" or \"generic\"")
      }
      value
    },
    gpu_block_size = {
      value <- suppressWarnings(as.integer(value))
      if (length(value) != 1 || is.na(value) || value < 1 || value > 1024) bad("an integer in 1..1024")
      value
    },
    cache_dir = , compiler = , compile_flags = , cuda_arch = {
      if (is.null(value)) return(NULL)
      if (!is.character(value) || length(value) != 1 || (name != "compile_flags" && !nzchar(value))) {
        bad("a single string")
      }
      value
    }
  )
}

#' Choose where operators run
#'
#' `use_cpu()` runs operators on the CPU with `ncore` threads; `use_gpu()`
#' selects an NVIDIA GPU (see [rkeops_gpu]). Without a GPU, `use_gpu()` warns
#' (class `rkeops_gpu_warning`) and operators then stop with a clear message
#' (class `rkeops_gpu_error`) until `use_cpu()` is called.
#'
#' @param ncore number of threads; `NULL` (default) uses every core allowed
#'   (see the `threads` entry of [rkeops_options]).
#' @param device GPU device number (0-based, as in `CUDA_VISIBLE_DEVICES`).
#' @return The previous options, invisibly.
#' @examples
#' use_cpu(ncore = 1)
#' use_cpu()
#' @export
use_cpu <- function(ncore = NULL) {
  if (!is.null(ncore)) {
    ncore <- suppressWarnings(as.integer(ncore))
    if (length(ncore) != 1 || is.na(ncore) || ncore < 1) {
      rkeops_abort("'ncore' must be a positive integer or NULL", class = "rkeops_option_error")
    }
  }
  invisible(set_rkeops_options(backend = "CPU", threads = ncore))
}

#' @rdname use_cpu
#' @export
use_gpu <- function(device = 0) {
  old <- set_rkeops_options(backend = "GPU", device = device)
  warn_if_no_gpu(get_option("device"))  # R/gpu.R
  invisible(old)
}

#' Choose the precision of computations
#'
#' `float32` (the default) is about twice as fast and uses half the memory
#' traffic; sums are accumulated blockwise, so a sum of 10^6 terms keeps about
#' 1e-6 relative accuracy. `float64` gives full double precision.
#' @return The previous options, invisibly.
#' @examples
#' rkeops_use_float64()
#' rkeops_use_float32()
#' @export
rkeops_use_float32 <- function() invisible(set_rkeops_options(precision = "float32"))

#' @rdname rkeops_use_float32
#' @export
rkeops_use_float64 <- function() invisible(set_rkeops_options(precision = "float64"))

# Threads to use: the option, else every core allowed.
default_threads <- function() {
  n <- get_option("threads")
  if (!is.null(n)) return(n)
  n <- detected_cores()
  limits <- c(
    suppressWarnings(as.integer(Sys.getenv("OMP_THREAD_LIMIT", ""))),
    suppressWarnings(as.integer(getOption("mc.cores", NA))),
    if (nzchar(Sys.getenv("_R_CHECK_LIMIT_CORES_", ""))) 2L
  )
  limits <- limits[!is.na(limits) & limits >= 1]
  as.integer(min(c(n, limits)))
}

# detectCores() starts a shell on some systems (~10 ms): ask once per session.
.cores <- new.env(parent = emptyenv())
detected_cores <- function() {
  if (is.null(.cores$n)) {
    n <- parallel::detectCores(logical = TRUE)
    .cores$n <- if (is.na(n) || n < 1) 1L else as.integer(n)
  }
  .cores$n
}
