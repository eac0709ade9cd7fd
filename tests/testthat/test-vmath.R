# Accuracy and special values of the vector math that generated operators
# use (inst/include/rkeops/vmath.h), measured through real operators: each
# output row i picks the value of Fun(y_j) for j = i, so every value is
# computed in a SIMD lane of the generated kernel.

vm_functions <- list(
  Exp = list(f = exp, lo = -87, hi = 88),
  Log = list(f = log, lo = 1e-30, hi = 1e30, log_scale = TRUE),
  Sqrt = list(f = sqrt, lo = 1e-30, hi = 1e30, log_scale = TRUE),
  Rsqrt = list(f = function(x) 1 / sqrt(x), lo = 1e-30, hi = 1e30, log_scale = TRUE),
  Inv = list(f = function(x) 1 / x, lo = 1e-30, hi = 1e30, log_scale = TRUE),
  Sin = list(f = sin, lo = -1e4, hi = 1e4),
  Cos = list(f = cos, lo = -1e4, hi = 1e4)
)

# Values as float32 would hold them.
as_float32 <- function(x) readBin(writeBin(x, raw(), size = 4), "double", size = 4, n = length(x))

# Error in units in the last place of the reference, for the given precision.
ulp_error <- function(got, ref, precision) {
  bits <- if (precision == "float32") 23 else 52
  tiny <- if (precision == "float32") 2^-126 else 2^-1022
  ulp <- 2^(floor(log2(pmax(abs(ref), tiny))) - bits)
  abs(got - ref) / ulp
}

pick_op <- function(fun) {
  get_op(sprintf("Sum_Reduction(IfElse(0.5 - Abs(i - j), %s(y), 0), 0)", fun),
         c("i = Vi(1)", "j = Vj(1)", "y = Vj(1)"))
}

run_pick <- function(fun, y) {
  n <- length(y)
  as.vector(pick_op(fun)(list(matrix(0:(n - 1)), matrix(0:(n - 1)), matrix(y))))
}

for (precision in c("float32", "float64")) {
  test_that(paste("vector math is accurate to 2 ulp,", precision), {
    local_clean_options()
    set_rkeops_options(precision = precision)
    set.seed(11)
    n <- 2048  # a multiple of every SIMD width: all values come from vector lanes
    for (fun in names(vm_functions)) {
      spec <- vm_functions[[fun]]
      y <- if (isTRUE(spec$log_scale)) exp(runif(n, log(spec$lo), log(spec$hi))) else runif(n, spec$lo, spec$hi)
      if (precision == "float32") y <- as_float32(y)
      got <- run_pick(fun, y)
      ref <- spec$f(y)
      err <- max(ulp_error(got, ref, precision))
      expect_lt(err, 2, label = sprintf("%s max ulp error (%.2f)", fun, err))
    }
  })

  test_that(paste("vector math special values follow C (and KeOps for Rsqrt),", precision), {
    local_clean_options()
    set_rkeops_options(precision = precision)
    # 1e-40 is subnormal in float32: operators read it as 0 (see
    # ?keops_kernel, "Missing and special values"); in float64 it is normal.
    specials <- c(NaN, Inf, -Inf, 0, -1, 1, 1e-40, -0.5)
    y <- rep(specials, length.out = 64)
    f32 <- precision == "float32"
    expected <- list(
      Exp = c(NaN, Inf, 0, 1, exp(-1), exp(1), 1, exp(-0.5)),
      Log = c(NaN, Inf, NaN, -Inf, NaN, 0, if (f32) -Inf else log(1e-40), NaN),
      Sqrt = c(NaN, Inf, NaN, 0, NaN, 1, if (f32) 0 else sqrt(1e-40), NaN),
      Rsqrt = c(NaN, 0, NaN, 0, NaN, 1, if (f32) 0 else 1 / sqrt(1e-40), NaN),
      Sin = c(NaN, NaN, NaN, 0, sin(-1), sin(1), if (f32) 0 else 1e-40, sin(-0.5)),
      Cos = c(NaN, NaN, NaN, 1, cos(1), cos(1), 1, cos(0.5))
    )
    for (fun in names(expected)) {
      got <- run_pick(fun, y)[seq_along(specials)]
      want <- expected[[fun]]
      expect_identical(is.nan(got), is.nan(want), label = paste(fun, "NaN pattern"))
      ok <- !is.nan(want)
      tol <- if (precision == "float32") 2e-6 else 1e-14
      expect_true(all(got[ok] == want[ok] | abs(got[ok] - want[ok]) <= tol * abs(want[ok])),
                  label = paste(fun, "special values"))
    }
  })
}
