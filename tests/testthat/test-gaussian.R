# The Gaussian kernel convolution, the canonical rkeops example, in every
# orientation, precision and size, plus the worked examples E1-E7 of the
# formula-language specification.

gauss_formula <- "Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)"
gauss_args <- c("x = Vi(3)", "y = Vj(3)", "b = Vj(6)", "s = Pm(1)")
# Transposed convolution: reduce over i, weights indexed by i.
gauss_t_formula <- "Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 1)"
gauss_t_args <- c("x = Vi(3)", "y = Vj(3)", "b = Vi(6)", "s = Pm(1)")

gauss <- get_op(gauss_formula, gauss_args)
gauss_t <- get_op(gauss_t_formula, gauss_t_args)

test_that("the seed example matches exp(-s * D2) %*% B in both precisions", {
  d <- seed_data()
  ref <- ref_gauss_conv(d$x, d$y, d$b, d$s)
  expect_equal(dim(ref), c(100L, 6L))
  for (precision in c("float32", "float64")) {
    res <- gauss(list(d$x, d$y, d$b, d$s), precision = precision)
    expect_true(is.matrix(res) && is.double(res))
    expect_close(res, ref, tol_for(precision))
  }
  # float32 really computes in single precision: not bit-identical to float64
  r32 <- gauss(list(d$x, d$y, d$b, d$s), precision = "float32")
  r64 <- gauss(list(d$x, d$y, d$b, d$s), precision = "float64")
  expect_gt(max(abs(r32 - r64)), 0)
  expect_lt(rel_err(r64, ref), rel_err(r32, ref))
})

test_that("axis 1 reduces over i: t(K) %*% B with b = Vi(6)", {
  d <- seed_data()
  bi <- rand_mat(100, 6, 11, -1, 1)
  ref <- t(exp(-d$s * ref_sqdist(d$x, d$y))) %*% bi
  expect_equal(dim(ref), c(150L, 6L))
  for (precision in c("float32", "float64")) {
    res <- gauss_t(list(d$x, d$y, bi, d$s), precision = precision)
    expect_close(res, ref, tol_for(precision))
  }
  info <- gauss_t()
  expect_identical(info$axis, 1L)
  expect_identical(info$output_dim, 6L)
  expect_identical(info$reduction, "Sum_Reduction")
})

test_that("inner_dim 'col'/1 takes points as rows, 'row'/0 as columns (result transposed)", {
  d <- seed_data(M = 17, N = 33)
  ref <- ref_gauss_conv(d$x, d$y, d$b, d$s)
  with_precision("float64", {
    # made in float64, so it computes in float64 (an operator keeps its precision)
    gauss <- get_op(gauss_formula, gauss_args)
    gauss_t <- get_op(gauss_t_formula, gauss_t_args)
    for (inner in list("col", 1, 1L)) {
      expect_close(gauss(list(d$x, d$y, d$b, d$s), inner_dim = inner), ref, TOL64)
    }
    for (inner in list("row", 0, 0L)) {
      res <- gauss(list(t(d$x), t(d$y), t(d$b), d$s), inner_dim = inner)
      expect_equal(dim(res), c(6L, 17L))
      expect_close(res, t(ref), TOL64)
    }
    # axis 1 in "row" orientation: 6 x N
    bi <- rand_mat(17, 6, 12)
    ref_t <- t(exp(-d$s * ref_sqdist(d$x, d$y))) %*% bi
    res <- gauss_t(list(t(d$x), t(d$y), t(bi), d$s), inner_dim = "row")
    expect_close(res, t(ref_t), TOL64)
  })
  res32 <- gauss(list(t(d$x), t(d$y), t(d$b), d$s), inner_dim = "row", precision = "float32")
  expect_close(res32, t(ref), TOL32)
})

test_that("a named input list is reordered by name", {
  d <- seed_data(M = 7, N = 17)
  ref <- ref_gauss_conv(d$x, d$y, d$b, d$s)
  with_precision("float64", {
    # made in float64, so it computes in float64 (an operator keeps its precision)
    gauss <- get_op(gauss_formula, gauss_args)
    gauss_t <- get_op(gauss_t_formula, gauss_t_args)
    expect_close(gauss(list(s = d$s, b = d$b, x = d$x, y = d$y)), ref, TOL64)
    expect_close(gauss(list(y = d$y, x = d$x, s = d$s, b = d$b)), ref, TOL64)
    expect_close(gauss(list(x = d$x, y = d$y, b = d$b, s = d$s)), ref, TOL64)
  })
})

test_that("explicit positions 'x = Vi(0,3)' in shuffled declaration order", {
  op <- get_op(gauss_formula, c("s = Pm(3,1)", "b = Vj(2,6)", "y = Vj(1,3)", "x = Vi(0,3)"))
  info <- op()
  a <- info$args_info[order(info$args_info$pos), ]
  expect_identical(a$name, c("x", "y", "b", "s"))
  expect_identical(a$cat, c(0L, 1L, 1L, 2L))
  expect_identical(a$dim, c(3L, 3L, 6L, 1L))
  d <- seed_data(M = 33, N = 7)
  ref <- ref_gauss_conv(d$x, d$y, d$b, d$s)
  with_precision("float64", {
    # unnamed inputs are taken in position order, not declaration order
    expect_close(op(list(d$x, d$y, d$b, d$s), precision = "float64"), ref, TOL64)
    expect_close(op(list(b = d$b, s = d$s, y = d$y, x = d$x), precision = "float64"), ref, TOL64)
  })
  # a second shuffle with other positions: x is now input 3
  op2 <- get_op(gauss_formula, c("b = Vj(0,6)", "x = Vi(3,3)", "s = Pm(1,1)", "y = Vj(2,3)"))
  expect_close(op2(list(d$b, d$s, d$y, d$x), precision = "float64"), ref, TOL64)
})

test_that("sizes 1, 7, 17, 33, 1000 for M and N (not multiples of 16)", {
  sizes <- rbind(c(1, 1), c(1, 33), c(33, 1), c(7, 17), c(17, 7), c(33, 1000), c(1000, 33),
                 c(1000, 1000), c(1, 1000), c(1000, 1))
  for (k in seq_len(nrow(sizes))) {
    M <- sizes[k, 1]
    N <- sizes[k, 2]
    d <- seed_data(M = M, N = N, seed = 100 + k)
    ref <- ref_gauss_conv(d$x, d$y, d$b, d$s)
    res <- gauss(list(d$x, d$y, d$b, d$s), precision = "float64")
    expect_equal(dim(res), c(as.integer(M), 6L), info = sprintf("M = %d, N = %d", M, N))
    expect_close(res, ref, TOL64)
    res32 <- gauss(list(d$x, d$y, d$b, d$s), precision = "float32")
    expect_close(res32, ref, TOL32)
    bi <- rand_mat(M, 6, 200 + k, -1, 1)
    ref_t <- t(exp(-d$s * ref_sqdist(d$x, d$y))) %*% bi
    res_t <- gauss_t(list(d$x, d$y, bi, d$s), precision = "float64")
    expect_equal(dim(res_t), c(as.integer(N), 6L))
    expect_close(res_t, ref_t, TOL64)
  }
})

test_that("empty reductions: N = 0 gives zeros, M = 0 gives no rows", {
  d <- seed_data(M = 7, N = 5)
  with_precision("float64", {
    # made in float64, so it computes in float64 (an operator keeps its precision)
    gauss <- get_op(gauss_formula, gauss_args)
    gauss_t <- get_op(gauss_t_formula, gauss_t_args)
    expect_identical(gauss(list(d$x, d$y[0, ], d$b[0, ], d$s)), matrix(0, 7, 6))
    expect_identical(dim(gauss(list(d$x[0, ], d$y, d$b, d$s))), c(0L, 6L))
    expect_identical(gauss_t(list(d$x[0, ], d$y, d$b[0, ], d$s)), matrix(0, 5, 6))
  })
})

# ---- worked examples of the specification (section 7) ---------------------

e_x3 <- matrix(c(1, 2, 3, 4, 5, 6, 7, 8, 9), 3, byrow = TRUE)
e_y3 <- matrix(c(3, 4, 5, 6, 7, 8), 2, byrow = TRUE)
e_x2 <- matrix(c(0, 0, 1, 1), 2, byrow = TRUE)
e_y2 <- matrix(c(0, 1, 2, 0, 1, 1), 3, byrow = TRUE)

test_that("E1: Sum_Reduction(SqNorm2(x - y), 0) gives [87; 15; 51]", {
  op <- get_op("Sum_Reduction(SqNorm2(x - y), 0)", c("x = Vi(0,3)", "y = Vj(1,3)"))
  for (precision in c("float32", "float64")) {
    res <- op(list(e_x3, e_y3), precision = precision)
    expect_identical(res, matrix(c(87, 15, 51), 3, 1))
  }
})

test_that("E2: the same with tag 1 gives [63; 90]", {
  op <- get_op("Sum_Reduction(SqNorm2(x - y), 1)", c("x = Vi(0,3)", "y = Vj(1,3)"))
  for (precision in c("float32", "float64")) {
    res <- op(list(e_x3, e_y3), precision = precision)
    expect_identical(res, matrix(c(63, 90), 2, 1))
  }
})

test_that("E3: Gaussian convolution on 2 x 2 data", {
  op <- get_op("Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)",
               c("x = Vi(0,2)", "y = Vj(1,2)", "b = Vj(2,2)", "s = Pm(3,1)"))
  b <- matrix(c(1, 0, 0, 1, 2, 2), 3, byrow = TRUE)
  spec <- matrix(c(1.342289542, 0.8710941656, 2.60653066, 2.367879441), 2, byrow = TRUE)
  exact <- matrix(c(exp(-0.5) + 2 * exp(-1), exp(-2) + 2 * exp(-1),
                    exp(-0.5) + 2, exp(-1) + 2), 2, byrow = TRUE)
  expect_close(exact, spec, 1e-9)  # the closed form agrees with the spec's digits
  expect_close(exact, ref_gauss_conv(e_x2, e_y2, b, 0.5), 1e-15)
  r32 <- op(list(e_x2, e_y2, b, 0.5), precision = "float32")
  expect_close(r32, exact, 1e-6)
  r64 <- op(list(e_x2, e_y2, b, 0.5), precision = "float64")
  expect_close(r64, exact, 1e-12)
  expect_close(r64, spec, 1e-9)  # the spec rounds to 10 significant digits
})

test_that("E4: transposed convolution (tag 1, weights indexed by i)", {
  op <- get_op("Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 1)",
               c("x = Vi(0,2)", "y = Vj(1,2)", "b = Vi(2,2)", "s = Pm(3,1)"))
  b <- matrix(c(1, 2, 3, 4), 2, byrow = TRUE)
  spec <- matrix(c(2.426122639, 3.639183958, 1.238973607, 1.742188331, 3.367879441, 4.735758882),
                 3, byrow = TRUE)
  ref <- t(exp(-0.5 * ref_sqdist(e_x2, e_y2))) %*% b
  expect_close(ref, spec, 1e-9)
  expect_close(op(list(e_x2, e_y2, b, 0.5), precision = "float64"), ref, TOL64)
  expect_close(op(list(e_x2, e_y2, b, 0.5), precision = "float32"), ref, 1e-6)
})

test_that("E5: (x | y) summed over i gives [9; 12]", {
  op <- get_op("Sum_Reduction((x | y), 1)", c("x = Vi(0,2)", "y = Vj(1,2)"))
  x <- matrix(c(1, 2, 3, 4, 5, 6), 3, byrow = TRUE)
  y <- matrix(c(1, 0, 0, 1), 2, byrow = TRUE)
  for (precision in c("float32", "float64")) {
    expect_identical(op(list(x, y), precision = precision), matrix(c(9, 12), 2, 1))
  }
})

test_that("E6: a Pm(1) broadcast against Vi(2), no Vj (N = 1)", {
  op <- get_op("Sum_Reduction(x + p, 0)", c("x = Vi(0,2)", "p = Pm(1,1)"))
  x <- matrix(c(1, 2, 3, 4, 5, 6), 3, byrow = TRUE)
  for (precision in c("float32", "float64")) {
    expect_identical(op(list(x, 10), precision = precision),
                     matrix(c(11, 12, 13, 14, 15, 16), 3, byrow = TRUE))
  }
})

test_that("E7: no Vi (M = 1), integer literal: [2 2]", {
  op <- get_op("Sum_Reduction(y * 2, 0)", c("y = Vj(0,2)"))
  y <- matrix(c(1, 0, 0, 1), 2, byrow = TRUE)
  for (precision in c("float32", "float64")) {
    expect_identical(op(list(y), precision = precision), matrix(c(2, 2), 1, 2))
  }
  # and on random data: one row, 2 * colSums(y)
  y <- rand_mat(1000, 2, 7)
  expect_close(op(list(y), precision = "float64"), matrix(2 * colSums(y), 1), TOL64)
})

test_that("inputs: integer, logical and data frame inputs are converted", {
  d <- seed_data(M = 7, N = 17)
  xi <- matrix(sample(0:3, 21, TRUE), 7, 3)
  yi <- matrix(sample(0:3, 51, TRUE), 17, 3)
  bl <- matrix(c(TRUE, FALSE), 17, 6)
  ref <- ref_gauss_conv(xi, yi, bl * 1, d$s)
  with_precision("float64", {
    # made in float64, so it computes in float64 (an operator keeps its precision)
    gauss <- get_op(gauss_formula, gauss_args)
    gauss_t <- get_op(gauss_t_formula, gauss_t_args)
    expect_close(gauss(list(xi, yi, bl, d$s)), ref, TOL64)
    expect_close(gauss(list(as.data.frame(d$x), as.data.frame(d$y), d$b, d$s)),
                 ref_gauss_conv(d$x, d$y, d$b, d$s), TOL64)
    # the parameter may be an integer or a 1 x 1 matrix
    expect_close(gauss(list(d$x, d$y, d$b, 1L)), ref_gauss_conv(d$x, d$y, d$b, 1), TOL64)
    expect_close(gauss(list(d$x, d$y, d$b, matrix(0.3))), ref_gauss_conv(d$x, d$y, d$b, 0.3), TOL64)
  })
})

test_that("op() describes the operator and print() shows it", {
  info <- gauss()
  expect_identical(info$formula, gauss_formula)
  expect_identical(info$args, gauss_args)
  expect_identical(info$args_info$name, c("x", "y", "b", "s"))
  expect_identical(info$args_info$cat, c(0L, 1L, 1L, 2L))
  expect_identical(info$args_info$pos, 0:3)
  expect_identical(info$args_info$dim, c(3L, 3L, 6L, 1L))
  expect_identical(info$reduction, "Sum_Reduction")
  expect_identical(info$axis, 0L)
  expect_identical(info$output_dim, 6L)
  expect_identical(info$precision, get_rkeops_options("precision"))
  expect_true(inherits(gauss, "rkeops_operator"))
  out <- capture.output(print(gauss))
  expect_match(out, "Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)", fixed = TRUE, all = FALSE)
  expect_match(out, "over j, one row per i \\(M rows\\), 6 columns", all = FALSE)
  expect_match(out, "^ +0 +x +Vi\\(3\\)$", all = FALSE)
  expect_match(out, "^ +2 +b +Vj\\(6\\)$", all = FALSE)
  expect_match(out, "^ +3 +s +Pm\\(1\\)$", all = FALSE)
  expect_match(out, "backend: +CPU", all = FALSE)
  expect_match(out, "precision: float32 (kept from its creation", fixed = TRUE, all = FALSE)
})
