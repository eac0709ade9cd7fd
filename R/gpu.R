#' The GPU backend
#'
#' rkeops runs operators on NVIDIA GPUs. The kernel is generated from the
#' same formula code and the same reduction definitions as the CPU operator:
#' one GPU thread per output row, the reduced side read in tiles staged in
#' shared memory.
#'
#' @section Requirements:
#' * an NVIDIA GPU and its driver (`libcuda.so.1`): rkeops finds GPUs through
#'   the driver at run time, without linking to CUDA;
#' * the CUDA toolkit, with `nvcc`, **at run time**: operators are compiled
#'   for the formula when first run on a GPU (once: they are cached like CPU
#'   operators, see [get_rkeops_cache_dir()]). nvcc is looked for where it
#'   was found at installation, then in `CUDA_HOME/bin`, on the `PATH`, and
#'   in `/usr/local/cuda/bin`. The CUDA runtime is linked statically into
#'   each operator, so no CUDA library needs to be found when it is loaded.
#'
#' [check_rkeops()] lists the GPUs and the nvcc found.
#'
#' @section Choosing the device:
#' `use_gpu(device)` selects the GPU by its number, 0-based, among the
#' visible ones: the environment variable `CUDA_VISIBLE_DEVICES` (set before
#' R starts) restricts and renumbers them, e.g. with
#' `CUDA_VISIBLE_DEVICES=2,3`, `use_gpu(0)` is physical GPU 2. `use_cpu()`
#' switches back to the CPU. The backend is read at each call: an operator
#' made on the CPU runs on the GPU after `use_gpu()`, with the precision it
#' was made with, as on the CPU.
#'
#' Operators are compiled for the architectures given by the option
#' `cuda_arch` (see [rkeops_options]): `"native"` when a GPU is present,
#' else a fat binary for every architecture from 7.5 to 9.0 that the
#' installed nvcc supports (CUDA 13 dropped 7.0 and 7.2), plus PTX for newer
#' GPUs. The option `gpu_block_size` (default 192) sets the threads per
#' block. Memory: neither side has to fit in GPU memory. Output rows are
#' processed in chunks that fit in the GPU's free memory. The reduced side's
#' inputs are copied to the GPU once per call when they fit in about half of
#' it, else in chunks, once per chunk of output rows; the partial reductions
#' stay on the GPU between these chunks, so the result is that of one pass.
#'
#' @section Without a GPU:
#' `use_gpu()` warns (class `rkeops_gpu_warning`) when no GPU is found, and
#' operators then stop with a clear message (class `rkeops_gpu_error`)
#' instead of crashing, until `use_cpu()` is called.
#'
#' @section Emulation target:
#' `set_rkeops_options(backend = "GPU_EMULATION")` compiles the very same GPU
#' kernel source with the C++ compiler instead of nvcc, running each block's
#' threads as loops (blocks in parallel with OpenMP) and "device" buffers in
#' host memory. It needs no GPU and no CUDA: it exists to test the GPU code
#' (tiles, partial tiles, the grid-stride loop over rows, chunking) on any
#' machine, and is much slower than the CPU backend. The environment
#' variables `RKEOPS_GPU_CHUNK_ROWS` and `RKEOPS_GPU_CHUNK_COLS` cap the
#' output rows and the reduced-side rows per chunk (for tests).
#'
#' @name rkeops_gpu
#' @seealso [use_gpu()], [check_rkeops()], [rkeops_options]
#' @examples
#' \donttest{
#' old <- set_rkeops_options(cache_dir = tempfile("rkeops-example-"),
#'                           backend = "GPU_EMULATION", gpu_block_size = 32)
#' op <- keops_kernel("Sum_Reduction(Exp(-SqNorm2(x - y)), 0)",
#'                    c("x = Vi(3)", "y = Vj(3)"))
#' op(list(matrix(runif(30), 10), matrix(runif(45), 15)))
#' unlink(get_rkeops_cache_dir(), recursive = TRUE)
#' do.call(set_rkeops_options, old)
#' }
NULL

.gpu <- new.env(parent = emptyenv())
.gpu$nvcc_version <- list()

# GPUs seen by the NVIDIA driver (names by device number) and, when there
# are none, why. Asked once per session.
gpu_devices <- function() {
  if (is.null(.gpu$devices)) .gpu$devices <- rk_gpu_devices()
  .gpu$devices
}

# The nvcc to compile GPU operators with: the one recorded at installation,
# else CUDA_HOME/bin/nvcc, the PATH, /usr/local/cuda/bin/nvcc; "" if none.
find_nvcc <- function() {
  candidates <- c(recorded_toolchain()$nvcc,
                  if (nzchar(Sys.getenv("CUDA_HOME"))) file.path(Sys.getenv("CUDA_HOME"), "bin", "nvcc"),
                  Sys.which("nvcc"), "/usr/local/cuda/bin/nvcc")
  candidates <- candidates[nzchar(candidates)]
  found <- candidates[file.exists(candidates)]
  if (length(found)) unname(found[1]) else ""
}

# First line of `nvcc --version` mentioning the release (part of the cache key).
nvcc_version <- function(nvcc) {
  if (is.null(.gpu$nvcc_version[[nvcc]])) {
    out <- tryCatch(suppressWarnings(system2(shQuote(nvcc), "--version", stdout = TRUE, stderr = TRUE)),
                    error = function(e) character())
    v <- grep("release|Build", out, value = TRUE)
    .gpu$nvcc_version[[nvcc]] <- if (length(v)) paste(trimws(v), collapse = " ") else "unknown"
  }
  .gpu$nvcc_version[[nvcc]]
}

# Architectures: the option, else "native" with a GPU, else the
# architectures 7.0-9.0 this nvcc supports.
cuda_arch <- function(nvcc) {
  arch <- get_option("cuda_arch")
  if (!is.null(arch)) return(arch)
  if (length(gpu_devices()$names)) return("native")
  if (is.null(.gpu$default_arch)) {
    listed <- tryCatch(suppressWarnings(system2(shQuote(nvcc), "--list-gpu-arch", stdout = TRUE, stderr = TRUE)),
                       error = function(e) character())
    cc <- sub("^compute_", "", grep("^compute_[0-9]+$", trimws(listed), value = TRUE))
    wanted <- c("70", "75", "80", "86", "89", "90")
    arch <- intersect(wanted, cc)
    .gpu$default_arch <- if (length(arch)) paste(arch, collapse = ",") else "75,80,86,90"
  }
  .gpu$default_arch
}

# The backend string of the engine (src/core/build/nvcc.h) for an R backend.
gpu_backend_string <- function(backend, nvcc = find_nvcc()) {
  block <- get_option("gpu_block_size")
  if (backend == "GPU_EMULATION") return(sprintf("gpu_emulation:block=%d", block))
  sprintf("cuda:block=%d:arch=%s:nvcc=%s", block, cuda_arch(nvcc), nvcc_version(nvcc))
}

# The device number handed to the operator (-1 for CPU operators).
gpu_device_arg <- function(backend) {
  if (backend == "CPU") -1L else as.integer(get_option("device"))
}

no_gpu_message <- function(device) {
  d <- gpu_devices()
  if (!length(d$names)) {
    return(sprintf("no NVIDIA GPU on this machine (%s)", d$problem))
  }
  if (device >= length(d$names)) {
    return(sprintf("GPU device %d does not exist: %d GPU%s visible (%s)", device, length(d$names),
                   if (length(d$names) > 1) "s are" else " is",
                   paste(sprintf("%d: %s", seq_along(d$names) - 1, d$names), collapse = ", ")))
  }
  ""
}

warn_if_no_gpu <- function(device) {
  msg <- no_gpu_message(device)
  if (nzchar(msg)) {
    rkeops_warn(paste0(msg, "; operators will stop with an error until use_cpu() is called"),
                class = "rkeops_gpu_warning")
  }
  invisible(!nzchar(msg))
}

# Stops (class rkeops_gpu_error) when operators cannot run on `backend`.
gpu_check_runnable <- function(backend) {
  if (backend == "GPU_EMULATION") return(invisible(TRUE))
  msg <- no_gpu_message(get_option("device"))
  if (nzchar(msg)) {
    rkeops_abort(c(msg, "  use use_cpu() to run operators on the CPU"), class = "rkeops_gpu_error")
  }
  if (!nzchar(find_nvcc())) {
    rkeops_abort(c("the GPU backend needs the CUDA compiler nvcc at run time, and none was found",
                   "  install the CUDA toolkit, or set CUDA_HOME, or use use_cpu()"),
                 class = "rkeops_gpu_error")
  }
  invisible(TRUE)
}

# Compiles (without running) the GPU operator of `op` for real CUDA with
# nvcc: the cache entry (paths, command, compile time). For tests and for
# preparing a cache on a machine without a GPU.
gpu_compile_operator <- function(op, precision = NULL, backend = "GPU") {
  state <- environment(op)$state
  precision <- call_precision(state, precision)
  if (backend == "GPU" && !nzchar(find_nvcc())) {
    rkeops_abort("nvcc was not found", class = "rkeops_gpu_error")
  }
  load_variant(state, precision, backend)
}
