# Every T1/T2 operation of the formula language (spec section 3, except the
# symbolic Grad family, tested elsewhere) against a brute-force R
# implementation of the spec's semantics, in float64 and float32.
#
# Layout of a check (check_family):
# * "parts": formulas F(x_i, y_j) on random data, summed over the whole
#   M x N grid (tag 0, or tag 1 where stated) and compared with the sum of
#   the R reference over every pair, normwise-relative, per part: float64 to
#   1e-12 (1e-10 for libm functions), float32 to 1e-5 (against the float64
#   reference).
# * "specials": exact special values (Sign(0) = 0, Round(2.5, 0) = 3, ...).
#   A column z = Vj(1) holds the special inputs, and the part is
#   (ri_ == kj_) * G(z) with ri_ = i and kj_ = j, so output row i is G(z_i)
#   exactly (a single non-zero term in the sum). The special inputs sit at
#   every j, so they go through the SIMD lanes and the scalar tail.
#   Integer-valued expectations are checked exactly, others to 1e-13 (float64)
#   or 1e-6 (float32) element-wise relative (so an expected 0 is exact).
# All parts of a family share one formula (Concat), so each family costs
# one compile per precision, and each part is checked on its own columns.
#
# M = 43 and N = 41 are not multiples of 16 (float32 lanes) or 8 (float64
# lanes): the reduced side runs full SIMD vectors and a scalar tail.

M <- 43L
N <- 41L
both <- c("float64", "float32")
TOL_LIBM <- 1e-10
ix <- function(n) seq_len(n) - 1

# ---- data ---------------------------------------------------------------------

# integer part in kmin..kmax plus a fraction in [flo, fhi]: data that stays
# away from the discontinuities of Floor, Round, Mod, Sign, ...
away_mat <- function(n, d, seed, kmin, kmax, flo, fhi) {
  set.seed(seed)
  matrix(sample(kmin:kmax, n * d, replace = TRUE) + stats::runif(n * d, flo, fhi), n, d)
}
# integers in lo..hi (exact ties in comparisons, Max, ArgMax, ...)
int_mat <- function(n, d, seed, lo, hi) {
  set.seed(seed)
  matrix(as.numeric(sample(lo:hi, n * d, replace = TRUE)), n, d)
}
# values with a random sign and magnitude in [lo, hi]
signed_mat <- function(n, d, seed, lo, hi) {
  set.seed(seed)
  matrix(sample(c(-1, 1), n * d, replace = TRUE) * stats::runif(n * d, lo, hi), n, d)
}

# ---- brute-force references ---------------------------------------------------

cround <- function(x) sign(x) * floor(abs(x) + 0.5)          # C round(): halves away from 0
rround <- function(x, d) cround(x * 10^d) / 10^d
modr <- function(f, n, o) f - n * floor((f - o) / n)
clamp <- function(t, lo, hi) pmin(pmax(t, lo), hi)
sinc <- function(t) ifelse(t == 0, 1, sin(t) / t)
xlogx <- function(t) ifelse(t == 0, 0, t * log(t))
rsqrt <- function(t) ifelse(t == 0, 0, 1 / sqrt(t))
sgn <- function(t) ifelse(is.nan(t), 0, sign(t))
step <- function(t) ifelse(is.nan(t) | t >= 0, 1, 0)
relu <- function(t) ifelse(t < 0, 0, t)
ifelse_ref <- function(c, f, g) {
  D <- max(length(c), length(f), length(g))
  ifelse(rep_len(c, D) >= 0, rep_len(f, D), rep_len(g, D))
}
onehot <- function(x, d) {
  r <- trunc(x + 0.5)
  out <- numeric(d)
  if (r >= 0 && r < d) out[r + 1] <- 1
  out
}
first_max <- function(v) which(v == max(v))[1] - 1
first_min <- function(v) which(v == min(v))[1] - 1
rm_mat <- function(v, nr) matrix(v, nrow = nr, byrow = TRUE)   # row-major reading
flat_rm <- function(m) as.vector(t(m))                          # row-major flattening

# TensorDot by explicit multi-indices (row-major reshapes, numpy.tensordot
# axis order, then the output permutation: natural axis k -> position
# perm[k]). The offsets are precomputed once; the returned function does the
# sums.
tensordot_ref <- function(da, db, ca, cb, perm = NULL) {
  grid <- function(shape) {
    if (!length(shape)) return(matrix(0, 1, 0))
    g <- as.matrix(expand.grid(lapply(rev(shape), function(n) seq_len(n) - 1)))
    g[, rev(seq_along(shape)), drop = FALSE]      # last axis varies fastest
  }
  offset <- function(idx, shape) {
    stride <- rev(cumprod(c(1, rev(shape))[seq_along(shape)]))
    sum(idx * stride)
  }
  ka <- setdiff(seq_along(da) - 1, ca)
  kb <- setdiff(seq_along(db) - 1, cb)
  out_shape <- c(da[ka + 1], db[kb + 1])
  O <- grid(out_shape)
  C <- grid(da[ca + 1])
  offA <- offB <- matrix(0, nrow(O), nrow(C))
  for (o in seq_len(nrow(O))) {
    for (k in seq_len(nrow(C))) {
      ia <- numeric(length(da))
      ia[ka + 1] <- O[o, seq_along(ka)]
      ia[ca + 1] <- C[k, ]
      ib <- numeric(length(db))
      ib[kb + 1] <- O[o, length(ka) + seq_along(kb)]
      ib[cb + 1] <- C[k, ]
      offA[o, k] <- offset(ia, da)
      offB[o, k] <- offset(ib, db)
    }
  }
  dest <- seq_len(nrow(O)) - 1
  if (!is.null(perm)) {
    pshape <- numeric(length(out_shape))
    pshape[perm + 1] <- out_shape
    dest <- apply(O, 1, function(n) {
      p <- numeric(length(n))
      p[perm + 1] <- n
      offset(p, pshape)
    })
  }
  function(f, g) {
    val <- rowSums(matrix(f[offA + 1], nrow(O)) * matrix(g[offB + 1], nrow(O)))
    out <- numeric(length(val))
    out[dest + 1] <- val
    out
  }
}

# ---- checking -------------------------------------------------------------------

part <- function(body, ref, tol64 = TOL64, tol32 = TOL32) {
  list(body = body, ref = ref, tol64 = tol64, tol32 = tol32)
}
special <- function(body, ref, tol64 = 1e-13, tol32 = 1e-6, exact_int = TRUE) {
  list(body = body, ref = ref, tol64 = tol64, tol32 = tol32, exact_int = exact_int)
}

expect_close_part <- function(object, expected, tol, label) {
  object <- unname(as.matrix(object))
  expected <- unname(as.matrix(expected))
  if (!all(is.finite(object))) {
    expect(FALSE, sprintf("%s: %d non-finite entries", label, sum(!is.finite(object))))
    return(invisible())
  }
  err <- rel_err(object, expected)
  bad <- which.max(abs(object - expected))
  expect(err <= tol, sprintf("%s: relative error %.3g above %.3g (worst entry [%d,%d]: got %.17g, expected %.17g)",
                             label, err, tol, (bad - 1) %% nrow(expected) + 1, (bad - 1) %/% nrow(expected) + 1,
                             object[bad], expected[bad]))
}

# Element-wise: NaN must be NaN, infinities equal, integer-valued entries
# exact (when exact_int), the others within `tol` relative.
expect_special <- function(object, expected, tol, label, exact_int = TRUE, z = NULL) {
  got <- unname(as.matrix(object))
  want <- unname(as.matrix(expected))
  ok <- matrix(FALSE, nrow(want), ncol(want))
  nan <- is.nan(want)
  inf <- is.infinite(want)
  int <- !nan & !inf & want == round(want) & exact_int
  rel <- !nan & !inf & !int
  ok[nan] <- is.nan(got[nan])
  ok[inf] <- !is.na(got[inf]) & got[inf] == want[inf]
  ok[int] <- !is.na(got[int]) & got[int] == want[int]
  ok[rel] <- !is.na(got[rel]) & abs(got[rel] - want[rel]) <= tol * abs(want[rel])
  bad <- which(!ok)
  msg <- ""
  if (length(bad)) {
    r <- (bad[1] - 1) %% nrow(want) + 1
    k <- (bad[1] - 1) %/% nrow(want) + 1
    msg <- sprintf("%s: %d wrong entries; first: row %d%s, column %d: got %.17g, expected %.17g",
                   label, length(bad), r,
                   if (!is.null(z) && r <= length(z)) sprintf(" (z = %.17g)", z[r]) else "",
                   k, got[bad[1]], want[bad[1]])
  }
  expect(length(bad) == 0, msg)
}

# One formula per family: Concat of all parts (and specials), Sum_Reduction
# with `axis`; checked in each precision, part by part.
# selector: how a special part keeps only the diagonal pair (i = j):
#   "mult" -> (ri_ == kj_) * G (G must be finite for every z),
#   "ifelse" -> IfElse(-(ri_ - kj_)**2, G, 0) (lets Inf and NaN through).
check_family <- function(args, input, parts = list(), specials = list(), z = NULL,
                         axis = 0L, precisions = both, selector = "mult") {
  bodies <- vapply(parts, `[[`, "", "body")
  zz <- NULL
  if (length(specials)) {
    stopifnot(axis == 0, !is.null(z))
    zz <- rep_len(z, N)
    args <- c(args, "ri_ = Vi(1)", "kj_ = Vj(1)", "z = Vj(1)")
    input <- c(input, list(ix(M), ix(N), zz))
    sel <- if (selector == "mult") "(ri_ == kj_) * %s" else "IfElse(-(ri_ - kj_)**2, %s, 0)"
    bodies <- c(bodies, sprintf(sel, vapply(specials, `[[`, "", "body")))
  }
  formula <- sprintf("Sum_Reduction(%s, %d)",
                     Reduce(function(a, b) sprintf("Concat(%s, %s)", a, b), bodies), axis)
  op <- get_op(formula, args)

  widths <- vapply(parts, function(p) length(p$ref(1, 1)), 1)
  ref <- if (length(parts)) {
    ref_sum_reduction(function(i, j) unlist(lapply(parts, function(p) p$ref(i, j))), M, N, axis)
  }
  sp_ref <- lapply(specials, function(s) {
    v <- do.call(rbind, lapply(zz, function(t) suppressWarnings(s$ref(t))))
    rbind(v, matrix(0, M - N, ncol(v)))
  })
  sp_widths <- vapply(sp_ref, ncol, 1)
  nrow_out <- if (axis == 0) M else N

  for (precision in precisions) {
    res <- op(input, precision = precision)
    expect_identical(dim(res), as.integer(c(nrow_out, sum(widths) + sum(sp_widths))))
    if (!identical(dim(res), as.integer(c(nrow_out, sum(widths) + sum(sp_widths))))) next
    col <- 0
    for (k in seq_along(parts)) {
      cols <- col + seq_len(widths[k])
      tol <- if (precision == "float64") parts[[k]]$tol64 else parts[[k]]$tol32
      expect_close_part(res[, cols, drop = FALSE], ref[, cols, drop = FALSE], tol,
                        sprintf("%s [%s]", parts[[k]]$body, precision))
      col <- col + widths[k]
    }
    for (k in seq_along(specials)) {
      cols <- col + seq_len(sp_widths[k])
      s <- specials[[k]]
      expect_special(res[, cols, drop = FALSE], sp_ref[[k]],
                     if (precision == "float64") s$tol64 else s$tol32,
                     sprintf("special %s [%s]", s$body, precision), s$exact_int, zz)
      col <- col + sp_widths[k]
    }
  }
  invisible(op)
}

# ---- element-wise functions ---------------------------------------------------

test_that("Log, XLogX, Sqrt, Rsqrt on [0.5, 2], and Rsqrt(0) = 0, XLogX(0) = 0", {
  X <- rand_mat(M, 3, 1101, 0.7, 1.4)
  Y <- rand_mat(N, 3, 1102, 0.7, 1.4)
  U <- rand_mat(M, 1, 1103, 0.7, 1.4)
  V <- rand_mat(N, 1, 1104, 0.7, 1.4)
  L <- TOL_LIBM
  check_family(
    c("x = Vi(3)", "y = Vj(3)", "u = Vi(1)", "v = Vj(1)"), list(X, Y, U, V),
    parts = list(
      part("Log(x * y)", function(i, j) log(X[i, ] * Y[j, ]), L),
      part("XLogX(x * y)", function(i, j) xlogx(X[i, ] * Y[j, ]), L),
      part("XLogX(x * y / 4)", function(i, j) xlogx(X[i, ] * Y[j, ] / 4), L),
      part("Sqrt(x * y)", function(i, j) sqrt(X[i, ] * Y[j, ]), L),
      part("Rsqrt(x * y)", function(i, j) 1 / sqrt(X[i, ] * Y[j, ]), L),
      part("Log(u * v) * y", function(i, j) log(U[i] * V[j]) * Y[j, ], L)
    ),
    specials = list(
      special("Rsqrt(z)", rsqrt),
      special("XLogX(z)", xlogx),
      special("Sqrt(z)", sqrt),
      special("Log(z + 1)", function(t) log(t + 1))
    ),
    z = c(0, 1, 4, 0.25, 0, 2, 0.5, 0, 9)
  )
})

test_that("Sin, Cos, SinXDivX, and SinXDivX(0) = 1", {
  X <- rand_mat(M, 3, 1201, -1.5, 1.5)
  Y <- rand_mat(N, 3, 1202, -1.5, 1.5)
  U <- rand_mat(M, 1, 1203, -1.5, 1.5)
  V <- rand_mat(N, 1, 1204, -1, 1)
  L <- TOL_LIBM
  check_family(
    c("x = Vi(3)", "y = Vj(3)", "u = Vi(1)", "v = Vj(1)"), list(X, Y, U, V),
    parts = list(
      part("Sin(x - y)", function(i, j) sin(X[i, ] - Y[j, ]), L),
      part("Cos(x - y)", function(i, j) cos(X[i, ] - Y[j, ]), L),
      part("SinXDivX(x - y)", function(i, j) sinc(X[i, ] - Y[j, ]), L),
      part("SinXDivX(4 * u * v)", function(i, j) sinc(4 * U[i] * V[j]), L),
      part("Sin(u) * Cos(y)", function(i, j) sin(U[i]) * cos(Y[j, ]), L)
    ),
    specials = list(
      special("SinXDivX(z)", sinc, tol64 = TOL_LIBM),
      special("Sin(z)", sin, tol64 = TOL_LIBM),
      special("Cos(z)", cos, tol64 = TOL_LIBM)
    ),
    z = c(0, 0.5, -0, -3, 1e-20, 0, 2)
  )
})

test_that("Asin, Acos, Atan, Atan2 (with broadcasting), and Atan2(0, -1) = pi", {
  X <- rand_mat(M, 3, 1301, -0.95, 0.95)
  Y <- rand_mat(N, 3, 1302, -0.95, 0.95)
  A <- signed_mat(M, 3, 1303, 0.5, 1.5)   # a * b is away from 0: no branch cut
  B <- rand_mat(N, 3, 1304, 0.5, 1.5)
  U <- signed_mat(M, 1, 1305, 0.5, 1.5)
  V <- rand_mat(N, 1, 1306, -1, 1)
  L <- TOL_LIBM
  check_family(
    c("x = Vi(3)", "y = Vj(3)", "a = Vi(3)", "b = Vj(3)", "u = Vi(1)", "v = Vj(1)"),
    list(X, Y, A, B, U, V),
    parts = list(
      part("Asin(x * y)", function(i, j) asin(X[i, ] * Y[j, ]), L),
      part("Acos(x * y)", function(i, j) acos(X[i, ] * Y[j, ]), L),
      part("Atan(4 * (x - y))", function(i, j) atan(4 * (X[i, ] - Y[j, ])), L),
      part("Atan2(a * b, x - y)", function(i, j) atan2(A[i, ] * B[j, ], X[i, ] - Y[j, ]), L),
      part("Atan2(u, y)", function(i, j) atan2(U[i], Y[j, ]), L),
      part("Atan2(a * b, v)", function(i, j) atan2(A[i, ] * B[j, ], V[j]), L)
    ),
    specials = list(
      special("Atan2(z, -1)", function(t) atan2(t, -1)),
      special("Atan2(z, 1)", function(t) atan2(t, 1)),
      special("Asin(z)", asin),
      special("Acos(z)", acos),
      special("Atan(z)", atan)
    ),
    z = c(0, 1, -1, 0.5, -0.5, 0, 0.25)
  )
})

test_that("Abs, Sign, Step, ReLU, and Sign(0) = 0, Step(0) = 1, ReLU(0) = 0", {
  X <- away_mat(M, 3, 1401, -3, 2, 0.1, 0.4)   # x - y has a fraction in [0.2, 0.8]
  Y <- away_mat(N, 3, 1402, -3, 2, 0.6, 0.9)
  U <- away_mat(M, 1, 1403, -3, 2, 0.1, 0.4)
  V <- away_mat(N, 1, 1404, -3, 2, 0.6, 0.9)
  check_family(
    c("x = Vi(3)", "y = Vj(3)", "u = Vi(1)", "v = Vj(1)"), list(X, Y, U, V),
    parts = list(
      part("Abs(x - y)", function(i, j) abs(X[i, ] - Y[j, ])),
      part("Sign(x - y)", function(i, j) sign(X[i, ] - Y[j, ])),
      part("Step(x - y)", function(i, j) step(X[i, ] - Y[j, ])),
      part("ReLU(x - y)", function(i, j) relu(X[i, ] - Y[j, ])),
      part("Sign(u - v) * y", function(i, j) sign(U[i] - V[j]) * Y[j, ]),
      part("ReLU(u - y)", function(i, j) relu(U[i] - Y[j, ]))
    ),
    specials = list(
      special("Abs(z)", abs),
      special("Sign(z)", sgn),
      special("Step(z)", step),
      special("ReLU(z)", relu)
    ),
    z = c(0, -0, 1.5, -2, 0, 0.25, -0.25)
  )
})

test_that("Floor and Round(f, d), with halves rounded away from zero", {
  X <- away_mat(M, 3, 1501, -3, 3, 0.05, 0.2)   # x + y: fraction in [0.1, 0.4]
  Y <- away_mat(N, 3, 1502, -3, 3, 0.05, 0.2)
  A <- away_mat(M, 3, 1503, -300, 300, 0.05, 0.2) / 100   # 100 (a + b): fraction in [0.1, 0.4]
  B <- away_mat(N, 3, 1504, -300, 300, 0.05, 0.2) / 100
  check_family(
    c("x = Vi(3)", "y = Vj(3)", "a = Vi(3)", "b = Vj(3)"), list(X, Y, A, B),
    parts = list(
      part("Floor(x + y)", function(i, j) floor(X[i, ] + Y[j, ])),
      part("Floor(-x - y)", function(i, j) floor(-X[i, ] - Y[j, ])),
      part("Round(x + y, 0)", function(i, j) cround(X[i, ] + Y[j, ])),
      part("Round(-x - y, 0)", function(i, j) cround(-X[i, ] - Y[j, ])),
      part("Round(a + b, 2)", function(i, j) rround(A[i, ] + B[j, ], 2)),
      part("Round(-a - b, 2)", function(i, j) rround(-A[i, ] - B[j, ], 2))
    ),
    specials = list(
      special("Round(z, 0)", function(t) rround(t, 0)),
      special("Round(z, 1)", function(t) rround(t, 1)),
      special("Round(z, 2)", function(t) rround(t, 2)),
      special("Floor(z)", floor)
    ),
    z = c(0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.25, -0.25, 0.125, -0.375, 0, -0.75, 0.75)
  )
  # the halves, spelled out: Round(2.5) = 3, Round(-2.5) = -3, Round(0.25, 1) = 0.3
  expect_identical(rround(c(0.5, -0.5, 2.5, -2.5), 0), c(1, -1, 3, -3))
})

test_that("Mod(f, n, o) is floor-based, in [o, o + n), and broadcasts each operand", {
  X <- away_mat(M, 3, 1601, -3, 3, 0.05, 0.2)
  Y <- away_mat(N, 3, 1602, -3, 3, 0.05, 0.2)
  U <- away_mat(M, 1, 1603, -3, 3, 0.05, 0.2)
  V <- away_mat(N, 1, 1604, -3, 3, 0.05, 0.2)
  Nn <- int_mat(M, 1, 1605, 1, 4)    # moduli
  Nm <- int_mat(M, 3, 1606, 1, 4)
  O1 <- int_mat(N, 1, 1607, -3, 3)   # offsets
  O3 <- int_mat(N, 3, 1608, -3, 3)
  check_family(
    c("x = Vi(3)", "y = Vj(3)", "u = Vi(1)", "v = Vj(1)", "n = Vi(1)", "m = Vi(3)", "o = Vj(1)", "p = Vj(3)"),
    list(X, Y, U, V, Nn, Nm, O1, O3),
    parts = list(
      part("Mod(x + y, m, p)", function(i, j) modr(X[i, ] + Y[j, ], Nm[i, ], O3[j, ])),
      part("Mod(x + y, n, o)", function(i, j) modr(X[i, ] + Y[j, ], Nn[i], O1[j])),
      part("Mod(x + y, n, p)", function(i, j) modr(X[i, ] + Y[j, ], Nn[i], O3[j, ])),
      part("Mod(x + y, m, o)", function(i, j) modr(X[i, ] + Y[j, ], Nm[i, ], O1[j])),
      part("Mod(u + v, m, o)", function(i, j) modr(U[i] + V[j], Nm[i, ], O1[j])),
      part("Mod(u + v, n, p)", function(i, j) modr(U[i] + V[j], Nn[i], O3[j, ])),
      part("Mod(x + y, 2, -1)", function(i, j) modr(X[i, ] + Y[j, ], 2, -1)),
      part("Mod(u + v, IntCst(3), IntCst(1))", function(i, j) modr(U[i] + V[j], 3, 1))
    ),
    specials = list(
      special("Mod(z, 2, -1)", function(t) modr(t, 2, -1)),
      special("Mod(z, 3, 0)", function(t) modr(t, 3, 0)),
      special("Mod(z, 1, 0)", function(t) modr(t, 1, 0))
    ),
    z = c(3, -1, 1, -3, 0, 2.5, -2, 0.5, -0.5, 1.75, -0.25, 6, -6)
  )
  # the reference itself is in [o, o + n)
  r <- modr(c(3, -1, 1, -3, 0, 2.5, -2, -0.5), 2, -1)
  expect_true(all(r >= -1 & r < 1))
})

test_that("ClampInt, Clamp (formula bounds, broadcast) and DiffClampInt", {
  X <- rand_mat(M, 3, 1701, -2, 2)
  Y <- rand_mat(N, 3, 1702, -2, 2)
  U <- rand_mat(M, 1, 1703, -2, 2)
  V <- rand_mat(N, 1, 1704, -2, 2)
  L3 <- rand_mat(M, 3, 1705, -2, -0.5)
  H3 <- rand_mat(N, 3, 1706, 0.5, 2)
  L1 <- rand_mat(M, 1, 1707, -2, -0.5)
  H1 <- rand_mat(N, 1, 1708, 0.5, 2)
  S <- away_mat(M, 3, 1709, -2, 1, 0.1, 0.4)   # s - t: away from the integers
  Tt <- away_mat(N, 3, 1710, -2, 1, 0.6, 0.9)
  check_family(
    c("x = Vi(3)", "y = Vj(3)", "u = Vi(1)", "v = Vj(1)", "l = Vi(3)", "h = Vj(3)",
      "a = Vi(1)", "b = Vj(1)", "s = Vi(3)", "t = Vj(3)"),
    list(X, Y, U, V, L3, H3, L1, H1, S, Tt),
    parts = list(
      part("ClampInt(x - y, -1, 1)", function(i, j) clamp(X[i, ] - Y[j, ], -1, 1)),
      part("ClampInt(x * y, 0, 2)", function(i, j) clamp(X[i, ] * Y[j, ], 0, 2)),
      part("Clamp(x - y, l, h)", function(i, j) clamp(X[i, ] - Y[j, ], L3[i, ], H3[j, ])),
      part("Clamp(u - v, l, h)", function(i, j) clamp(U[i] - V[j], L3[i, ], H3[j, ])),
      part("Clamp(x - y, a, h)", function(i, j) clamp(X[i, ] - Y[j, ], L1[i], H3[j, ])),
      part("Clamp(x - y, l, b)", function(i, j) clamp(X[i, ] - Y[j, ], L3[i, ], H1[j])),
      part("Clamp(u - v, a, h)", function(i, j) clamp(U[i] - V[j], L1[i], H3[j, ])),
      part("Clamp(x - y, -1, 2)", function(i, j) clamp(X[i, ] - Y[j, ], -1, 2)),
      part("DiffClampInt(s - t, -1, 1)", function(i, j) as.numeric(abs(S[i, ] - Tt[j, ]) <= 1)),
      part("DiffClampInt(s - t, 0, 2)", function(i, j) as.numeric(S[i, ] - Tt[j, ] >= 0 & S[i, ] - Tt[j, ] <= 2))
    ),
    specials = list(
      special("DiffClampInt(z, -1, 1)", function(t) as.numeric(t >= -1 & t <= 1)),
      special("ClampInt(z, -1, 1)", function(t) clamp(t, -1, 1)),
      special("Clamp(z, -1, 1)", function(t) clamp(t, -1, 1))
    ),
    z = c(-1, 1, -1.5, 1.5, 0, -0.5, 2, -2, 0.75)
  )
})

test_that("IfElse(c, f, g) takes f where c >= 0, broadcasts every operand, IfElse(0, a, b) = a", {
  C <- signed_mat(M, 3, 1801, 0.2, 1)
  D <- signed_mat(N, 1, 1802, 0.2, 1)
  X <- rand_mat(N, 3, 1803, -1, 1)
  Y <- rand_mat(M, 3, 1804, -1, 1)
  U <- rand_mat(M, 1, 1805, -1, 1)
  V <- rand_mat(N, 1, 1806, -1, 1)
  check_family(
    c("c = Vi(3)", "d = Vj(1)", "x = Vj(3)", "y = Vi(3)", "u = Vi(1)", "v = Vj(1)"),
    list(C, D, X, Y, U, V),
    parts = list(
      part("IfElse(c, x, y)", function(i, j) ifelse_ref(C[i, ], X[j, ], Y[i, ])),
      part("IfElse(d, x, y)", function(i, j) ifelse_ref(D[j], X[j, ], Y[i, ])),
      part("IfElse(c, u, x)", function(i, j) ifelse_ref(C[i, ], U[i], X[j, ])),
      part("IfElse(c, x, v)", function(i, j) ifelse_ref(C[i, ], X[j, ], V[j])),
      part("IfElse(d, u, x)", function(i, j) ifelse_ref(D[j], U[i], X[j, ])),
      part("IfElse(d, x, u)", function(i, j) ifelse_ref(D[j], X[j, ], U[i])),
      part("IfElse(d, u, v)", function(i, j) ifelse_ref(D[j], U[i], V[j])),
      part("IfElse(c, 1, -1)", function(i, j) ifelse_ref(C[i, ], 1, -1))
    ),
    specials = list(
      special("IfElse(z, z + 2, z - 2)", function(t) if (t >= 0) t + 2 else t - 2),
      special("IfElse(z, 1, -1)", function(t) if (t >= 0) 1 else -1)
    ),
    z = c(0, -0, 0.5, -0.5, 0, 2, -1e-30)
  )
})

test_that("comparisons ==, !=, <, >, <=, >= and their function spellings, with exact ties", {
  X <- int_mat(M, 3, 1901, 0, 3)
  Y <- int_mat(N, 3, 1902, 0, 3)
  U <- int_mat(M, 1, 1903, 0, 3)
  V <- int_mat(N, 1, 1904, 0, 3)
  n <- as.numeric
  check_family(
    c("x = Vi(3)", "y = Vj(3)", "u = Vi(1)", "v = Vj(1)"), list(X, Y, U, V),
    parts = list(
      part("Equal(x, y)", function(i, j) n(X[i, ] == Y[j, ])),
      part("x == y", function(i, j) n(X[i, ] == Y[j, ])),
      part("NotEqual(x, y)", function(i, j) n(X[i, ] != Y[j, ])),
      part("x != y", function(i, j) n(X[i, ] != Y[j, ])),
      part("LessThan(x, y)", function(i, j) n(X[i, ] < Y[j, ])),
      part("x < y", function(i, j) n(X[i, ] < Y[j, ])),
      part("x > y", function(i, j) n(X[i, ] > Y[j, ])),
      part("LessOrEqual(x, y)", function(i, j) n(X[i, ] <= Y[j, ])),
      part("x <= y", function(i, j) n(X[i, ] <= Y[j, ])),
      part("x >= y", function(i, j) n(X[i, ] >= Y[j, ])),
      part("x < v", function(i, j) n(X[i, ] < V[j])),
      part("u >= y", function(i, j) n(U[i] >= Y[j, ])),
      part("Equal(u, y)", function(i, j) n(U[i] == Y[j, ])),
      part("x != v", function(i, j) n(X[i, ] != V[j])),
      part("LessOrEqual(v, x)", function(i, j) n(V[j] <= X[i, ])),
      part("u > y", function(i, j) n(U[i] > Y[j, ])),
      part("x == v", function(i, j) n(X[i, ] == V[j])),
      part("LessThan(u, y)", function(i, j) n(U[i] < Y[j, ])),
      # precedence: x|y < u*9 is (x|y) < (u*9)
      part("x | y < u * 9", function(i, j) n(sum(X[i, ] * Y[j, ]) < U[i] * 9)),
      part("x | y >= u * 9", function(i, j) n(sum(X[i, ] * Y[j, ]) >= U[i] * 9))
    )
  )
})

test_that("Powf (C pow, broadcast), Pow, Square, Inv", {
  X <- rand_mat(M, 3, 2001, 0.5, 2)
  Y <- rand_mat(N, 3, 2002, -2, 2)
  U <- rand_mat(M, 1, 2003, 0.5, 2)
  V <- rand_mat(N, 1, 2004, -2, 2)
  K <- int_mat(N, 3, 2005, -2, 3)
  L <- TOL_LIBM
  check_family(
    c("x = Vi(3)", "y = Vj(3)", "u = Vi(1)", "v = Vj(1)", "k = Vj(3)"), list(X, Y, U, V, K),
    parts = list(
      part("Powf(x, y)", function(i, j) X[i, ]^Y[j, ], L),
      part("Powf(u, y)", function(i, j) U[i]^Y[j, ], L),
      part("Powf(x, v)", function(i, j) X[i, ]^V[j], L),
      # negative base, integral exponent: fine in C pow
      part("Powf(x - 3, k)", function(i, j) (X[i, ] - 3)^K[j, ], L),
      part("Powf(x, IntInv(2))", function(i, j) sqrt(X[i, ]), L),
      part("Pow(x, 0)", function(i, j) c(1, 1, 1)),
      part("Pow(x, 1) * y", function(i, j) X[i, ] * Y[j, ]),
      part("Pow(x * y, 5)", function(i, j) (X[i, ] * Y[j, ])^5),
      part("Pow(x + u, -3)", function(i, j) (X[i, ] + U[i])^-3),
      part("x ** 3 - y", function(i, j) X[i, ]^3 - Y[j, ]),
      part("Square(x - y)", function(i, j) (X[i, ] - Y[j, ])^2),
      part("Inv(x + v + 3)", function(i, j) 1 / (X[i, ] + V[j] + 3))
    ),
    specials = list(
      special("Square(z)", function(t) t^2),
      special("Pow(z, 3)", function(t) t^3),
      special("Powf(z, 2)", function(t) t^2, tol64 = TOL_LIBM, exact_int = FALSE),
      special("Powf(z, 3)", function(t) t^3, tol64 = TOL_LIBM, exact_int = FALSE)
    ),
    z = c(0, 1, -1, 2, 0.5, -2, -0.5, 3)
  )
})

test_that("IntCst, IntInv, RatCst, Zero and integer division, in the computation type", {
  X <- rand_mat(M, 3, 2101, 1, 2)
  Y <- rand_mat(N, 3, 2102, 1, 2)
  check_family(
    c("x = Vi(3)", "y = Vj(3)"), list(X, Y),
    parts = list(
      part("IntCst(-3) * x", function(i, j) -3 * X[i, ]),
      part("IntInv(4) * y", function(i, j) Y[j, ] / 4),
      part("IntInv(-3) * x", function(i, j) -X[i, ] / 3),
      part("RatCst(2, 3) * x", function(i, j) 2 / 3 * X[i, ]),
      part("RatCst(-3, 6) * y", function(i, j) -0.5 * Y[j, ]),
      part("RatCst(4, 2) * x", function(i, j) 2 * X[i, ]),
      part("RatCst(0, 5) + x", function(i, j) X[i, ]),
      part("x / 3", function(i, j) X[i, ] / 3),
      part("y / 7 - x", function(i, j) Y[j, ] / 7 - X[i, ]),
      part("Zero(2)", function(i, j) c(0, 0)),
      part("IntCst(0) + x * y", function(i, j) X[i, ] * Y[j, ]),
      part("2 * x + 1 - x ** 2", function(i, j) 2 * X[i, ] + 1 - X[i, ]^2),
      part("-x ** 2 + y", function(i, j) -(X[i, ]^2) + Y[j, ])
    )
  )
})

# ---- vector structure -----------------------------------------------------------

test_that("Sum and SumT", {
  X <- rand_mat(M, 3, 2201, -1, 1)
  Y <- rand_mat(N, 3, 2202, -1, 1)
  U <- rand_mat(M, 1, 2203, -1, 1)
  V <- rand_mat(N, 1, 2204, -1, 1)
  check_family(
    c("x = Vi(3)", "y = Vj(3)", "u = Vi(1)", "v = Vj(1)"), list(X, Y, U, V),
    parts = list(
      part("Sum(x * y)", function(i, j) sum(X[i, ] * Y[j, ])),
      part("Sum(u) * y", function(i, j) U[i] * Y[j, ]),
      part("SumT(u * v, 4)", function(i, j) rep(U[i] * V[j], 4)),
      part("SumT(Sum(x), 3) * y", function(i, j) sum(X[i, ]) * Y[j, ]),
      part("SumT(v, 1) + u", function(i, j) V[j] + U[i]),
      part("Sum(Concat(x, y))", function(i, j) sum(X[i, ]) + sum(Y[j, ]))
    ),
    axis = 1L
  )
})

test_that("Max, Min, ArgMax, ArgMin over the components: first index on ties", {
  XI <- int_mat(M, 5, 2301, 0, 3)   # integer data: many exact ties
  YI <- int_mat(N, 5, 2302, 0, 3)
  XC <- rand_mat(M, 5, 2303, 0, 1)
  YC <- rand_mat(N, 5, 2304, 0, 1)
  U <- rand_mat(M, 1, 2305, -1, 1)
  check_family(
    c("x = Vi(5)", "y = Vj(5)", "a = Vi(5)", "b = Vj(5)", "u = Vi(1)"), list(XI, YI, XC, YC, U),
    parts = list(
      part("Max(x + y)", function(i, j) max(XI[i, ] + YI[j, ])),
      part("Min(x + y)", function(i, j) min(XI[i, ] + YI[j, ])),
      part("ArgMax(x + y)", function(i, j) first_max(XI[i, ] + YI[j, ])),
      part("ArgMin(x + y)", function(i, j) first_min(XI[i, ] + YI[j, ])),
      part("ArgMax(x - y)", function(i, j) first_max(XI[i, ] - YI[j, ])),
      part("ArgMin(x * y)", function(i, j) first_min(XI[i, ] * YI[j, ])),
      part("Max(a - b)", function(i, j) max(XC[i, ] - YC[j, ])),
      part("Min(a * b)", function(i, j) min(XC[i, ] * YC[j, ])),
      part("Max(u) + ArgMax(u) + ArgMin(u)", function(i, j) U[i])
    ),
    specials = list(
      special("ArgMax(Concat(z, z))", function(t) 0),
      special("ArgMin(Concat(z, Concat(z, z - 1)))", function(t) 2),
      special("ArgMax(Concat(z - 1, Concat(z, z)))", function(t) 1),
      special("Max(Concat(z, -z))", function(t) abs(t)),
      special("Min(Concat(z, -z))", function(t) -abs(t)),
      special("ArgMin(Concat(z, -z))", function(t) if (t > 0) 1 else 0)
    ),
    z = c(0, 1.5, -2, 0, 3, -0.5)
  )
})

test_that("Elem, ElemT, Extract, ExtractT, Concat", {
  X <- rand_mat(M, 5, 2401, -1, 1)
  Y <- rand_mat(N, 4, 2402, -1, 1)
  U <- rand_mat(M, 1, 2403, -1, 1)
  V <- rand_mat(N, 1, 2404, -1, 1)
  check_family(
    c("x = Vi(5)", "y = Vj(4)", "u = Vi(1)", "v = Vj(1)"), list(X, Y, U, V),
    parts = list(
      part("Elem(x, 0)", function(i, j) X[i, 1]),
      part("Elem(x, 4) * v", function(i, j) X[i, 5] * V[j]),
      part("Elem(x * 2, 2)", function(i, j) 2 * X[i, 3]),
      part("Extract(x, 1, 3) * Elem(y, 3)", function(i, j) X[i, 2:4] * Y[j, 4]),
      part("Extract(y, 0, 4)", function(i, j) Y[j, ]),
      part("Extract(x, 4, 1) + u", function(i, j) X[i, 5] + U[i]),
      part("ExtractT(y, 1, 7)", function(i, j) c(0, Y[j, ], 0, 0)),
      part("ExtractT(u * v, 2, 3)", function(i, j) c(0, 0, U[i] * V[j])),
      part("ElemT(Elem(y, 2), 4, 3)", function(i, j) c(0, 0, 0, Y[j, 3])),
      part("ElemT(u * v, 1, 0)", function(i, j) U[i] * V[j]),
      part("Concat(x, y)", function(i, j) c(X[i, ], Y[j, ])),
      part("Concat(u, Concat(y, v))", function(i, j) c(U[i], Y[j, ], V[j]))
    ),
    axis = 1L
  )
})

test_that("OneHot(f, d): position trunc(f + 0.5), zeros out of range", {
  base <- c(-2.3, -1.8, -1.2, -0.7, -0.3, 0.2, 0.8, 1.3, 2.1, 2.7, 3.2, 3.6, 4.1, 5.3)
  set.seed(2501)
  Tm <- matrix(rep_len(base, M) + stats::runif(M, -0.05, 0.05), M, 1)
  V <- int_mat(N, 1, 2502, 0, 2)
  check_family(
    c("t = Vi(1)", "v = Vj(1)"), list(Tm, V),
    parts = list(
      part("OneHot(t + v, 4)", function(i, j) onehot(Tm[i] + V[j], 4)),
      part("OneHot(t - v, 3)", function(i, j) onehot(Tm[i] - V[j], 3)),
      part("OneHot(t, 1)", function(i, j) onehot(Tm[i], 1))
    ),
    specials = list(
      special("OneHot(z, 3)", function(t) onehot(t, 3)),
      special("OneHot(z + 1, 5)", function(t) onehot(t + 1, 5))
    ),
    z = c(0, 1, 2, 3, -2, 0.5, 1.5, 100, -100, 2.49, -0.4, 4)
  )
  expect_identical(onehot(3, 3), c(0, 0, 0))
  expect_identical(onehot(-2, 3), c(0, 0, 0))
})

# ---- norms, distances, scalar products --------------------------------------

test_that("scalar product (x|y), Scalprod, with a dimension-1 side, and its precedence", {
  X <- rand_mat(M, 3, 2601, -1, 1)
  Y <- rand_mat(N, 3, 2602, -1, 1)
  U <- rand_mat(M, 1, 2603, 0.5, 1.5)
  V <- rand_mat(N, 1, 2604, -1, 1)
  Q <- c(0.5, -1.25, 2)
  check_family(
    c("x = Vi(3)", "y = Vj(3)", "u = Vi(1)", "v = Vj(1)", "q = Pm(3)"), list(X, Y, U, V, Q),
    parts = list(
      part("(x | y)", function(i, j) sum(X[i, ] * Y[j, ])),
      part("Scalprod(x - y, q)", function(i, j) sum((X[i, ] - Y[j, ]) * Q)),
      # one side of dimension 1: f * Sum(g), a scalar
      part("(u | y)", function(i, j) U[i] * sum(Y[j, ])),
      part("(y | u)", function(i, j) sum(Y[j, ]) * U[i]),
      part("Scalprod(u, v)", function(i, j) U[i] * V[j]),
      # a*x|y is (a*x)|y; x|y+x is x|(y+x)
      part("u * x | y", function(i, j) sum(U[i] * X[i, ] * Y[j, ])),
      part("(x | y + x)", function(i, j) sum(X[i, ] * (Y[j, ] + X[i, ]))),
      part("(x | y) * y", function(i, j) sum(X[i, ] * Y[j, ]) * Y[j, ])
    )
  )
})

test_that("SqNorm2, Norm2, Normalize, SqDist (with broadcast), and Normalize(0) = 0", {
  X <- rand_mat(M, 3, 2701, 0, 1)
  Y <- rand_mat(N, 3, 2702, 2, 3)
  U <- rand_mat(M, 1, 2703, 1, 2)
  V <- rand_mat(N, 1, 2704, -1, 0)
  check_family(
    c("x = Vi(3)", "y = Vj(3)", "u = Vi(1)", "v = Vj(1)"), list(X, Y, U, V),
    parts = list(
      part("SqNorm2(x - y)", function(i, j) sum((X[i, ] - Y[j, ])^2)),
      part("Norm2(x - y)", function(i, j) sqrt(sum((X[i, ] - Y[j, ])^2))),
      part("Normalize(x - y)", function(i, j) (X[i, ] - Y[j, ]) / sqrt(sum((X[i, ] - Y[j, ])^2))),
      part("SqDist(x, y)", function(i, j) sum((X[i, ] - Y[j, ])^2)),
      part("SqDist(x, v)", function(i, j) sum((X[i, ] - V[j])^2)),
      part("SqDist(u, y)", function(i, j) sum((U[i] - Y[j, ])^2)),
      part("Norm2(u - v)", function(i, j) abs(U[i] - V[j])),
      part("Normalize(u - v)", function(i, j) 1),
      part("SqNorm2(u)", function(i, j) U[i]^2)
    ),
    specials = list(
      special("Normalize(Concat(z, z))", function(t) if (t == 0) c(0, 0) else rep(sign(t) / sqrt(2), 2)),
      special("Norm2(Concat(z, z))", function(t) sqrt(2) * abs(t)),
      special("Norm2(Concat(3 * z, 4 * z))", function(t) 5 * abs(t)),
      special("Normalize(Concat(3 * z, 4 * z))", function(t) if (t == 0) c(0, 0) else sign(t) * c(0.6, 0.8)),
      special("SqNorm2(Concat(z, z))", function(t) 2 * t^2)
    ),
    z = c(0, 1, -0.5, 0, 2, -1)
  )
})

test_that("WeightedSqNorm (3 forms), WeightedSqDist, SqNormIso, SqNormDiag, SymSqNorm", {
  X <- rand_mat(M, 3, 2801, -1, 1)
  Y <- rand_mat(N, 3, 2802, -1, 1)
  S1 <- 0.75
  D3 <- rand_mat(N, 3, 2803, 0.5, 2)
  S9 <- rand_mat(M, 9, 2804, -1, 1)    # not symmetric: the value is f^T S f anyway
  U <- rand_mat(M, 1, 2805, -1, 1)
  V <- rand_mat(N, 1, 2806, 0.5, 2)
  quad <- function(s, f) as.numeric(f %*% rm_mat(s, length(f)) %*% f)
  check_family(
    c("x = Vi(3)", "y = Vj(3)", "s = Pm(1)", "d = Vj(3)", "S = Vi(9)", "u = Vi(1)", "v = Vj(1)"),
    list(X, Y, S1, D3, S9, U, V),
    parts = list(
      part("WeightedSqNorm(s, x - y)", function(i, j) S1 * sum((X[i, ] - Y[j, ])^2)),
      part("WeightedSqNorm(d, x - y)", function(i, j) sum(D3[j, ] * (X[i, ] - Y[j, ])^2)),
      part("WeightedSqNorm(S, x - y)", function(i, j) quad(S9[i, ], X[i, ] - Y[j, ])),
      part("WeightedSqDist(s, x, y)", function(i, j) S1 * sum((X[i, ] - Y[j, ])^2)),
      part("WeightedSqDist(d, x, y)", function(i, j) sum(D3[j, ] * (X[i, ] - Y[j, ])^2)),
      part("WeightedSqDist(S, x, y)", function(i, j) quad(S9[i, ], X[i, ] - Y[j, ])),
      part("SqNormIso(s, x - y)", function(i, j) S1 * sum((X[i, ] - Y[j, ])^2)),
      part("SqNormDiag(d, x - y)", function(i, j) sum(D3[j, ] * (X[i, ] - Y[j, ])^2)),
      part("SymSqNorm(S, x - y)", function(i, j) quad(S9[i, ], X[i, ] - Y[j, ])),
      part("WeightedSqNorm(u, v)", function(i, j) U[i] * V[j]^2),
      part("WeightedSqNorm(v, x)", function(i, j) V[j] * sum(X[i, ]^2))
    )
  )
})

# ---- kernel shortcuts (spec 3.6 expansions) ---------------------------------

test_that("kernel shortcuts: Gauss, Cauchy, Laplace, InverseMultiquadric, SumGauss, DivFree, CurlFree, TRI", {
  X <- rand_mat(M, 3, 2901, 0, 1)
  Y <- rand_mat(N, 3, 2902, 0, 1)
  B <- rand_mat(N, 3, 2903, -1, 1)
  B2 <- rand_mat(N, 2, 2904, -1, 1)
  cc <- 0.7
  ll <- 0.3
  cs <- c(0.5, 1, 2)
  ws <- c(0.2, -0.5, 1.5)
  r2 <- function(i, j) sum((X[i, ] - Y[j, ])^2)
  divfree <- function(i, j) {
    d <- X[i, ] - Y[j, ]
    exp(-cc * r2(i, j)) * (((3 - 1) / (2 * cc) - r2(i, j)) * B[j, ] + sum(B[j, ] * d) * d)
  }
  curlfree <- function(i, j) {
    d <- X[i, ] - Y[j, ]
    exp(-cc * r2(i, j)) * ((1 / (2 * cc)) * B[j, ] - sum(B[j, ] * d) * d)
  }
  check_family(
    c("x = Vi(3)", "y = Vj(3)", "b = Vj(3)", "e = Vj(2)", "c = Pm(1)", "l = Pm(1)", "s = Pm(3)", "w = Pm(3)"),
    list(X, Y, B, B2, cc, ll, cs, ws),
    parts = list(
      part("GaussKernel(c, x, y, e)", function(i, j) exp(-cc * r2(i, j)) * B2[j, ], TOL_LIBM),
      part("CauchyKernel(c, x, y, e)", function(i, j) 1 / (1 + cc * r2(i, j)) * B2[j, ]),
      part("LaplaceKernel(c, x, y, e)", function(i, j) exp(-cc * sqrt(r2(i, j))) * B2[j, ], TOL_LIBM),
      part("InverseMultiquadricKernel(c, x, y, e)", function(i, j) 1 / sqrt(1 / cc + r2(i, j)) * B2[j, ]),
      part("SumGaussKernel(s, w, x, y, e)", function(i, j) sum(ws * exp(-r2(i, j) * cs)) * B2[j, ], TOL_LIBM),
      part("DivFreeGaussKernel(c, x, y, b)", divfree, TOL_LIBM),
      part("CurlFreeGaussKernel(c, x, y, b)", curlfree, TOL_LIBM),
      part("TRIGaussKernel(l, c, x, y, b)", function(i, j) ll * divfree(i, j) + (1 - ll) * curlfree(i, j), TOL_LIBM)
    )
  )
})

# ---- tensor algebra (row-major) -------------------------------------------------

test_that("MatVecMult, VecMatMult, TensorProd read matrices row-major", {
  A <- rand_mat(M, 6, 3001, -1, 1)
  B3 <- rand_mat(N, 3, 3002, -1, 1)
  B2 <- rand_mat(N, 2, 3003, -1, 1)
  X <- rand_mat(M, 3, 3004, -1, 1)
  V <- rand_mat(N, 1, 3005, -1, 1)
  check_family(
    c("A = Vi(6)", "b = Vj(3)", "c = Vj(2)", "x = Vi(3)", "v = Vj(1)"), list(A, B3, B2, X, V),
    parts = list(
      part("MatVecMult(A, b)", function(i, j) as.vector(rm_mat(A[i, ], 2) %*% B3[j, ])),
      part("MatVecMult(A, c)", function(i, j) as.vector(rm_mat(A[i, ], 3) %*% B2[j, ])),
      part("VecMatMult(c, A)", function(i, j) as.vector(B2[j, ] %*% rm_mat(A[i, ], 2))),
      part("VecMatMult(b, A)", function(i, j) as.vector(B3[j, ] %*% rm_mat(A[i, ], 3))),
      part("TensorProd(x, c)", function(i, j) flat_rm(outer(X[i, ], B2[j, ]))),
      part("TensorProd(c, x)", function(i, j) flat_rm(outer(B2[j, ], X[i, ]))),
      part("MatVecMult(A, v)", function(i, j) A[i, ] * V[j]),
      part("TensorProd(v, x)", function(i, j) V[j] * X[i, ])
    )
  )
})

test_that("TensorDot (contractions, permutation, [..] and Ind(..) lists) and Kron", {
  A <- rand_mat(M, 6, 3101, -1, 1)
  Fm <- rand_mat(M, 12, 3102, -1, 1)   # shape [2,3,2]
  G <- rand_mat(N, 24, 3103, -1, 1)    # shape [3,2,4]
  B3 <- rand_mat(N, 3, 3104, -1, 1)
  B2 <- rand_mat(N, 2, 3105, -1, 1)
  P <- rand_mat(M, 4, 3106, -1, 1)     # 2 x 2
  Q <- rand_mat(N, 6, 3107, -1, 1)     # 3 x 2
  td1 <- tensordot_ref(c(2, 3), 3, 1, 0)
  td2 <- tensordot_ref(c(3, 2), 2, 1, 0)
  td3 <- tensordot_ref(c(2, 3, 2), c(3, 2, 4), c(1, 2), c(0, 1))
  td4 <- tensordot_ref(c(2, 3, 2), c(3, 2, 4), 1, 0, c(2, 0, 3, 1))
  td5 <- tensordot_ref(3, 2, integer(), integer(), c(1, 0))
  td6 <- tensordot_ref(c(2, 3), c(3, 2), c(0, 1), c(1, 0))
  td7 <- tensordot_ref(c(3, 2, 4), c(2, 3, 2), c(1, 0), c(2, 1))
  # sanity of the reference itself: TensorDot over [1]/[0] is a matrix product
  expect_equal(td1(1:6, c(1, 10, 100)), c(321, 654))
  expect_equal(td5(c(1, 10, 100), c(1, -1)), c(1, 10, 100, -1, -10, -100))
  check_family(
    c("A = Vi(6)", "f = Vi(12)", "g = Vj(24)", "b = Vj(3)", "c = Vj(2)", "p = Vi(4)", "q = Vj(6)"),
    list(A, Fm, G, B3, B2, P, Q),
    parts = list(
      part("TensorDot(A, b, [2,3], [3], [1], [0])", function(i, j) td1(A[i, ], B3[j, ])),
      part("TensorDot(A, c, Ind(3,2), Ind(2), Ind(1), Ind(0))", function(i, j) td2(A[i, ], B2[j, ])),
      part("TensorDot(f, g, [2,3,2], [3,2,4], [1,2], [0,1])", function(i, j) td3(Fm[i, ], G[j, ])),
      part("TensorDot(f, g, [2,3,2], [3,2,4], [1], [0], [2,0,3,1])", function(i, j) td4(Fm[i, ], G[j, ])),
      part("TensorDot(b, c, [3], [2], [], [], [1,0])", function(i, j) td5(B3[j, ], B2[j, ])),
      part("TensorDot(A, q, [2,3], [3,2], [0,1], [1,0])", function(i, j) td6(A[i, ], Q[j, ])),
      part("TensorDot(g, f, [3,2,4], [2,3,2], [1,0], [2,1])", function(i, j) td7(G[j, ], Fm[i, ])),
      part("Kron(p, q, [2,2], [3,2])", function(i, j) flat_rm(kronecker(rm_mat(P[i, ], 2), rm_mat(Q[j, ], 3)))),
      part("Kron(p, q, Ind(2,2), Ind(3,2))", function(i, j) flat_rm(kronecker(rm_mat(P[i, ], 2), rm_mat(Q[j, ], 3)))),
      part("Kron(b, c, [3], [2])", function(i, j) as.vector(kronecker(B3[j, ], B2[j, ])))
    )
  )
})

test_that("Scal, ScalOrMult, and broadcasting of + - * / on either side", {
  X <- rand_mat(M, 3, 3201, 0.5, 1.5)
  Y <- rand_mat(N, 3, 3202, 0.5, 1.5)
  U <- rand_mat(M, 1, 3203, 0.5, 1.5)
  V <- rand_mat(N, 1, 3204, 0.5, 1.5)
  P <- 1.25
  check_family(
    c("x = Vi(3)", "y = Vj(3)", "u = Vi(1)", "v = Vj(1)", "p = Pm(1)"), list(X, Y, U, V, P),
    parts = list(
      part("Scal(u, y)", function(i, j) U[i] * Y[j, ]),
      part("Scal(p, x - y)", function(i, j) P * (X[i, ] - Y[j, ])),
      part("ScalOrMult(u, y)", function(i, j) U[i] * Y[j, ]),
      part("ScalOrMult(x, v)", function(i, j) X[i, ] * V[j]),
      part("ScalOrMult(x, y)", function(i, j) X[i, ] * Y[j, ]),
      part("u + y", function(i, j) U[i] + Y[j, ]),
      part("x + v", function(i, j) X[i, ] + V[j]),
      part("u - y", function(i, j) U[i] - Y[j, ]),
      part("x - v", function(i, j) X[i, ] - V[j]),
      part("u * y", function(i, j) U[i] * Y[j, ]),
      part("x * v", function(i, j) X[i, ] * V[j]),
      part("u / y", function(i, j) U[i] / Y[j, ]),
      part("x / v", function(i, j) X[i, ] / V[j])
    ),
    axis = 1L
  )
})

# ---- IEEE special values (spec 6.5) -------------------------------------------

test_that("IEEE special values: Inv(0) = Inf, Log(0) = -Inf, NaN outside the domains", {
  X <- rand_mat(M, 1, 3301, 0, 1)
  check_family(
    "x = Vi(1)", list(X),
    specials = list(
      special("Inv(z)", function(t) 1 / t),
      special("Pow(z, -1)", function(t) 1 / t),
      special("1 / z", function(t) 1 / t),
      special("Log(z)", log),
      special("Sqrt(z)", sqrt),
      special("Rsqrt(z)", function(t) if (is.nan(sqrt(t))) NaN else rsqrt(t)),
      special("Asin(z)", asin, tol64 = TOL_LIBM),
      special("Acos(z)", acos, tol64 = TOL_LIBM),
      special("Sign(Sqrt(z))", function(t) sgn(sqrt(t))),
      special("Step(Sqrt(z))", function(t) step(sqrt(t))),
      special("Atan2(Abs(z) * 0, -1)", function(t) pi)
    ),
    z = c(0, -1, 2, -2, 0.5, 4, 1),
    selector = "ifelse"
  )
})

# ---- worked examples of the spec (section 7) -----------------------------------

# Exact expected values: integer entries exactly, the others (printed with
# 10 significant digits in the spec) to 1e-9 relative, 1e-6 in float32.
ex_a <- matrix(1:6, 1)
ex_b <- matrix(c(1, 10, 100), 1)
ex_c <- matrix(c(1, -1), 1)
ex_abc <- c("a = Vi(0,6)", "b = Vj(1,3)", "c = Vj(2,2)")
ex_z <- matrix(c(-2, -0.5, 0, 0.5, 2.5))
ex_zo <- c("z = Vi(0,1)", "o = Vj(1,1)")

check_example <- function(formula, args, input, expected, label) {
  op <- get_op(formula, args)
  for (precision in both) {
    res <- op(input, precision = precision)
    expect_identical(dim(res), dim(expected))
    if (!identical(dim(res), dim(expected))) next
    expect_special(res, expected, if (precision == "float64") 1e-9 else 1e-6,
                   sprintf("%s [%s]", label, precision))
  }
}

test_that("E31: indexing and concatenation", {
  check_example("Sum_Reduction(Concat(Concat(Elem(a,4), Extract(a,1,2)), Concat(ElemT(Elem(b,1),3,2), ExtractT(c,1,4))), 0)",
                ex_abc, list(ex_a, ex_b, ex_c), matrix(c(5, 2, 3, 0, 0, 10, 0, 1, -1, 0), 1), "E31")
})

test_that("E32: MatVecMult is row-major", {
  check_example("Sum_Reduction(MatVecMult(a, b), 0)", ex_abc, list(ex_a, ex_b, ex_c), matrix(c(321, 654), 1), "E32")
})

test_that("E33: VecMatMult and TensorProd", {
  check_example("Sum_Reduction(Concat(VecMatMult(c, a), TensorProd(b, c)), 0)", ex_abc, list(ex_a, ex_b, ex_c),
                matrix(c(-3, -3, -3, 1, -1, 10, -10, 100, -100), 1), "E33")
})

test_that("E34: TensorDot contraction and permutation", {
  check_example("Sum_Reduction(Concat(TensorDot(a, b, [2,3], [3], [1], [0]), TensorDot(b, c, [3], [2], [], [], [1,0])), 0)",
                ex_abc, list(ex_a, ex_b, ex_c), matrix(c(321, 654, 1, 10, 100, -1, -10, -100), 1), "E34")
})

test_that("E35: WeightedSqNorm's three forms and WeightedSqDist", {
  check_example(paste0("Sum_Reduction(Concat(Concat(WeightedSqNorm(Elem(b,1), c), WeightedSqNorm(Extract(a,0,2), c)), ",
                       "Concat(WeightedSqNorm(Extract(a,2,4), c), WeightedSqDist(Extract(a,2,4), c, Extract(b,0,2)))), 0)"),
                ex_abc, list(ex_a, ex_b, ex_c), matrix(c(20, 3, 0, 726), 1), "E35")
})

test_that("E36: piecewise functions at and around 0", {
  expected <- matrix(c(
    0.7071067812, -1, 0, 0, 1.386294361, 0.4546487134,
    1.414213562, -1, 0, 0, -0.3465735903, 0.9588510772,
    0, 0, 1, 0, 0, 1,
    1.414213562, 1, 1, 0.5, -0.3465735903, 0.9588510772,
    0.632455532, 1, 1, 2.5, 2.29072683, 0.2393888576), 5, byrow = TRUE)
  check_example("Sum_Reduction(Concat(Concat(Concat(Rsqrt(Abs(z)), Sign(z)), Concat(Step(z), ReLU(z))), Concat(XLogX(Abs(z)), SinXDivX(z))), 0)",
                ex_zo, list(ex_z, 1), expected, "E36")
})

test_that("E37: Mod, Round, ClampInt, IfElse, Floor, comparisons", {
  expected <- matrix(c(
    0, -0.86, -1, -1, -2, 1, 0,
    -0.5, -0.21, -0.5, -1, -1, 1, 0,
    0, 0, 0, 1, 0, 0, 1,
    0.5, 0.21, 0.5, 1, 0, 0, 1,
    0.5, 1.07, 1, 1, 2, 0, 1), 5, byrow = TRUE)
  check_example(paste0("Sum_Reduction(Concat(Concat(Concat(Mod(z, IntCst(2), IntCst(-1)), Round(3 * z / 7, 2)), ",
                       "Concat(ClampInt(z, -1, 1), IfElse(z, IntCst(1), IntCst(-1)))), Concat(Floor(z), Concat(z < 0, z >= 0))), 0)"),
                ex_zo, list(ex_z, 1), expected, "E37")
})

test_that("E38: Powf, Pow, Atan2, Clamp with formula bounds (Powf in the computation type)", {
  # K2 computes Powf with single-precision powf (1.414213538...); the target
  # evaluates it in the computation type: sqrt(|z|) to double precision.
  expected <- matrix(c(
    sqrt(2), -8, -2.034443936, -1,
    sqrt(0.5), -0.125, -2.677945045, -0.5,
    0, 0, 3.141592654, 0,
    sqrt(0.5), 0.125, 2.677945045, 0.5,
    sqrt(2.5), 15.625, 1.951302704, 2), 5, byrow = TRUE)
  check_example("Sum_Reduction(Concat(Concat(Powf(Abs(z), IntInv(2)), Pow(z, 3)), Concat(Atan2(z, IntCst(-1)), Clamp(z, -o, 2 * o))), 0)",
                ex_zo, list(ex_z, 1), expected, "E38")
})

test_that("E39: Max/Min/ArgMax/ArgMin and OneHot inside a formula", {
  check_example("Sum_Reduction(Concat(Concat(Max(Concat(c, c)), Min(b)), Concat(Concat(ArgMax(Concat(c, c)), ArgMin(Concat(c, c))), OneHot(Elem(b,0) + 1, 4))), 0)",
                ex_abc, list(ex_a, ex_b, ex_c), matrix(c(1, 1, 0, 1, 0, 0, 1, 0), 1), "E39")
})

test_that("E40 (real part): Norm2 and Normalize", {
  check_example("Sum_Reduction(Concat(Norm2(Extract(a,2,2)), Normalize(Extract(a,2,2))), 0)",
                ex_abc, list(ex_a, ex_b, matrix(c(0.5, -1), 1)), matrix(c(5, 0.6, 0.8), 1), "E40")
})

test_that("E42: integer literals, precedence, and x/3 exact in the computation type", {
  # K2 gives 1.00000003 for x/3 (1/3 rounded to float32); the target gives 1.
  check_example("Sum_Reduction(Concat(2*x + 1 - x**2, Concat(-x**2, x/3)), 0)", "x = Vi(0,1)", list(matrix(3)),
                matrix(c(-2, -9, 1), 1), "E42")
})

# ---- dimension and integer-parameter errors ----------------------------------

err_args <- c("x = Vi(3)", "y = Vj(2)", "u = Vi(1)", "w = Vj(4)", "A = Vi(6)", "s = Pm(5)")

# A formula error at compile time: class, `position` field, "at position"
# in the message, and every string of `has` in the message.
expect_op_error <- function(formula, position, has, args = err_args) {
  e <- catch_err(keops_kernel(formula, args))
  expect_s3_class(e, "rkeops_formula_error")
  if (!inherits(e, "rkeops_formula_error")) return(invisible(e))
  expect_identical(as.integer(e$position), as.integer(position), label = sprintf("position of the error in %s", formula))
  msg <- conditionMessage(e)
  expect_match(msg, sprintf("at position %d", position), fixed = TRUE)
  for (h in has) {
    expect(grepl(h, msg, fixed = TRUE),
           sprintf("the error for %s does not mention %s; message:\n%s", formula, h, msg))
  }
  invisible(e)
}

test_that("incompatible dimensions: the error names both operands and their dimensions", {
  expect_op_error("Sum_Reduction(Add(x, y), 0)", 14, c("'x' has dimension 3", "'y' has dimension 2"))
  expect_op_error("Sum_Reduction(Atan2(x, y), 0)", 14, c("Atan2", "'x' has dimension 3", "'y' has dimension 2"))
  expect_op_error("Sum_Reduction(Powf(y, x), 0)", 14, c("Powf", "'y' has dimension 2", "'x' has dimension 3"))
  expect_op_error("Sum_Reduction(x < y, 0)", 14, c("'x' has dimension 3", "'y' has dimension 2"))
  expect_op_error("Sum_Reduction(IfElse(u, x, y), 0)", 14, c("IfElse", "'x' has dimension 3", "'y' has dimension 2"))
  expect_op_error("Sum_Reduction(IfElse(y, x, u), 0)", 14, c("IfElse", "'y' has dimension 2", "'x' has dimension 3"))
  expect_op_error("Sum_Reduction(Clamp(x, u, y), 0)", 14, c("Clamp", "'x' has dimension 3", "'y' has dimension 2"))
  expect_op_error("Sum_Reduction(Mod(x, y, u), 0)", 14, c("Mod", "'x' has dimension 3", "'y' has dimension 2"))
  expect_op_error("Sum_Reduction(Scalprod(x, w), 0)", 14, c("Scalprod", "'x' has dimension 3", "'w' has dimension 4"))
  expect_op_error("Sum_Reduction((x | y), 0)", 14, c("'x' has dimension 3", "'y' has dimension 2"))
  expect_op_error("Sum_Reduction(SqDist(x, y), 0)", 14, c("SqDist", "'x' has dimension 3", "'y' has dimension 2"))
})

test_that("incompatible dimensions in MatVecMult, VecMatMult, TensorDot, WeightedSqNorm name the operands", {
  expect_op_error("Sum_Reduction(MatVecMult(A, w), 0)", 14, c("MatVecMult", "'A'", "6", "'w'", "4"))
  expect_op_error("Sum_Reduction(VecMatMult(w, A), 0)", 14, c("VecMatMult", "'A'", "6", "'w'", "4"))
  expect_op_error("Sum_Reduction(TensorDot(A, y, [2,3], [2], [1], [0]), 0)", 14, c("'A'", "3", "'y'", "2"))
  expect_op_error("Sum_Reduction(TensorDot(A, x, [2,2], [3], [1], [0]), 0)", 30, c("'A'", "6", "4"))
  expect_op_error("Sum_Reduction(WeightedSqNorm(y, x), 0)", 14, c("WeightedSqNorm", "'y'", "2", "'x'", "3"))
  expect_op_error("Sum_Reduction(WeightedSqNorm(s, x), 0)", 14, c("WeightedSqNorm", "'s'", "5", "'x'", "3"))
})

test_that("out-of-range indices and dimension-1 requirements", {
  expect_op_error("Sum_Reduction(Elem(x, 3), 0)", 22, c("index 3", "'x' has dimension 3"))
  expect_op_error("Sum_Reduction(Extract(x, 2, 2), 0)", 14, c("Extract", "'x' has dimension 3"))
  expect_op_error("Sum_Reduction(Extract(x, 0, 0), 0)", 14, c("Extract", "'x' has dimension 3"))
  expect_op_error("Sum_Reduction(ElemT(x, 3, 1), 0)", 20, c("ElemT", "'x' has dimension 3"))
  expect_op_error("Sum_Reduction(ElemT(u, 3, 3), 0)", 26, c("index 3"))
  expect_op_error("Sum_Reduction(ExtractT(x, 2, 4), 0)", 14, c("ExtractT", "'x'", "3", "4"))
  expect_op_error("Sum_Reduction(OneHot(x, 3), 0)", 21, c("OneHot", "'x' has dimension 3"))
  expect_op_error("Sum_Reduction(SumT(x, 3), 0)", 19, c("SumT", "'x' has dimension 3"))
})

test_that("integer parameters: formulas and decimals are rejected where an integer is required", {
  expect_op_error("Sum_Reduction(Pow(x, y), 0)", 21, c("Pow", "integer", "'y'"))
  expect_op_error("Sum_Reduction(x**y, 0)", 17, c("integer", "Powf"))
  expect_op_error("Sum_Reduction(Round(x, 0.5), 0)", 23, c("Round", "integer", "0.5"))
  expect_op_error("Sum_Reduction(Elem(x, -1), 0)", 22, c("index -1", "'x' has dimension 3"))
  expect_op_error("Sum_Reduction(Elem(x, u), 0)", 22, c("Elem", "integer", "'u'"))
  expect_op_error("Sum_Reduction(ClampInt(x, 0.5, 1), 0)", 26, c("ClampInt", "integer", "0.5"))
})
