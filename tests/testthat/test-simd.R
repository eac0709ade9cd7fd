# The instruction-set paths: the same formulas compiled with 512-bit
# (native here), 256-bit and 128-bit SIMD vectors give the same results.

simd_formulas <- list(
  gauss = list("Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)",
               c("x = Vi(3)", "y = Vj(3)", "b = Vj(2)", "s = Pm(1)")),
  lse = list("LogSumExp_Reduction(-SqNorm2(x - y), 1)", c("x = Vi(3)", "y = Vj(3)")),
  knn = list("ArgKMin_Reduction(SqNorm2(x - y), 5, 0)", c("x = Vi(3)", "y = Vj(3)")),
  mix = list("Max_Reduction(Log(1 + SqNorm2(x)) * Sin(x|y) + Sqrt(Abs(x - y)) + Rsqrt(1 + y), 0)",
             c("x = Vi(3)", "y = Vj(3)"))
)

simd_inputs <- function(seed) {
  list(x = rand_mat(23, 3, seed), y = rand_mat(77, 3, seed + 1),
       b = rand_mat(77, 2, seed + 2, -1, 1), s = 2)
}

run_with_simd <- function(simd, precision, case) {
  local_clean_options()
  set_rkeops_options(simd = simd, precision = precision)
  f <- simd_formulas[[case]]
  op <- keops_kernel(f[[1]], f[[2]])
  d <- simd_inputs(7)
  names_used <- sub(" .*", "", f[[2]])
  op(d[names_used])
}

for (precision in c("float32", "float64")) {
  test_that(paste("avx2 and generic SIMD paths agree with the native path,", precision), {
    tol <- if (precision == "float64") 1e-13 else 2e-6
    for (case in names(simd_formulas)) {
      native <- run_with_simd("native", precision, case)
      for (simd in c("avx2", "generic")) {
        other <- run_with_simd(simd, precision, case)
        expect_equal(dim(other), dim(native))
        if (case == "knn") {
          expect_identical(other, native, info = paste(case, simd))  # indices: exact
        } else {
          expect_lt(max(abs(other - native)) / max(abs(native)), tol)
        }
      }
    }
  })
}

test_that("the simd option is validated and changes the compiled operator", {
  local_clean_options()
  expect_error(set_rkeops_options(simd = "avx9"), class = "rkeops_option_error", regexp = "native")
  set_rkeops_options(simd = "generic")
  op <- keops_kernel(simd_formulas$gauss[[1]], simd_formulas$gauss[[2]])
  expect_match(readLines(file.path(dirname(op()$source_file), "command.txt")), "RK_VBYTES=16")
})
