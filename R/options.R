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
# Built once: get_option() runs several times per operator call.
.option_defaults <- option_defaults()

#' rkeops options
#'
#' All options of rkeops, on one page. Each can be set with
#' [set_rkeops_options()] (or `options(rkeops.<name> = ...)`), or from the
#' environment variable `RKEOPS_<NAME>` when the R option is unset. The
#' three ways are checked alike: a bad value set with `options()` or in the
#' environment is an error (class `rkeops_option_error`) with the message
#' `set_rkeops_options()` gives, naming where it came from, as soon as it
#' is read.
#'
#' An operator keeps the `precision`, `compiler`, `compile_flags` and `simd`
#' in effect when it was made (see [keops_kernel()]); the other options
#' (`backend`, `device`, `threads`, `gpu_block_size`, `cuda_arch`,
#' `cache_dir`, `verbose`, `progress`) are read at each call.
#'
#' RKeOps 2.x names are accepted as aliases by [set_rkeops_options()] and
#' [get_rkeops_options()]: `device_id` (= `device`; `-1` means 0) and
#' `verbosity` (= `verbose`). So are the 2.x helpers
#' [rkeops_use_cpu()], [rkeops_use_gpu()], [rkeops_enable_verbosity()],
#' [rkeops_disable_verbosity()] and [set_rkeops_cache_dir()].
#'
#' \describe{
#'   \item{`backend`}{`"CPU"` (default), `"GPU"` (an NVIDIA GPU, see
#'     [rkeops_gpu]) or `"GPU_EMULATION"` (the GPU kernel run on the CPU, for
#'     tests); set with [use_cpu()] and [use_gpu()].}
#'   \item{`device`}{GPU device number, default 0; set with [use_gpu()].}
#'   \item{`threads`}{number of CPU threads; `NULL` (default) uses all cores
#'     allowed, respecting `OMP_THREAD_LIMIT`, the option `mc.cores` and R CMD
#'     check's two-core limit. Set with [use_cpu()]. At most 4 threads per
#'     logical core, and never more than 1024: a larger value is capped with
#'     a warning (class `rkeops_option_warning`; OpenMP aborts the whole R
#'     process when it cannot create the threads asked for). In a process
#'     forked from the one that loaded rkeops (`parallel::mclapply()`,
#'     future's `multicore` plan), operators run with one thread: OpenMP's
#'     thread pool does not survive `fork()`, and a forked child that uses
#'     it blocks forever.}
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
#' `set_rkeops_options()` takes options as named arguments,
#' `set_rkeops_options(precision = "float64")`, or as one list, as RKeOps
#' 2.x did: `set_rkeops_options(list(precision = "float64"))`. With no
#' argument (or `NULL`), it resets every option: each goes back to its
#' `RKEOPS_<NAME>` environment variable or its default.
#'
#' The RKeOps 2.x option names are accepted as aliases: `device_id` for
#' `device` (`-1`, 2.x's "default GPU", means device 0) and `verbosity` for
#' `verbose` (`0`/`1` or `FALSE`/`TRUE`).
#'
#' Values are checked when set, and again when used: a value given with
#' `options(rkeops.<name> = ...)` or in the environment variable
#' `RKEOPS_<NAME>` gets the same check and the same message (naming where
#' the value came from) the first time an operator or
#' `get_rkeops_options()` reads it.
#'
#' @param name optional option name (or 2.x alias); `NULL` returns all
#'   options as a list.
#' @param ... options to set, as `name = value` (see [rkeops_options]), or a
#'   single named list of them; a `NULL` value unsets the option (the
#'   `RKEOPS_<NAME>` environment variable or the default applies again).
#'   No argument resets every option.
#' @return `get_rkeops_options()`: the value in effect of one option, or a
#'   named list of all. `set_rkeops_options()`: the previous settings of the
#'   options it changed (`NULL` where unset; all options for a reset),
#'   invisibly, so that `do.call(set_rkeops_options, old)` restores them
#'   exactly.
#' @examples
#' get_rkeops_options()
#' old <- set_rkeops_options(precision = "float64")
#' set_rkeops_options(precision = old$precision)
#' set_rkeops_options(list(verbosity = 0))  # RKeOps 2.x style
#' @export
get_rkeops_options <- function(name = NULL) {
  if (!is.null(name)) return(get_option(canonical_option_name(name)))
  names <- names(.option_defaults)
  stats::setNames(lapply(names, get_option), names)
}

#' @rdname get_rkeops_options
#' @export
set_rkeops_options <- function(...) {
  new <- list(...)
  if (length(new) == 0 || (length(new) == 1 && is.null(names(new)) && is.null(new[[1]]))) {
    return(invisible(reset_rkeops_options()))
  }
  if (length(new) == 1 && is.null(names(new)) && is.list(new[[1]])) {
    new <- new[[1]]  # RKeOps 2.x: set_rkeops_options(list(...))
    if (length(new) == 0) return(invisible(list()))
  }
  if (is.null(names(new)) || any(names(new) == "")) {
    rkeops_abort("set_rkeops_options() takes named arguments, e.g. set_rkeops_options(precision = \"float64\")",
                 class = "rkeops_option_error")
  }
  new <- translate_option_aliases(new)
  # Validate everything before changing anything: all or nothing.
  values <- Map(function(name, value) if (is.null(value)) NULL else validate_option(name, value),
                names(new), new)
  keys <- paste0("rkeops.", names(new))
  old <- stats::setNames(lapply(keys, getOption), names(new))
  opts <- stats::setNames(values, keys)
  options(opts)  # NULL unsets: back to RKEOPS_<NAME> or the default
  invisible(old)
}

# Unsets every rkeops.* option; returns the old values (NULL where unset).
reset_rkeops_options <- function() {
  names <- names(.option_defaults)
  keys <- paste0("rkeops.", names)
  old <- stats::setNames(lapply(keys, getOption), names)
  options(stats::setNames(vector("list", length(keys)), keys))
  old
}

# RKeOps 2.x option names, and what they are called here.
option_aliases <- c(device_id = "device", verbosity = "verbose")

canonical_option_name <- function(name) {
  if (is.character(name) && length(name) == 1 && !is.na(name) && name %in% names(option_aliases)) {
    name <- option_aliases[[name]]
  }
  check_option_name(name)
  name
}

# Renames 2.x aliases (and their 2.x values: device_id = -1 is device 0);
# an option given under both names is an error.
translate_option_aliases <- function(new) {
  nms <- vapply(names(new), canonical_option_name, "")
  if (anyDuplicated(nms)) {
    dup <- nms[duplicated(nms)][1]
    rkeops_abort(sprintf("option '%s' is given twice (%s)", dup,
                         paste0("'", names(new)[nms == dup], "'", collapse = " and ")),
                 class = "rkeops_option_error")
  }
  if ("device_id" %in% names(new) && identical(suppressWarnings(as.numeric(new$device_id)), -1)) {
    new["device_id"] <- list(0L)
  }
  names(new) <- nms
  new
}

check_option_name <- function(name) {
  known <- names(.option_defaults)
  if (!is.character(name) || length(name) != 1 || !name %in% known) {
    rkeops_abort(sprintf("unknown rkeops option '%s'; known options are: %s (RKeOps 2.x names: %s)",
                         paste(name, collapse = ","), paste(known, collapse = ", "),
                         paste(sprintf("%s = %s", names(option_aliases), option_aliases), collapse = ", ")),
                 class = "rkeops_option_error")
  }
}

# The value in effect of one option: the R option, else the environment
# variable, else the default. R options and environment variables are
# checked here with the validator set_rkeops_options() uses, so that
# options(rkeops.threads = "abc") or RKEOPS_THREADS=abc fail with the same
# message, naming where the value came from. Operators read options at
# every call, so the checked value is kept, keyed by the raw value: a call
# then costs a getOption() and an identical(), about a microsecond.
get_option <- function(name) {
  raw <- getOption(paste0("rkeops.", name))
  if (!is.null(raw)) return(checked_option(name, raw, "option"))
  env <- Sys.getenv(paste0("RKEOPS_", toupper(name)), unset = "")
  if (nzchar(env)) return(checked_option(name, env, "env"))
  .option_defaults[[name]]
}

.option_checked <- new.env(parent = emptyenv())

checked_option <- function(name, raw, source) {
  key <- paste0(source, ":", name)
  hit <- .option_checked[[key]]
  if (!is.null(hit) && identical(hit$raw, raw)) return(hit$value)
  from <- if (source == "env") {
    sprintf("the environment variable RKEOPS_%s=%s", toupper(name), raw)
  } else {
    sprintf("options(rkeops.%s = %s)", name, short_deparse(raw))
  }
  value <- validate_option(name, raw, from)
  assign(key, list(raw = raw, value = value), envir = .option_checked)
  value
}

short_deparse <- function(x) {
  text <- paste(deparse(x, width.cutoff = 60L, nlines = 2L), collapse = " ")
  if (nchar(text) > 60) paste0(substr(text, 1, 57), "...") else text
}

# The one check of each option's value, for set_rkeops_options(), R options
# and environment variables alike; `from` says where a value that is read
# (not set) came from. Returns the value normalised (e.g. "cpu" -> "CPU").
validate_option <- function(name, value, from = NULL) {
  bad <- function(expected) {
    rkeops_abort(sprintf("option '%s' must be %s%s", name, expected,
                         if (is.null(from)) "" else sprintf(" (set by %s)", from)),
                 class = "rkeops_option_error")
  }
  single_string <- function(x) is.character(x) && length(x) == 1 && !is.na(x)
  switch(name,
    backend = {
      if (!single_string(value) || !toupper(value) %in% c("CPU", "GPU", "GPU_EMULATION")) {
        bad("\"CPU\", \"GPU\" or \"GPU_EMULATION\"")
      }
      toupper(value)
    },
    device = {
      value <- suppressWarnings(as.integer(value))
      if (length(value) != 1 || is.na(value) || value < 0) bad("a non-negative integer")
      value
    },
    threads = {
      if (is.null(value)) return(NULL)
      n <- if (is.numeric(value) || single_string(value)) suppressWarnings(as.numeric(value)) else NA
      if (length(n) != 1 || is.na(n) || n < 1) bad("a positive integer or NULL")
      cap <- max_threads()
      if (n > cap) {
        rkeops_warn(sprintf(paste("option 'threads' = %s%s is more than %d (4 threads per core of",
                                  "this machine, at most 1024): using %d threads"),
                            format(n, scientific = n >= 1e6),
                            if (is.null(from)) "" else sprintf(" (set by %s)", from), cap, cap),
                    class = "rkeops_option_warning")
        n <- cap
      }
      as.integer(n)
    },
    precision = {
      if (!single_string(value) || !value %in% c("float32", "float64")) bad("\"float32\" or \"float64\"")
      value
    },
    verbose = , progress = {
      if (single_string(value) && value %in% c("0", "1")) value <- as.numeric(value)
      value <- if (is.logical(value) || is.numeric(value) || single_string(value)) as.logical(value) else NA
      if (length(value) != 1 || is.na(value)) bad("TRUE or FALSE")
      value
    },
    simd = {
      if (!single_string(value) || !value %in% c("native", "avx2", "generic")) {
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
      if (!single_string(value) || (name != "compile_flags" && !nzchar(value))) bad("a single string")
      value
    },
    check_option_name(name)
  )
}

# The most threads an operator may use: 4 per logical core, at most 1024.
# Asking libgomp for far more threads than that (use_cpu(1e5)) made it
# abort the whole R process when thread creation failed; more threads than
# cores never makes a reduction faster, and 4x leaves room for
# oversubscription on purpose. The engine applies the hard limit of 1024
# too (src/core/runtime/run_operator.cpp).
max_threads <- function() as.integer(min(1024L, 4L * detected_cores()))

#' Choose where operators run
#'
#' `use_cpu()` runs operators on the CPU with `ncore` threads; `use_gpu()`
#' selects an NVIDIA GPU (see [rkeops_gpu]). Without a GPU, `use_gpu()` warns
#' (class `rkeops_gpu_warning`) and operators then stop with a clear message
#' (class `rkeops_gpu_error`) until `use_cpu()` is called.
#'
#' The backend is read at each call, so an operator made before `use_gpu()`
#' runs on the GPU afterwards (and back on the CPU after `use_cpu()`);
#' its precision and compile flags stay those it was made with.
#'
#' @param ncore number of threads; `NULL` (default) uses every core allowed
#'   (see the `threads` entry of [rkeops_options]). More than 4 per core
#'   (at most 1024) is capped, with a warning of class
#'   `rkeops_option_warning`.
#' @param device GPU device number (0-based, as in `CUDA_VISIBLE_DEVICES`).
#' @return The previous options, invisibly.
#' @examples
#' use_cpu(ncore = 1)
#' use_cpu()
#' @export
use_cpu <- function(ncore = NULL) {
  if (!is.null(ncore)) {
    n <- if (is.numeric(ncore) || is.character(ncore)) suppressWarnings(as.numeric(ncore)) else NA
    if (length(n) != 1 || is.na(n) || n < 1) {
      rkeops_abort("'ncore' must be a positive integer or NULL", class = "rkeops_option_error")
    }
  }
  invisible(set_rkeops_options(backend = "CPU", threads = ncore))  # more than max_threads(): capped
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
#'
#' The precision applies to operators made afterwards: an operator keeps
#' the precision it was made with (see [keops_kernel()]), and a call can
#' ask for the other one with `op(input, precision = "float64")`.
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
