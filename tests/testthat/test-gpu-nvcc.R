# Real CUDA operators compiled by nvcc. Without a GPU they cannot be run, but
# they are compiled, cached, and loaded (dlopen: the CUDA runtime is linked
# statically, so loading needs no GPU and no CUDA library); rkeops_run is not
# called here without a GPU.

skip_without_nvcc <- function() {
  skip_on_cran()
  skip_if(!nzchar(rkeops:::find_nvcc()), "nvcc (the CUDA compiler) was not found")
}

# Compiles `formula` for real CUDA; returns the cache entry (handle).
nvcc_compile <- function(formula, args, precision = "float32", arch = "75") {
  local_clean_options()
  set_rkeops_options(precision = precision, cuda_arch = arch)
  op <- keops_kernel(formula, args)
  rkeops:::gpu_compile_operator(op, precision = precision, backend = "GPU")
}

expect_cuda_entry <- function(h) {
  expect_true(file.exists(h$object_path))
  expect_true(file.exists(h$source_path))
  cmd <- paste(readLines(file.path(dirname(h$object_path), "command.txt")), collapse = " ")
  expect_match(cmd, "nvcc", fixed = TRUE)
  expect_match(cmd, "--cudart static", fixed = TRUE)
  expect_match(cmd, "-Xcompiler -fPIC -shared", fixed = TRUE)
  src <- paste(readLines(h$source_path), collapse = "\n")
  expect_match(src, "GPU operator (CUDA)", fixed = TRUE)
  expect_match(src, "rk::run_gpu<Formula", fixed = TRUE)
  # Loading with R's own dlopen too: the ABI symbols are exported.
  dll <- dyn.load(h$object_path, local = TRUE, now = TRUE)
  on.exit(dyn.unload(h$object_path))
  expect_s3_class(getNativeSymbolInfo("rkeops_abi_version", dll), "NativeSymbolInfo")
  expect_s3_class(getNativeSymbolInfo("rkeops_run", dll), "NativeSymbolInfo")
  expect_s3_class(getNativeSymbolInfo("rkeops_key", dll), "NativeSymbolInfo")
}

test_that("nvcc compiles the seed formula (default fat binary) into a loadable operator", {
  skip_without_nvcc()
  h <- nvcc_compile("Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)",
                    c("x = Vi(3)", "y = Vj(3)", "b = Vj(2)", "s = Pm(1)"), arch = NULL)
  expect_cuda_entry(h)
  cmd <- readLines(file.path(dirname(h$object_path), "command.txt"))
  if (!length(rkeops:::gpu_devices()$names)) expect_match(cmd, "code=sm_75", fixed = TRUE)
  message(sprintf("nvcc compile time of the seed formula (%s): %.1f s", rkeops:::cuda_arch(
    rkeops:::find_nvcc()), h$compile_seconds))
})

test_that("nvcc compiles KMin / ArgKMin, LogSumExp and a gradient", {
  skip_without_nvcc()
  expect_cuda_entry(nvcc_compile("KMin_ArgKMin_Reduction(SqNorm2(x - y), 5, 0)",
                                 c("x = Vi(3)", "y = Vj(3)")))
  expect_cuda_entry(nvcc_compile("ArgKMin_Reduction(SqNorm2(x - y), 3, 1)",
                                 c("x = Vi(3)", "y = Vj(3)"), precision = "float64"))
  expect_cuda_entry(nvcc_compile("LogSumExp_Reduction(-s * SqNorm2(x - y), 0)",
                                 c("x = Vi(3)", "y = Vj(3)", "s = Pm(1)")))
  expect_cuda_entry(nvcc_compile("Grad(Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0), x, e)",
                                 c("x = Vi(2)", "y = Vj(2)", "b = Vj(2)", "s = Pm(1)", "e = Vi(2)"),
                                 precision = "float64"))
})

test_that("nvcc architecture flags", {
  expect_identical(rkeops:::rk_nvcc_arch_flags("native"), "-arch=native")
  expect_identical(rkeops:::rk_nvcc_arch_flags("sm_75,86"),
                   paste("-gencode=arch=compute_75,code=sm_75 -gencode=arch=compute_86,code=sm_86",
                         "-gencode=arch=compute_86,code=compute_86"))
})

test_that("operators run on a real GPU and agree with the CPU", {
  skip_without_nvcc()
  skip_if(!length(rkeops:::gpu_devices()$names), "no NVIDIA GPU on this machine")
  local_clean_options()
  x <- rand_mat(1000, 3, seed = 1); y <- rand_mat(1500, 3, seed = 2); b <- rand_mat(1500, 2, seed = 3)
  for (precision in c("float64", "float32")) {
    set_rkeops_options(precision = precision, backend = "CPU")
    op <- keops_kernel("Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)",
                       c("x = Vi(3)", "y = Vj(3)", "b = Vj(2)", "s = Pm(1)"))
    cpu <- op(list(x, y, b, 2))
    use_gpu(0)
    expect_close(op(list(x, y, b, 2)), cpu, if (precision == "float64") 1e-12 else 1e-5)
  }
})
