# One test per operation of the language, each against a brute-force R
# computation over every (i, j) pair: float64 to 1e-12, a subset in float32.
# Inputs are in [1, 2] (or [0.5, 1.5] where noted), away from singularities.

M <- 7
N <- 9
X <- rand_mat(M, 3, 301, 1, 2)   # x = Vi(3)
Y <- rand_mat(N, 3, 302, 1, 2)   # y = Vj(3)
U <- rand_mat(M, 1, 303, 1, 2)   # u = Vi(1)
V <- rand_mat(N, 1, 304, 1, 2)   # v = Vj(1)
P <- 1.5                          # p = Pm(1)
Q <- c(0.5, 1.25, 2)              # q = Pm(3)

std_args <- c("x = Vi(3)", "y = Vj(3)", "u = Vi(1)", "v = Vj(1)", "p = Pm(1)", "q = Pm(3)")
std_input <- list(X, Y, U, V, P, Q)

# Checks Sum_Reduction(<body>, axis) against sum over pairs of f(i, j).
check_op <- function(body, f, axis = 0, precisions = "float64",
                     args = std_args, input = std_input, MN = c(M, N)) {
  formula <- sprintf("Sum_Reduction(%s, %d)", body, axis)
  op <- get_op(formula, args)
  ref <- ref_sum_reduction(f, MN[1], MN[2], axis)
  for (precision in precisions) {
    res <- op(input, precision = precision)
    expect_close(res, ref, tol_for(precision))
  }
  invisible(ref)
}
both <- c("float64", "float32")

# Function spellings (Add, Mult, Scalprod, ...) have the same canonical form
# as the infix ones, so they reuse the compiled operator: they are free to
# test and show that both spellings mean the same.

test_that("+ and Add() add vectors, and broadcast a dimension-1 operand", {
  check_op("x + y", function(i, j) X[i, ] + Y[j, ], precisions = both)
  check_op("Add(x, y)", function(i, j) X[i, ] + Y[j, ])
  check_op("x + p", function(i, j) X[i, ] + P)
  check_op("u + y", function(i, j) U[i] + Y[j, ], precisions = both)
  check_op("Add(x, q)", function(i, j) X[i, ] + Q, axis = 1)
})

test_that("- and Subtract() subtract, broadcasting on either side, left-associative", {
  # x - y - u = (x - y) - u
  check_op("x - y - u", function(i, j) X[i, ] - Y[j, ] - U[i], precisions = both)
  check_op("Subtract(Subtract(x, y), u)", function(i, j) X[i, ] - Y[j, ] - U[i])
  check_op("p - y", function(i, j) P - Y[j, ], axis = 1)
  check_op("Subtract(q, y)", function(i, j) Q - Y[j, ])
})

test_that("* and Mult() multiply element-wise, and broadcast", {
  check_op("p * x * y", function(i, j) P * X[i, ] * Y[j, ], precisions = both)
  check_op("Mult(Mult(p, x), y)", function(i, j) P * X[i, ] * Y[j, ])
  check_op("u * y * v", function(i, j) U[i] * Y[j, ] * V[j], axis = 1, precisions = both)
  check_op("Mult(q, x)", function(i, j) Q * X[i, ])
})

test_that("/ and Divide() divide element-wise, and broadcast", {
  # x / y * u = (x / y) * u
  check_op("x / y * u", function(i, j) X[i, ] / Y[j, ] * U[i], precisions = both)
  check_op("Mult(Divide(x, y), u)", function(i, j) X[i, ] / Y[j, ] * U[i])
  check_op("p / x", function(i, j) P / X[i, ])
  check_op("u / y", function(i, j) U[i] / Y[j, ], precisions = both)
  check_op("Divide(x, q)", function(i, j) X[i, ] / Q)
})

test_that("unary minus and Minus()", {
  check_op("-x + y", function(i, j) -X[i, ] + Y[j, ], precisions = both)
  check_op("Add(Minus(x), y)", function(i, j) -X[i, ] + Y[j, ])
  check_op("-(x * y)", function(i, j) -(X[i, ] * Y[j, ]))
  # -x**2 is -(x**2), not (-x)**2
  check_op("-x**2 + y", function(i, j) -(X[i, ]^2) + Y[j, ])
})

test_that("integer and decimal literals are constants that broadcast", {
  check_op("2 * x + 1", function(i, j) 2 * X[i, ] + 1, precisions = both)
  check_op("0.5 * x - y", function(i, j) 0.5 * X[i, ] - Y[j, ], precisions = both)
  check_op("1e-3 * x + .25 * y + 2.5E+2", function(i, j) 1e-3 * X[i, ] + 0.25 * Y[j, ] + 250)
  check_op("1 / x + y / 3", function(i, j) 1 / X[i, ] + Y[j, ] / 3)
})

test_that("x ** n with positive, negative and special integer exponents", {
  check_op("x ** 2 + y", function(i, j) X[i, ]^2 + Y[j, ], precisions = both)
  check_op("(x + y) ** -1", function(i, j) (X[i, ] + Y[j, ])^-1, precisions = both)
  check_op("(x - y) ** 3", function(i, j) (X[i, ] - Y[j, ])^3)
  check_op("(x * y) ** -3", function(i, j) (X[i, ] * Y[j, ])^-3)
  check_op("x ** 1 * y + u ** 0", function(i, j) X[i, ] * Y[j, ] + 1)
})

test_that("Pow(x, n) for integer n", {
  check_op("Pow(x - y, 3)", function(i, j) (X[i, ] - Y[j, ])^3, precisions = both)
  check_op("Pow(x + y, -2)", function(i, j) (X[i, ] + Y[j, ])^-2, precisions = both)
})

test_that("Exp", {
  check_op("Exp(x - y)", function(i, j) exp(X[i, ] - Y[j, ]), precisions = both)
  check_op("Exp(-p * SqNorm2(x - y)) * y", function(i, j) exp(-P * sum((X[i, ] - Y[j, ])^2)) * Y[j, ],
           axis = 1, precisions = both)
})

test_that("Square", {
  check_op("Square(x - y)", function(i, j) (X[i, ] - Y[j, ])^2, precisions = both)
  check_op("(x - y) ** 2", function(i, j) (X[i, ] - Y[j, ])^2)
})

test_that("Inv", {
  check_op("Inv(x + y)", function(i, j) 1 / (X[i, ] + Y[j, ]), precisions = both)
  check_op("Inv(u) * y", function(i, j) Y[j, ] / U[i])
})

test_that("Sum of the components", {
  check_op("Sum(x * y)", function(i, j) sum(X[i, ] * Y[j, ]), precisions = both)
  check_op("Sum(x) * y", function(i, j) sum(X[i, ]) * Y[j, ], axis = 1)
})

test_that("SqNorm2 and SqDist", {
  check_op("SqNorm2(x - y)", function(i, j) sum((X[i, ] - Y[j, ])^2), precisions = both)
  check_op("SqNorm2(u * v)", function(i, j) (U[i] * V[j])^2)
  check_op("SqDist(x, y) * q", function(i, j) sum((X[i, ] - Y[j, ])^2) * Q, axis = 1, precisions = both)
})

test_that("scalar product: (x|y) and Scalprod(x, y)", {
  check_op("(x | y)", function(i, j) sum(X[i, ] * Y[j, ]), precisions = both)
  check_op("Scalprod(x, y)", function(i, j) sum(X[i, ] * Y[j, ]))
  check_op("Scalprod(x - y, q)", function(i, j) sum((X[i, ] - Y[j, ]) * Q), axis = 1)
  # | binds looser than + and *: (2 * x | y + x) = (2x) | (y + x)
  check_op("(2 * x | y + x)", function(i, j) sum(2 * X[i, ] * (Y[j, ] + X[i, ])))
})

test_that("IntCst(n) and Zero(d)", {
  check_op("IntCst(3) * x + y", function(i, j) 3 * X[i, ] + Y[j, ], precisions = both)
  check_op("IntCst(-2) * y", function(i, j) -2 * Y[j, ])
  check_op("Zero(3) + x * y", function(i, j) X[i, ] * Y[j, ])
  check_op("Zero(2)", function(i, j) c(0, 0))
})

test_that("SumReduction is the K1 spelling of Sum_Reduction", {
  op <- get_op("SumReduction(x * y, 1)", c("x = Vi(3)", "y = Vj(3)"))
  expect_identical(op()$reduction, "Sum_Reduction")
  ref <- ref_sum_reduction(function(i, j) X[i, ] * Y[j, ], M, N, 1)
  expect_close(op(list(X, Y), precision = "float64"), ref, TOL64)
  expect_close(op(list(X, Y), precision = "float32"), ref, TOL32)
})

test_that("inline Vi(pos,dim), Vj(pos,dim), Pm(pos,dim) and Var(pos,dim,cat)", {
  ref <- ref_sum_reduction(function(i, j) exp(-P * sum((X[i, ] - Y[j, ])^2)) * Y[j, ], M, N, 0)
  # only inline variables, no declarations
  op <- get_op("Sum_Reduction(Exp(-Pm(2,1) * SqNorm2(Vi(0,3) - Vj(1,3))) * Vj(1,3), 0)")
  a <- op()$args_info
  expect_identical(a$pos[order(a$pos)], 0:2)
  expect_identical(a$cat[order(a$pos)], c(0L, 1L, 2L))
  expect_identical(a$dim[order(a$pos)], c(3L, 3L, 1L))
  expect_close(op(list(X, Y, P), precision = "float64"), ref, TOL64)
  expect_close(op(list(X, Y, P), precision = "float32"), ref, TOL32)
  # Var(pos, dim, cat) spelling
  op <- get_op("Sum_Reduction(Exp(-Var(2,1,2) * SqNorm2(Var(0,3,0) - Var(1,3,1))) * Var(1,3,1), 0)")
  expect_close(op(list(X, Y, P), precision = "float64"), ref, TOL64)
  # an inline variable consistent with a declaration at the same position
  op <- get_op("Sum_Reduction(Vi(0,3) * y, 0)", c("x = Vi(0,3)", "y = Vj(1,3)"))
  expect_close(op(list(X, Y), precision = "float64"),
               ref_sum_reduction(function(i, j) X[i, ] * Y[j, ], M, N, 0), TOL64)
  # an inline variable at a new position adds an input
  op <- get_op("Sum_Reduction(x * Vj(1,3) + Pm(2,3), 1)", c("x = Vi(0,3)"))
  expect_identical(nrow(op()$args_info), 3L)
  expect_close(op(list(X, Y, Q), precision = "float64"),
               ref_sum_reduction(function(i, j) X[i, ] * Y[j, ] + Q, M, N, 1), TOL64)
})

test_that("legacy Vx/Vy and 'name = Var(pos,dim,cat)' declarations", {
  ref <- ref_sum_reduction(function(i, j) sum((X[i, ] - Y[j, ])^2) * V[j], M, N, 0)
  op <- get_op("Sum_Reduction(SqDist(a, b) * c, 0)", c("a = Vx(3)", "b = Vy(3)", "c = Vy(1)"))
  expect_identical(op()$args_info$cat, c(0L, 1L, 1L))
  expect_close(op(list(X, Y, V), precision = "float64"), ref, TOL64)
  op <- get_op("Sum_Reduction(SqDist(a, b) * c, 0)",
               c("c = Var(2,1,1)", "a = Var(0,3,0)", "b = Var(1,3,1)"))
  expect_close(op(list(X, Y, V), precision = "float64"), ref, TOL64)
})

test_that("declared but unused inputs must be supplied and are ignored", {
  op <- get_op("Sum_Reduction(x * 2, 0)", c("x = Vi(3)", "y = Vj(3)", "p = Pm(1)"))
  # N comes from y even though y is unused: each row sums N = 9 equal terms
  expect_close(op(list(X, Y, P), precision = "float64"), 2 * N * X, TOL64)
  expect_close(op(list(X, Y[1:2, ], P), precision = "float64"), 4 * X, TOL64)
})

test_that("a plain vector is accepted for a dimension-1 Vi or Vj", {
  op <- get_op("Sum_Reduction(Exp(-u * v) * v, 0)", c("u = Vi(1)", "v = Vj(1)"))
  ref <- ref_sum_reduction(function(i, j) exp(-U[i] * V[j]) * V[j], M, N, 0)
  expect_close(op(list(as.vector(U), as.vector(V)), precision = "float64"), ref, TOL64)
  expect_close(op(list(U, as.vector(V)), precision = "float64"), ref, TOL64)
  # a vector is one point per entry in "row" orientation too: 1 x M result
  expect_close(op(list(as.vector(U), as.vector(V)), inner_dim = "row", precision = "float64"), t(ref), TOL64)
})

test_that("a longer formula mixing everything", {
  body <- "Exp(-p * SqDist(x, y)) * (Inv(1 + (x | y)) * y - 0.5 * Square(u - v) * q) + Pow(u, -1) * v"
  f <- function(i, j) {
    k <- exp(-P * sum((X[i, ] - Y[j, ])^2))
    k * (1 / (1 + sum(X[i, ] * Y[j, ])) * Y[j, ] - 0.5 * (U[i] - V[j])^2 * Q) + V[j] / U[i]
  }
  check_op(body, f, axis = 0, precisions = both)
  check_op(body, f, axis = 1, precisions = both)
})
