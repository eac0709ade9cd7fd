# Every operation and named function of the LazyTensor layer, computed by
# rkeops (sum over j and over i, float64 and float32) against brute-force R
# on every pair. The operations are concatenated into a few expressions, so
# that each group is one compiled operator per precision and index.

M <- 7
N <- 9
X <- rand_mat(M, 3, seed = 201, lo = 0.2, hi = 1.2)
Y <- rand_mat(N, 3, seed = 202, lo = 0.1, hi = 0.9)
W9 <- c(2, 0.5, 0.1, 0.5, 1, 0.2, 0.1, 0.2, 3)  # a symmetric 3 x 3 matrix, row-major
A6 <- c(1, -2, 0.5, 3, 0.25, -1)

# name = list(lazy = function of LazyTensors x, y; ref = the same on one pair
# of R vectors a, b). Where R's operator means the same, one function serves.
same <- function(f) list(lazy = f, ref = f)
elementwise <- list(
  add = same(function(x, y) x + y),
  sub = same(function(x, y) x - y),
  mul = same(function(x, y) x * y),
  div = same(function(x, y) x / y),
  neg = same(function(x, y) -x + 2 * y),
  scal_param = same(function(x, y) 2.5 * x - y / 0.3),
  param_vec = list(lazy = function(x, y) x * Pm(c(1, -1, 2)), ref = function(a, b) a * c(1, -1, 2)),
  square = same(function(x, y) (x - y)^2),
  pow3 = same(function(x, y) x^3),
  pow_neg = same(function(x, y) x^-2),
  pow_half = same(function(x, y) x^0.5),
  pow_mhalf = same(function(x, y) x^-0.5),
  powf = same(function(x, y) x^1.5),
  powf_lazy = same(function(x, y) x^y),
  exp = same(function(x, y) exp(x - y)),
  log = same(function(x, y) log(x + y)),
  log_base = same(function(x, y) log(x + y, base = 3)),
  log2 = same(function(x, y) log2(x)),
  log10 = same(function(x, y) log10(x)),
  log1p = same(function(x, y) log1p(x)),
  expm1 = same(function(x, y) expm1(x - y)),
  sqrt = same(function(x, y) sqrt(x * y)),
  abs = same(function(x, y) abs(x - y)),
  sign = same(function(x, y) sign(x - y)),
  sin = same(function(x, y) sin(x - y)),
  cos = same(function(x, y) cos(x + y)),
  tan = same(function(x, y) tan(x - y)),
  asin = same(function(x, y) asin((x - y) / 2)),
  acos = same(function(x, y) acos((x - y) / 2)),
  atan = same(function(x, y) atan(x - y)),
  sinh = same(function(x, y) sinh(x - y)),
  cosh = same(function(x, y) cosh(x - y)),
  tanh = same(function(x, y) tanh(x - y)),
  floor = same(function(x, y) floor(3 * (x - y))),
  ceiling = same(function(x, y) ceiling(3 * (x - y))),
  trunc = same(function(x, y) trunc(3 * (x - y))),
  round = same(function(x, y) round(3 * (x - y))),
  round2 = same(function(x, y) round(3 * (x - y), 2)),
  lt = same(function(x, y) x < y),
  gt = same(function(x, y) x > y),
  le = same(function(x, y) x <= y),
  ge = same(function(x, y) x >= y),
  eq = same(function(x, y) (x == x) + (x == y)),
  ne = same(function(x, y) x != y),
  modop = same(function(x, y) (3 * x) %% 0.7),
  intdiv = same(function(x, y) (3 * x) %/% y),
  inv = list(lazy = function(x, y) inv(x + y), ref = function(a, b) 1 / (a + b)),
  rsqrt = list(lazy = function(x, y) rsqrt(x * y), ref = function(a, b) 1 / sqrt(a * b)),
  square_fn = list(lazy = function(x, y) square(x - y), ref = function(a, b) (a - b)^2),
  relu = list(lazy = function(x, y) relu(x - y), ref = function(a, b) pmax(a - b, 0)),
  step = list(lazy = function(x, y) step(x - y), ref = function(a, b) as.numeric(a - b >= 0)),
  xlogx = list(lazy = function(x, y) xlogx(x), ref = function(a, b) a * log(a)),
  sinxdivx = list(lazy = function(x, y) sinxdivx(x - y), ref = function(a, b) sin(a - b) / (a - b)),
  clamp = list(lazy = function(x, y) clamp(x, y / 2, 0.95), ref = function(a, b) pmin(pmax(a, b / 2), 0.95)),
  clampint = list(lazy = function(x, y) clampint(3 * x, 1, 2), ref = function(a, b) pmin(pmax(3 * a, 1), 2)),
  mod = list(lazy = function(x, y) mod(3 * x, 2, 0.5), ref = function(a, b) 3 * a - 2 * floor((3 * a - 0.5) / 2)),
  atan2 = list(lazy = function(x, y) atan2(x - y, y - 0.5), ref = function(a, b) base::atan2(a - b, b - 0.5)),
  ifelse = list(lazy = function(x, y) ifelse(x - y, x, 2 * y), ref = function(a, b) base::ifelse(a - b >= 0, a, 2 * b))
)

structure_ops <- list(
  sqnorm2 = list(lazy = function(x, y) sqnorm2(x - y), ref = function(a, b) sum((a - b)^2)),
  norm2 = list(lazy = function(x, y) norm2(x - y), ref = function(a, b) sqrt(sum((a - b)^2))),
  normalize = list(lazy = function(x, y) normalize(x - y), ref = function(a, b) (a - b) / sqrt(sum((a - b)^2))),
  sqdist = list(lazy = function(x, y) sqdist(x, y), ref = function(a, b) sum((a - b)^2)),
  wsqnorm1 = list(lazy = function(x, y) weightedsqnorm(x - y, 2.5), ref = function(a, b) 2.5 * sum((a - b)^2)),
  wsqnorm3 = list(lazy = function(x, y) weightedsqnorm(x - y, Pm(c(1, 2, 3))),
                  ref = function(a, b) sum(c(1, 2, 3) * (a - b)^2)),
  wsqnorm9 = list(lazy = function(x, y) weightedsqnorm(x - y, Pm(W9)),
                  ref = function(a, b) drop(t(a - b) %*% matrix(W9, 3, 3, byrow = TRUE) %*% (a - b))),
  wsqdist = list(lazy = function(x, y) weightedsqdist(x, y, y), ref = function(a, b) sum(b * (a - b)^2)),
  scalprod = list(lazy = function(x, y) (x | y), ref = function(a, b) sum(a * b)),
  sum = list(lazy = function(x, y) sum(x * y), ref = function(a, b) sum(a * b)),
  max = list(lazy = function(x, y) max(x - y), ref = function(a, b) max(a - b)),
  min = list(lazy = function(x, y) min(x - y), ref = function(a, b) min(a - b)),
  argmax = list(lazy = function(x, y) argmax(x - y), ref = function(a, b) which.max(a - b) - 1),
  argmin = list(lazy = function(x, y) argmin(x - y), ref = function(a, b) which.min(a - b) - 1),
  elem = list(lazy = function(x, y) elem(x, 1), ref = function(a, b) a[2]),
  elemT = list(lazy = function(x, y) elemT(elem(y, 2), 1, 4), ref = function(a, b) c(0, b[3], 0, 0)),
  extract = list(lazy = function(x, y) extract(x - y, 1, 2), ref = function(a, b) (a - b)[2:3]),
  extractT = list(lazy = function(x, y) extractT(y, 1, 5), ref = function(a, b) c(0, b, 0)),
  concat = list(lazy = function(x, y) concat(x, y), ref = function(a, b) c(a, b)),
  one_hot = list(lazy = function(x, y) one_hot(floor(4 * elem(x - y, 0) + 1), 4),
                 ref = function(a, b) {
                   r <- trunc(floor(4 * (a - b)[1] + 1) + 0.5)  # OneHot's rounding
                   v <- numeric(4)
                   if (r >= 0 && r < 4) v[r + 1] <- 1
                   v
                 }),
  tensorprod = list(lazy = function(x, y) tensorprod(x, y), ref = function(a, b) as.vector(t(outer(a, b)))),
  matvecmult = list(lazy = function(x, y) matvecmult(tensorprod(x, y), y),
                    ref = function(a, b) drop(matrix(as.vector(t(outer(a, b))), 3, 3, byrow = TRUE) %*% b)),
  matvec_pm = list(lazy = function(x, y) matvecmult(Pm(A6), x - y),
                   ref = function(a, b) drop(matrix(A6, 2, 3, byrow = TRUE) %*% (a - b))),
  vecmatmult = list(lazy = function(x, y) vecmatmult(x, tensorprod(x, y)),
                    ref = function(a, b) drop(t(a) %*% matrix(as.vector(t(outer(a, b))), 3, 3, byrow = TRUE))),
  vecmat_pm = list(lazy = function(x, y) vecmatmult(x - y, Pm(A6)),
                   ref = function(a, b) drop(t(a - b) %*% matrix(A6, 3, 2, byrow = TRUE)))
)

# Sums over `index` of the concatenation of every case, column block by
# column block, against brute force.
check_group <- function(cases, index, precision) {
  x <- Vi(X)
  y <- Vj(Y)
  parts <- lapply(cases, function(case) case$lazy(x, y))
  widths <- vapply(parts, function(p) p$dim, integer(1))
  res <- sum(Reduce(concat, parts), index = index)
  expect_identical(dim(res), as.integer(c(if (index == "j") M else N, sum(widths))))
  ends <- cumsum(widths)
  for (k in seq_along(cases)) {
    ref <- lt_brute_sum(function(a, b) as.numeric(cases[[k]]$ref(a, b)), X, Y, index)
    got <- res[, (ends[k] - widths[k] + 1):ends[k], drop = FALSE]
    err <- rel_err(got, ref)
    expect(identical(dim(got), dim(ref)) && err <= 10 * tol_for(precision),
           sprintf("%s (index %s, %s): relative error %.3g", names(cases)[k], index, precision, err))
  }
}

# Transcendental functions make large operators (each one brings its vector
# math code; this group compiles in several seconds): they run once per
# precision, with a different index each time; the other operations run in
# all four combinations.
transcendental <- c("pow_half", "pow_mhalf", "powf", "powf_lazy", "exp", "log", "log_base", "log2",
                    "log10", "log1p", "expm1", "sqrt", "sin", "cos", "tan", "asin", "acos", "atan",
                    "sinh", "cosh", "tanh", "rsqrt", "xlogx", "sinxdivx", "atan2")

test_that("element-wise operations agree with R (both indices, both precisions)", {
  cheap <- elementwise[!names(elementwise) %in% transcendental]
  for_precisions(function(precision) {
    for (index in c("j", "i")) check_group(cheap, index, precision)
  })
})

test_that("element-wise mathematical functions agree with R (float64 over j, float32 over i)", {
  with_precision("float64", check_group(elementwise[transcendental], "j", "float64"))
  with_precision("float32", check_group(elementwise[transcendental], "i", "float32"))
})

test_that("norms, vector structure and tensor operations agree with R (both indices, both precisions)", {
  for_precisions(function(precision) {
    for (index in c("j", "i")) check_group(structure_ops, index, precision)
  })
})
