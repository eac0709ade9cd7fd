# The vector width the headers choose (RK_VBYTES, simd.h) is the width the
# compiler emits, whatever the tuning: GCC's Intel tunings prefer 256-bit
# vectors, and a vector operation written as a loop over lanes was then
# split into scalar or half-width instructions (16 scalar vfmadd231ss for one
# 512-bit fma). Checked on the object code, deterministically: an operator
# compiled with an Intel AVX-512 target and its default tuning must contain
# no more scalar FMAs and half-width (ymm) arithmetic than the same operator
# compiled with 512-bit vectors forced.

# Instruction counts of a compiled operator's object code.
object_profile <- function(op) {
  so <- file.path(dirname(op()$source_file), "operator.so")
  asm <- system2("objdump", c("-d", "--no-show-raw-insn", shQuote(so)), stdout = TRUE)
  mnemonic <- sub("^\\s*[0-9a-f]+:\\s+(\\S+).*$", "\\1", asm)
  arith <- "^v(fn?m(add|sub)[0-9]{3}|add|sub|mul|div|sqrt|min|max)p[sd]$"
  c(scalar_fma = sum(grepl("^vfn?m(add|sub)[0-9]{3}s[sd]$", mnemonic)),
    zmm_fma = sum(grepl("^vfn?m(add|sub)[0-9]{3}p[sd]$", mnemonic) & grepl("zmm", asm)),
    ymm_arith = sum(grepl(arith, mnemonic) & grepl("ymm", asm) & !grepl("zmm", asm)))
}

compile_with <- function(formula, args, flags, precision = "float32") {
  set_rkeops_options(compile_flags = flags, precision = precision)
  keops_kernel(formula, args)
}

skip_unless_x86_objdump <- function() {
  skip_if_not(R.version$arch %in% c("x86_64", "amd64"), "object code checks are for x86-64")
  skip_if(!nzchar(Sys.which("objdump")), "objdump (binutils) is not installed")
}

gauss <- "Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)"
gauss_args <- c("x = Vi(3)", "y = Vj(3)", "b = Vj(1)", "s = Pm(1)")
cases <- list(
  list(name = "Gaussian float32", formula = gauss, precision = "float32"),
  list(name = "Gaussian float64", formula = gauss, precision = "float64"),
  list(name = "Sqrt kernel float32", precision = "float32",
       formula = "Sum_Reduction(Sqrt(SqDist(x, y)) * b, 0)"),
  list(name = "LogSumExp float64", precision = "float64",
       formula = "LogSumExp_Reduction(-s * SqNorm2(x - y), 0)")
)

test_that("an Intel AVX-512 tuning emits full-width vectors", {
  skip_unless_x86_objdump()
  local_clean_options()
  intel <- "-O3 -march=icelake-server"
  probe <- tryCatch(compile_with(gauss, gauss_args, intel), rkeops_compile_error = function(e) NULL)
  skip_if(is.null(probe), "the compiler does not know -march=icelake-server")
  for (case in cases) {
    default <- object_profile(compile_with(case$formula, gauss_args, intel, case$precision))
    forced <- object_profile(compile_with(case$formula, gauss_args,
                                          paste(intel, "-mprefer-vector-width=512"), case$precision))
    expect_gt(default[["zmm_fma"]], 0, label = paste(case$name, "zmm FMAs"))
    expect_lte(default[["scalar_fma"]], forced[["scalar_fma"]],
               label = paste(case$name, "scalar FMAs"))
    expect_lte(default[["ymm_arith"]], forced[["ymm_arith"]],
               label = paste(case$name, "half-width arithmetic"))
  }
})

test_that("the default flags emit full-width vectors on this machine", {
  skip_unless_x86_objdump()
  skip_if_not(any(grepl("avx512f", readLines("/proc/cpuinfo", warn = FALSE))), "no AVX-512 on this CPU")
  local_clean_options()
  native <- object_profile(compile_with(gauss, gauss_args, "-O3 -march=native"))
  forced <- object_profile(compile_with(gauss, gauss_args, "-O3 -march=native -mprefer-vector-width=512"))
  expect_gt(native[["zmm_fma"]], 0)
  expect_lte(native[["scalar_fma"]], forced[["scalar_fma"]])
  expect_lte(native[["ymm_arith"]], forced[["ymm_arith"]])
})
