#' Check that rkeops can compile and run operators here
#'
#' Reports the C++ compiler and flags operators are built with, OpenMP, the
#' CUDA compiler and GPUs found, the cache directory, and then compiles and
#' runs a tiny formula, comparing its result with plain R.
#'
#' @return `TRUE` (invisibly) when the tiny formula compiled and gave the
#'   right result, `FALSE` otherwise.
#' @examples
#' \donttest{
#' old <- set_rkeops_options(cache_dir = tempfile("rkeops-check-"))
#' check_rkeops()
#' unlink(get_rkeops_cache_dir(), recursive = TRUE)
#' set_rkeops_options(cache_dir = old$cache_dir)
#' }
#' @export
check_rkeops <- function() {
  tc <- current_toolchain()
  rec <- recorded_toolchain()
  cli::cli_h1("rkeops {utils::packageVersion('rkeops')}")
  compiler <- rk_compiler_identity(tc$cxx)
  if (is.list(compiler)) {
    cli::cli_alert_danger("C++ compiler {.code {tc$cxx}}: {compiler$message}")
  } else {
    cli::cli_alert_success("C++ compiler {.code {tc$cxx}}: {compiler}")
  }
  cli::cli_alert_info("flags: {.code {paste(tc$std_flags, tc$opt_flags, tc$pic_flags)}}")
  if (nzchar(tc$openmp_flags)) {
    cli::cli_alert_success("OpenMP: {.code {tc$openmp_flags}}, {default_threads()} thread{?s} by default")
  } else {
    cli::cli_alert_warning("OpenMP: not available, operators run on one thread")
  }
  nvcc <- find_nvcc()
  if (nzchar(nvcc)) {
    cli::cli_alert_success("CUDA compiler: {.path {nvcc}} ({nvcc_version(nvcc)})")
  } else {
    cli::cli_alert_info("CUDA compiler: none found (only needed for GPUs)")
  }
  gpus <- list_gpus()
  if (length(gpus)) {
    cli::cli_alert_success("GPU{?s}: {gpus}")
  } else {
    cli::cli_alert_info("GPUs: none found ({gpu_devices()$problem}); see ?rkeops_gpu")
  }
  cli::cli_alert_info("backend {get_option('backend')}, precision {get_option('precision')}")
  cli::cli_alert_info("cache directory: {.path {get_rkeops_cache_dir()}}")
  ok <- tryCatch({
    op <- keops_kernel("Sum_Reduction(SqNorm2(x - y), 0)", c("x = Vi(3)", "y = Vj(3)"))
    x <- matrix(c(1, 4, 7, 2, 5, 8, 3, 6, 9), 3)
    y <- matrix(c(3, 6, 4, 7, 5, 8), 2)
    isTRUE(all.equal(as.vector(op(list(x, y))), c(87, 15, 51), tolerance = 1e-6))
  }, error = function(e) {
    cli::cli_alert_danger("test formula failed: {conditionMessage(e)}")
    FALSE
  })
  if (ok) cli::cli_alert_success("test formula compiled and gave the right result")
  invisible(ok)
}

# GPUs visible to the NVIDIA driver, by name; empty when there are none.
list_gpus <- function() {
  names <- gpu_devices()$names  # through the NVIDIA driver (R/gpu.R)
  if (length(names)) return(sprintf("%d: %s", seq_along(names) - 1, names))
  dir <- "/proc/driver/nvidia/gpus"
  if (!dir.exists(dir)) return(character())
  vapply(list.files(dir, full.names = TRUE), function(d) {
    info <- readLines(file.path(d, "information"), warn = FALSE)
    sub("^Model:\\s*", "", grep("^Model:", info, value = TRUE)[1])
  }, character(1), USE.NAMES = FALSE)
}
