# Gradients of reductions (spec 5.4-5.7): closed forms for the Gaussian
# convolution, finite differences for the log-sum-exp family, the worked
# examples E24-E30 and E41, zero gradients of Arg-type reductions,
# keops_grad() as RKeOps documents it, higher orders, Diff, the symbolic
# operators, errors, and the size of the generated code.

# ---- helpers -------------------------------------------------------------------

# Central finite differences of op(input) with respect to every entry of
# input[[v]] (step 1e-6 times the scale of v), contracted with eta: the
# reference for a gradient operator, shaped like its result (rows x dim for a
# Vi/Vj, one row for a parameter).
fd_grad <- function(op, input, v, eta, rel_step = 1e-6) {
  x0 <- input[[v]]
  h <- rel_step * max(abs(x0))
  g <- vapply(seq_along(x0), function(k) {
    up <- input
    dn <- input
    up[[v]][k] <- x0[k] + h
    dn[[v]][k] <- x0[k] - h
    sum(eta * (op(up) - op(dn))) / (2 * h)
  }, numeric(1))
  if (is.matrix(x0)) matrix(g, nrow(x0), ncol(x0)) else matrix(g, nrow = 1)
}

# Central difference of op(input) in the direction u of variable v.
fd_dir <- function(op, input, v, u, rel_step = 1e-6) {
  h <- rel_step * max(abs(input[[v]]))
  up <- input
  dn <- input
  up[[v]] <- input[[v]] + h * u
  dn[[v]] <- input[[v]] - h * u
  (op(up) - op(dn)) / (2 * h)
}

count_fixed <- function(text, pattern) lengths(regmatches(text, gregexpr(pattern, text, fixed = TRUE)))

FD_TOL <- 1e-6

# ---- Gaussian convolution: closed forms ---------------------------------------------

gauss_f <- "Exp(-s * SqNorm2(x - y)) * b"
gauss_args <- list(c("x = Vi(3)", "y = Vj(3)", "b = Vj(2)", "s = Pm(1)"),   # axis 0
                   c("x = Vi(3)", "y = Vj(3)", "b = Vi(2)", "s = Pm(1)"))   # axis 1
GM <- 6
GN <- 7
gx <- rand_mat(GM, 3, 701)
gy <- rand_mat(GN, 3, 702)
gs <- 0.8

# Closed-form gradients of sum_r <eta_r, out_r> for out = sum K b, K_ij =
# exp(-s |x_i - y_j|^2). W_ij = K_ij <b, eta> pairs each kernel entry with
# the weight and the gradient input of its (i, j).
gauss_closed_form <- function(axis, b, eta) {
  d2 <- ref_sqdist(gx, gy)
  k <- exp(-gs * d2)
  a <- if (axis == 0) eta %*% t(b) else b %*% t(eta)   # M x N: <b_., eta_.>
  w <- k * a
  list(x = -2 * gs * (rowSums(w) * gx - w %*% gy),
       y = 2 * gs * (t(w) %*% gx - colSums(w) * gy),
       b = if (axis == 0) t(k) %*% eta else k %*% eta,
       s = matrix(sum(-d2 * w), 1, 1))
}

for (axis in 0:1) {
  test_that(sprintf("Gaussian convolution, axis %d: gradients w.r.t. x, y, b, s in closed form", axis), {
    args <- gauss_args[[axis + 1]]
    nb <- if (axis == 0) GN else GM
    nout <- if (axis == 0) GM else GN
    b <- rand_mat(nb, 2, 703 + axis, -1, 1)
    eta <- rand_mat(nout, 2, 705 + axis, -1, 1)
    ref <- gauss_closed_form(axis, b, eta)
    input <- list(x = gx, y = gy, b = b, s = gs, eta = eta)
    with_precision("float64", {
      op <- get_op(sprintf("Sum_Reduction(%s, %d)", gauss_f, axis), args)
      for (v in c("x", "y", "b", "s")) {
        g <- get_grad(op, v)
        expect_close(g(input), ref[[v]], 1e-10)
      }
    })
    with_precision("float32", {
      for (v in c("x", "y", "b", "s")) {
        g <- get_grad(get_op(sprintf("Sum_Reduction(%s, %d)", gauss_f, axis), args), v)
        expect_close(g(input), ref[[v]], 1e-4)
      }
    })
  })
}

test_that("Gaussian convolution gradients on larger inputs (several blocks, threads)", {
  M <- 1500
  N <- 2500
  x <- rand_mat(M, 3, 711)
  y <- rand_mat(N, 3, 712)
  b <- rand_mat(N, 2, 713, -1, 1)
  eta <- rand_mat(M, 2, 714, -1, 1)
  d2 <- ref_sqdist(x, y)
  w <- exp(-gs * d2) * (eta %*% t(b))
  ref <- list(x = -2 * gs * (rowSums(w) * x - w %*% y), y = 2 * gs * (t(w) %*% x - colSums(w) * y),
              b = t(exp(-gs * d2)) %*% eta, s = matrix(sum(-d2 * w), 1, 1))
  for (precision in c("float64", "float32")) {
    with_precision(precision, {
      op <- get_op(sprintf("Sum_Reduction(%s, 0)", gauss_f), gauss_args[[1]])
      for (v in c("x", "y", "b", "s")) {
        got <- get_grad(op, v)(list(x, y, b, gs, eta))
        expect_close(got, ref[[v]], if (precision == "float64") 1e-10 else 1e-4)
      }
    })
  }
})

test_that("gradients over an empty range are zeros", {
  with_precision("float64", {
    op <- get_op(sprintf("Sum_Reduction(%s, 0)", gauss_f), gauss_args[[1]])
    y0 <- gy[0, , drop = FALSE]
    b0 <- matrix(0, 0, 2)
    eta <- rand_mat(GM, 2, 715)
    expect_identical(get_grad(op, "x")(list(gx, y0, b0, gs, eta)), matrix(0, GM, 3))
    expect_identical(dim(get_grad(op, "y")(list(gx, y0, b0, gs, eta))), c(0L, 3L))
    expect_identical(get_grad(op, "s")(list(gx, y0, b0, gs, eta)), matrix(0, 1, 1))
  })
})

test_that("the gradient input can be any matrix with the output's rows and columns (linearity in eta)", {
  with_precision("float64", {
    op <- get_op(sprintf("Sum_Reduction(%s, 0)", gauss_f), gauss_args[[1]])
    g <- get_grad(op, "x")
    b <- rand_mat(GN, 2, 703, -1, 1)
    e1 <- rand_mat(GM, 2, 707, -1, 1)
    e2 <- rand_mat(GM, 2, 708, -1, 1)
    run <- function(e) g(list(gx, gy, b, gs, e))
    expect_close(run(2 * e1 - e2), 2 * run(e1) - run(e2), 1e-12)
    expect_identical(run(0 * e1), matrix(0, GM, 3))
  })
})

# ---- the log-sum-exp family against finite differences ---------------------------

lse_args <- c("x = Vi(2)", "y = Vj(2)", "s = Pm(1)")
lse_input <- list(x = rand_mat(5, 2, 711, -1, 1), y = rand_mat(6, 2, 712, -1, 1), s = 1.3)

check_fd_all_vars <- function(formula, vars = c("x", "y", "s"), seed = 1) {
  with_precision("float64", {
    op <- get_op(formula, lse_args)
    out <- op(lse_input)
    expect_true(all(is.finite(out)))
    set.seed(seed)
    eta <- matrix(stats::rnorm(length(out)), nrow(out))
    for (v in vars) {
      got <- get_grad(op, v)(c(lse_input, list(eta = eta)))
      ref <- fd_grad(op, lse_input, v, eta)
      expect_close(got, ref, FD_TOL)
    }
  })
}

test_that("LogSumExp_Reduction: gradients w.r.t. a Vi, a Vj and a Pm (both axes)", {
  check_fd_all_vars("LogSumExp_Reduction(s * (x | y) - SqDist(x, y), 0)", seed = 21)
  check_fd_all_vars("LogSumExp_Reduction(s * (x | y) - SqDist(x, y), 1)", seed = 22)
})

test_that("LogSumExpWeight_Reduction: gradients through F and through the weights", {
  check_fd_all_vars("LogSumExpWeight_Reduction(s * (x | y), Exp(x - y) + s, 0)", seed = 23)
  check_fd_all_vars("LogSumExpWeight_Reduction(Sum(x * y), Exp(s * y), 1)", seed = 24)
})

test_that("SumSoftMaxWeight_Reduction: gradients through F and through the weights", {
  check_fd_all_vars("SumSoftMaxWeight_Reduction(s * (x | y) - SqDist(x, y), x * y + s, 0)", seed = 25)
  check_fd_all_vars("SumSoftMaxWeight_Reduction(s * Sum(x - y), Concat(y, s * x), 1)", seed = 26)
})

test_that("log-sum-exp gradients (which run the forward reduction first) accept inner_dim = 'row', named inputs, float32", {
  for (formula in c("LogSumExp_Reduction(s * (x | y) - SqDist(x, y), 0)",
                    "SumSoftMaxWeight_Reduction(s * (x | y) - SqDist(x, y), x * y + s, 0)")) {
    op <- with_precision("float64", get_op(formula, lse_args))
    out <- op(lse_input, precision = "float64")
    eta <- rand_mat(nrow(out), ncol(out), 31, -1, 1)
    x <- lse_input$x
    y <- lse_input$y
    s <- lse_input$s
    for (v in c("x", "y", "s")) {
      g <- with_precision("float64", get_grad(op, v))
      ref <- g(list(x, y, s, eta), precision = "float64")
      with_precision("float64", {
        expect_close(g(list(t(x), t(y), s, t(eta)), inner_dim = "row"), t(ref), 1e-12)
        expect_close(g(list(eta = eta, s = s, y = y, x = x)), ref, 1e-12)
      })
      expect_close(g(list(x, y, s, eta), precision = "float32"), ref, 1e-4)
    }
  }
})

# ---- worked examples E24-E30 ----------------------------------------------------------

e_x <- matrix(c(1, 2, 3, 4, 5, 6, 7, 8, 9), 3, byrow = TRUE)
e_y <- matrix(c(3, 4, 5, 6, 7, 8), 2, byrow = TRUE)

test_that("E24, E25: gradient of a Sum reduction w.r.t. a Vi (M rows) and a Vj (N rows)", {
  with_precision("float64", {
    args <- c("x = Vi(0,3)", "y = Vj(1,3)", "e = Vi(2,1)")
    e <- matrix(c(1, 2, 3), 3)
    op24 <- get_op("Grad(Sum_Reduction(SqNorm2(x - y), 0), x, e)", args)
    expect_identical(op24(list(e_x, e_y, e)), matrix(c(-14, -4, 30), 3, 3))
    op25 <- get_op("Grad(Sum_Reduction(SqNorm2(x - y), 0), y, e)", args)
    expect_identical(op25(list(e_x, e_y, e)), matrix(c(-24, 12), 2, 3))
    # the same written with GradFromPos / GradFromInd: the gradient input is
    # created at position 2, with the output's dimension and category
    pos_args <- c("x = Vi(0,3)", "y = Vj(1,3)")
    expect_identical(get_op("GradFromPos(Sum_Reduction(SqNorm2(x - y), 0), x, 2)", pos_args)(list(e_x, e_y, e)),
                     matrix(c(-14, -4, 30), 3, 3))
    expect_identical(get_op("GradFromInd(Sum_Reduction(SqNorm2(x - y), 0), 1, 2)", pos_args)(list(e_x, e_y, e)),
                     matrix(c(-24, 12), 2, 3))
  })
})

test_that("E26: gradient w.r.t. a parameter: one row, the sum of the per-row partials", {
  with_precision("float64", {
    args <- c("x = Vi(0,3)", "y = Vj(1,3)", "p = Pm(2,1)", "e = Vi(3,1)")
    input <- list(e_x, e_y, 0.5, matrix(1, 3, 1))
    rows <- c(-0.02974502612, -0.6991355066, -0.6693904823)
    op <- get_op("Grad(Sum_Reduction(Exp(-p * SqNorm2(x - y)), 0), p, e)", args)
    expect_close(op(input), matrix(sum(rows), 1, 1), 1e-9)
    expect_close(op(input), matrix(-1.398271, 1, 1), 1e-6)
    # the per-row partial gradients: Grad inside the reduction
    inner <- get_op("Sum_Reduction(Grad(Exp(-p * SqNorm2(x - y)), p, e), 0)", args)
    expect_close(inner(input), matrix(rows, 3, 1), 1e-9)
  })
})

test_that("E27: gradient input of dimension > 1", {
  with_precision("float64", {
    op <- get_op("Grad(Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0), x, e)",
                 c("x = Vi(0,2)", "y = Vj(1,2)", "b = Vj(2,2)", "s = Pm(3,1)", "e = Vi(4,2)"))
    x <- matrix(c(0, 0, 1, 1), 2, byrow = TRUE)
    y <- matrix(c(0, 1, 2, 0, 1, 1), 3, byrow = TRUE)
    b <- matrix(c(1, 0, 0, 1, 2, 2), 3, byrow = TRUE)
    e <- matrix(c(1, 0, 0, 2), 2, byrow = TRUE)
    expect_close(op(list(x, y, b, 0.5, e)),
                 matrix(c(0.7357588823, 1.342289542, 0.7357588823, -0.7357588823), 2, byrow = TRUE), 1e-9)
  })
})

# E19-E23 data
l_x <- matrix(c(0, 1, 2), 3)
l_y <- matrix(c(1, 0, 1, 3), 4)
l_w <- matrix(c(1, 2, 3, 4, 5, 6, 7, 8), 4, byrow = TRUE)
lse_grad_ref <- matrix(c(1.25, 2.476922001, 2.92233853), 3)

test_that("E28: LogSumExp gradient through Grad_WithSavedForward of Max_SumShiftExp", {
  with_precision("float64", {
    op <- get_op("Grad_WithSavedForward(Max_SumShiftExp_Reduction(x * y, 0), x, g, r)",
                 c("x = Vi(0,1)", "y = Vj(1,1)", "g = Var(2,2,0)", "r = Var(3,2,0)"))
    g <- matrix(c(1, 0.25, 1, 0.7573132023, 1, 0.9623619936), 3, byrow = TRUE)
    r <- matrix(c(0, 4, 3, 1.320457635, 6, 1.03911003), 3, byrow = TRUE)
    expect_close(op(list(l_x, l_y, g, r)), lse_grad_ref, 1e-9)
    # with the saved forward computed by the engine itself (E19)
    fwd <- get_op("Max_SumShiftExp_Reduction(x * y, 0)", c("x = Vi(0,1)", "y = Vj(1,1)"))
    r <- fwd(list(l_x, l_y))
    expect_close(r, matrix(c(0, 3, 6, 4, 1.320457635, 1.03911003), 3), 1e-9)
    expect_close(op(list(l_x, l_y, cbind(1, 1 / r[, 2]), r)), lse_grad_ref, 1e-9)
  })
})

test_that("E29: LogSumExp gradient in closed form, and keops_grad of LogSumExp_Reduction", {
  with_precision("float64", {
    op <- get_op("Sum_Reduction(Grad(x * y, x, g * Exp(x * y - L)), 0)",
                 c("x = Vi(0,1)", "y = Vj(1,1)", "g = Vi(2,1)", "L = Vi(3,1)"))
    L <- matrix(c(1.386294361, 3.27797837, 6.038364606), 3)
    expect_close(op(list(l_x, l_y, matrix(1, 3, 1), L)), lse_grad_ref, 1e-9)
    lse <- get_op("LogSumExp_Reduction(x * y, 0)", c("x = Vi(0,1)", "y = Vj(1,1)"))
    expect_close(lse(list(l_x, l_y)), L, 1e-9)
    expect_close(get_grad(lse, "x")(list(l_x, l_y, matrix(1, 3, 1))), lse_grad_ref, 1e-9)
    # the direct formula around the reduction
    direct <- get_op("Grad(LogSumExp_Reduction(x * y, 0), x, g)", c("x = Vi(0,1)", "y = Vj(1,1)", "g = Vi(2,1)"))
    expect_close(direct(list(l_x, l_y, matrix(1, 3, 1))), lse_grad_ref, 1e-9)
  })
})

test_that("E30: SumSoftMaxWeight gradient in closed form, and keops_grad of SumSoftMaxWeight_Reduction", {
  with_precision("float64", {
    op <- get_op("Sum_Reduction(Grad(x * y, x, Exp(x * y - L) * ((e | w) - (e | S))), 0)",
                 c("x = Vi(0,1)", "y = Vj(1,1)", "w = Vj(2,2)", "e = Vi(3,2)", "L = Vi(4,1)", "S = Vi(5,2)"))
    e <- matrix(c(1, 0, 0, 1, 1, 1), 3, byrow = TRUE)
    L <- matrix(c(1.386294361, 3.27797837, 6.038364606), 3)
    S <- matrix(c(4, 5, 6.029252809, 7.029252809, 6.849447974, 7.849447974), 3, byrow = TRUE)
    ref <- matrix(c(1.75, 1.584535499, 0.5979075743), 3)
    # L and S are given to 10 digits, and (e|w) - (e|S) cancels a little
    expect_close(op(list(l_x, l_y, l_w, e, L, S)), ref, 1e-8)
    ssm <- get_op("SumSoftMaxWeight_Reduction(x * y, w, 0)", c("x = Vi(0,1)", "y = Vj(1,1)", "w = Vj(2,2)"))
    expect_close(ssm(list(l_x, l_y, l_w)), S, 1e-9)
    expect_close(get_grad(ssm, "x")(list(l_x, l_y, l_w, e)), ref, 1e-9)
  })
})

test_that("Grad_WithSavedForward of Max_SumShiftExpWeight gives the LogSumExpWeight gradient", {
  with_precision("float64", {
    args <- c("x = Vi(0,1)", "y = Vj(1,1)", "w = Vj(2,2)")
    fwd <- get_op("Max_SumShiftExpWeight_Reduction(x * y, 0, w)", args)
    r <- fwd(list(l_x, l_y, l_w))          # [m, s_0, s_1]
    eta <- matrix(c(1, 0.5, -1, 2, 0.25, 1), 3, byrow = TRUE)
    # cotangent of [m, s] for L_c = m + log(s_c): [sum_c eta_c, eta_c / s_c]
    e <- cbind(rowSums(eta), eta / r[, 2:3])
    op <- get_op("Grad_WithSavedForward(Max_SumShiftExpWeight_Reduction(x * y, 0, w), x, e, r)",
                 c(args, "e = Vi(3,3)", "r = Vi(4,3)"))
    lsew <- get_op("LogSumExpWeight_Reduction(x * y, w, 0)", args)
    ref <- fd_grad(lsew, list(l_x, l_y, l_w), 1, eta)
    expect_close(op(list(l_x, l_y, l_w, e, r)), ref, FD_TOL)
    expect_close(get_grad(lsew, "x")(list(l_x, l_y, l_w, eta)), ref, FD_TOL)
  })
})

test_that("the gradient input around a reduction may be a parameter or a formula; unused variables give zeros", {
  with_precision("float64", {
    x <- rand_mat(5, 2, 781)
    y <- rand_mat(4, 2, 782)
    base <- 2 * (nrow(y) * x - matrix(colSums(y), 5, 2, byrow = TRUE))   # eta = 1
    args <- c("x = Vi(0,2)", "y = Vj(1,2)", "p = Pm(2,1)", "e = Vi(3,1)", "z = Vj(4,3)")
    z <- rand_mat(4, 3, 783)
    e <- rand_mat(5, 1, 784)
    input <- list(x, y, 1.5, e, z)
    expect_close(get_op("Grad(Sum_Reduction(SqNorm2(x - y), 0), x, p)", args)(input), 1.5 * base, 1e-12)
    expect_close(get_op("Grad(Sum_Reduction(SqNorm2(x - y), 0), x, p * e + 1)", args)(input),
                 drop(1.5 * e + 1) * base, 1e-12)
    # z is declared but does not occur: zeros, one row per j
    expect_identical(get_op("Grad(Sum_Reduction(SqNorm2(x - y), 0), z, e)", args)(input), matrix(0, 4, 3))
    # GradFromPos on an axis-1 reduction: the created input is a Vj (N rows)
    g1 <- get_op("GradFromPos(Sum_Reduction(SqNorm2(x - y), 1), x, 2)", c("x = Vi(0,2)", "y = Vj(1,2)"))
    ey <- rand_mat(4, 1, 785)
    expect_close(g1(list(x, y, ey)),
                 2 * (sum(ey) * x - matrix(colSums(drop(ey) * y), 5, 2, byrow = TRUE)), 1e-12)
  })
})

test_that("keops_grad of an operator with an inline variable, by name and by position", {
  with_precision("float64", {
    op <- get_op("Sum_Reduction(Var(2,1,2) * SqNorm2(x - y), 0)", c("x = Vi(0,2)", "y = Vj(1,2)"))
    x <- rand_mat(5, 2, 791)
    y <- rand_mat(4, 2, 792)
    eta <- rand_mat(5, 1, 793)
    input <- list(x, y, 0.75, eta)
    g <- get_grad(op, 0)
    expect_identical(g()$args_info$pos, 0:3)
    expect_close(g(input), 0.75 * drop(eta) * 2 * (nrow(y) * x - matrix(colSums(y), 5, 2, byrow = TRUE)), 1e-12)
    # the inline parameter, by position: one row, sum_ij eta_i |x_i - y_j|^2
    expect_close(get_grad(op, 2)(input), matrix(sum(drop(eta) * ref_sqdist(x, y)), 1, 1), 1e-12)
  })
})

# ---- reductions with zero gradients, and the non-differentiable ones ---------------

test_that("Arg-type reductions and Zero_Reduction have zero gradients, shaped like the variable", {
  args <- c("x = Vi(2)", "y = Vj(2)", "s = Pm(1)")
  x <- rand_mat(5, 2, 721)
  y <- rand_mat(4, 2, 722)
  with_precision("float64", {
    for (red in c("ArgMin_Reduction(s * SqDist(x, y), 0)", "ArgMax_Reduction(s * x * y, 1)",
                  "ArgKMin_Reduction(s * SqDist(x, y), 3, 0)", "Zero_Reduction(3, 1)")) {
      op <- get_op(red, args)
      out <- op(list(x, y, 0.5))
      eta <- matrix(1, nrow(out), ncol(out))
      input <- list(x, y, 0.5, eta)
      expect_identical(get_grad(op, "x")(input), matrix(0, 5, 2), label = paste(red, "d/dx"))
      expect_identical(get_grad(op, "y")(input), matrix(0, 4, 2), label = paste(red, "d/dy"))
      expect_identical(get_grad(op, "s")(input), matrix(0, 1, 1), label = paste(red, "d/ds"))
    }
  })
})

test_that("Min/Max/KMin-type reductions cannot be differentiated: a formula error", {
  args <- c("x = Vi(2)", "y = Vj(2)")
  for (red in c("Min_Reduction", "Max_Reduction", "Min_ArgMin_Reduction", "Max_ArgMax_Reduction")) {
    op <- get_op(sprintf("%s(SqDist(x, y), 0)", red), args)
    expect_error(keops_grad(op, "x"), class = "rkeops_formula_error",
                 regexp = paste0(red, "' cannot be differentiated"))
  }
  for (red in c("KMin_Reduction", "KMin_ArgKMin_Reduction")) {
    op <- get_op(sprintf("%s(SqDist(x, y), 2, 0)", red), args)
    expect_error(keops_grad(op, "y"), class = "rkeops_formula_error",
                 regexp = paste0(red, "' cannot be differentiated"))
  }
  expect_error(keops_kernel("Grad(Min_Reduction(SqDist(x, y), 0), x, e)", c(args, "e = Vi(1)")),
               class = "rkeops_formula_error", regexp = "cannot be differentiated")
  expect_error(keops_kernel("Diff(Min_Reduction(SqDist(x, y), 0), x, u)", c(args, "u = Vi(2)")),
               class = "rkeops_formula_error")
})

# ---- keops_grad as in RKeOps ------------------------------------------------------------

test_that("RKeOps example: keops_grad(op, 'x'), keops_grad(op, 0) and the direct Grad formula", {
  op <- get_op("Sum_Reduction(SqNorm2(x-y), 0)", c("x = Vi(2)", "y = Vj(2)"))
  x <- rand_mat(5, 2, 731)
  y <- rand_mat(4, 2, 732)
  eta <- rand_mat(5, 1, 733)
  # d/dx_i sum_j eta_i |x_i - y_j|^2 = 2 eta_i sum_j (x_i - y_j)
  ref <- 2 * drop(eta) * (nrow(y) * x - matrix(colSums(y), 5, 2, byrow = TRUE))
  gx <- keops_grad(op, var = "x")
  g0 <- keops_grad(op, var = 0)
  direct <- get_op("Grad(Sum_Reduction(SqNorm2(x-y), 0), x, eta)",
                   c("x = Vi(0,2)", "y = Vj(1,2)", "eta = Vi(2,1)"))
  expect_identical(gx()$args_info$name, c("x", "y", "eta"))
  for (g in list(gx, g0, direct)) {
    expect_close(g(list(x, y, eta)), ref, TOL32)
    # points as columns: inputs transposed, and so is the result
    expect_close(g(list(t(x), t(y), t(eta)), inner_dim = "row"), t(ref), TOL32)
    # a named input list, in any order, naming the gradient input eta
    expect_close(g(list(eta = eta, y = y, x = x)), ref, TOL32)
  }
  with_precision("float64", {
    # gradient operators keep the precision of the operator they come from
    op64 <- get_op("Sum_Reduction(SqNorm2(x-y), 0)", c("x = Vi(2)", "y = Vj(2)"))
    expect_close(get_grad(op64, "x")(list(x, y, eta)), ref, 1e-12)
    expect_close(get_grad(op64, 0)(list(t(x), t(y), t(eta)), inner_dim = "row"), t(ref), 1e-12)
  })
  # w.r.t. y (name or position 1): N rows, sum_i -2 eta_i (x_i - y_j)
  ref_y <- -2 * (matrix(colSums(drop(eta) * x), 4, 2, byrow = TRUE) - sum(eta) * y)
  expect_close(keops_grad(op, "y")(list(x, y, eta)), ref_y, TOL32)
  expect_close(keops_grad(op, 1)(list(x, y, eta)), ref_y, TOL32)
})

test_that("keops_grad names its gradient input eta, or eta1, ... when eta is taken", {
  op <- get_op("Sum_Reduction(eta * SqNorm2(x - y), 1)", c("x = Vi(2)", "y = Vj(2)", "eta = Pm(1)"))
  g <- keops_grad(op, "x")
  info <- g()$args_info
  expect_identical(info$name, c("x", "y", "eta", "eta1"))
  expect_identical(info$cat[4], 1L)   # like the output: axis 1, one row per j
  x <- rand_mat(3, 2, 734)
  y <- rand_mat(4, 2, 735)
  e1 <- rand_mat(4, 1, 736)
  # d/dx_i sum_j e1_j eta |x_i - y_j|^2 = 2 eta sum_j e1_j (x_i - y_j)
  ref <- 2 * 0.5 * (sum(e1) * x - matrix(colSums(drop(e1) * y), 3, 2, byrow = TRUE))
  expect_close(g(list(eta1 = e1, x = x, eta = 0.5, y = y)), ref, TOL32)
})

test_that("keops_grad keeps the operator's sum scheme", {
  x <- rand_mat(5, 2, 737)
  y <- rand_mat(4, 2, 738)
  op <- keops_kernel("Sum_Reduction(SqNorm2(x-y), 0)", c("x = Vi(2)", "y = Vj(2)"), sum_scheme = "kahan_scheme")
  g <- keops_grad(op, "x")
  expect_identical(g()$sum_scheme, "kahan_scheme")
  expect_close(g(list(x, y, matrix(1, 5, 1))), 2 * (4 * x - matrix(colSums(y), 5, 2, byrow = TRUE)), TOL32)
  lse <- keops_kernel("LogSumExp_Reduction(-SqDist(x, y), 1)", c("x = Vi(2)", "y = Vj(2)"), sum_scheme = "direct_sum")
  expect_identical(keops_grad(lse, "y")()$sum_scheme, "direct_sum")
})

test_that("keops_grad rejects unknown variables and non-operators", {
  op <- get_op("Sum_Reduction(SqNorm2(x-y), 0)", c("x = Vi(2)", "y = Vj(2)"))
  expect_error(keops_grad(op, "z"), class = "rkeops_argument_error", regexp = "'z'")
  expect_error(keops_grad(op, 2), class = "rkeops_argument_error")
  expect_error(keops_grad(op, c("x", "y")), class = "rkeops_argument_error")
  expect_error(keops_grad(function(x) x, "x"), class = "rkeops_argument_error")
})

# ---- higher orders ---------------------------------------------------------------------

test_that("second derivatives: keops_grad(keops_grad(op, 'x'), v) and Grad(Grad(...)) against finite differences", {
  with_precision("float64", {
    op <- get_op(sprintf("Sum_Reduction(%s, 0)", gauss_f), gauss_args[[1]])
    gx1 <- get_grad(op, "x")
    b <- rand_mat(GN, 2, 741, -1, 1)
    eta <- rand_mat(GM, 2, 742, -1, 1)
    f <- rand_mat(GM, 3, 743, -1, 1)      # gradient input of the second derivative: like gx1's output
    input <- list(x = gx, y = gy, b = b, s = gs, eta = eta)
    for (v in c("x", "y", "b", "s")) {
      h <- get_grad(gx1, v)
      expect_identical(h()$args_info$name, c("x", "y", "b", "s", "eta", "eta1"))
      got <- h(c(input, list(eta1 = f)))
      expect_close(got, fd_grad(gx1, input, v, f), FD_TOL)
    }
    # the same Hessian-vector product written in the formula
    direct <- get_op(sprintf("Grad(Grad(Sum_Reduction(%s, 0), x, e), y, f)", gauss_f),
                     c("x = Vi(3)", "y = Vj(3)", "b = Vj(2)", "s = Pm(1)", "e = Vi(2)", "f = Vi(3)"))
    got <- direct(list(gx, gy, b, gs, eta, f))
    expect_close(got, get_grad(gx1, "y")(c(input, list(eta1 = f))), 1e-12)
    expect_close(got, fd_grad(gx1, input, "y", f), FD_TOL)
    # nested Grad inside the reduction: the (i, j) Hessian blocks summed over j
    inner <- get_op(sprintf("Sum_Reduction(Grad(Grad(%s, x, e), x, f), 0)", gauss_f),
                    c("x = Vi(3)", "y = Vj(3)", "b = Vj(2)", "s = Pm(1)", "e = Vi(2)", "f = Vi(3)"))
    expect_close(inner(list(gx, gy, b, gs, eta, f)), get_grad(gx1, "x")(c(input, list(eta1 = f))), 1e-12)
    # forward over reverse: Diff of the gradient in a direction u of y
    u <- rand_mat(GN, 3, 744, -1, 1)
    fr <- get_op(sprintf("Diff(Grad(Sum_Reduction(%s, 0), x, e), y, u)", gauss_f),
                 c("x = Vi(3)", "y = Vj(3)", "b = Vj(2)", "s = Pm(1)", "e = Vi(2)", "u = Vj(3)"))
    expect_close(fr(list(gx, gy, b, gs, eta, u)), fd_dir(gx1, input, "y", u), FD_TOL)
  })
})

# ---- Diff (forward mode) -----------------------------------------------------------------

test_that("Diff of a Sum reduction is the directional derivative, for a Vi, a Vj and a Pm", {
  with_precision("float64", {
    args <- c("x = Vi(3)", "y = Vj(3)", "b = Vj(2)", "s = Pm(1)")
    fwd <- get_op(sprintf("Sum_Reduction(%s, 0)", gauss_f), args)
    b <- rand_mat(GN, 2, 751, -1, 1)
    input <- list(x = gx, y = gy, b = b, s = gs)
    dirs <- list(x = rand_mat(GM, 3, 752, -1, 1), y = rand_mat(GN, 3, 753, -1, 1),
                 b = rand_mat(GN, 2, 754, -1, 1), s = 0.7)
    cats <- c(x = "Vi", y = "Vj", b = "Vj", s = "Pm")
    for (v in names(dirs)) {
      u_decl <- sprintf("u = %s(%d)", cats[[v]], NCOL(dirs[[v]]))
      around <- get_op(sprintf("Diff(Sum_Reduction(%s, 0), %s, u)", gauss_f, v), c(args, u_decl))
      inside <- get_op(sprintf("Sum_Reduction(Diff(%s, %s, u), 0)", gauss_f, v), c(args, u_decl))
      got <- around(c(input, list(u = dirs[[v]])))
      expect_identical(dim(got), c(as.integer(GM), 2L))    # Diff keeps the reduction's rows
      expect_close(got, fd_dir(fwd, input, v, dirs[[v]]), FD_TOL)
      expect_close(inside(c(input, list(u = dirs[[v]]))), got, 1e-12)
    }
    # Diff is only defined for Sum reductions
    expect_error(keops_kernel("Diff(LogSumExp_Reduction(SqDist(x, y), 0), x, u)", c(args, "u = Vi(3)")),
                 class = "rkeops_formula_error")
  })
})

# ---- GradMatrix, Divergence, Laplacian -------------------------------------------------

test_that("E41: GradMatrix, Diff, Divergence and Laplacian inside a formula", {
  with_precision("float64", {
    op <- get_op(paste0("Sum_Reduction(Concat(Concat(GradMatrix(TensorProd(c, c), c), Diff(SqNorm2(c), c, ",
                        "Extract(b,0,2))), Concat(Divergence(c * Sum(c), c), Laplacian(Exp(SqNorm2(c)), c))), 0)"),
                 c("a = Vi(0,6)", "b = Vj(1,3)", "c = Vj(2,2)"))
    res <- op(list(matrix(1:6, 1), matrix(c(1, 10, 100), 1), matrix(c(0.5, -1), 1)))
    expect_close(res, matrix(c(1, 0, -1, 0.5, -1, 0.5, 0, -2, -19, -1.5, 31.41308662), 1), 1e-9)
  })
})

test_that("GradMatrix, Divergence and Laplacian against analytic values on random points", {
  with_precision("float64", {
    x <- rand_mat(4, 3, 761, -1, 1)
    y <- rand_mat(5, 3, 762, -1, 1)
    op <- get_op(paste0("Sum_Reduction(Concat(GradMatrix(x * SqDist(x, y), x), Concat(Divergence(x * SqDist(x, y), x), ",
                        "Concat(Laplacian(Exp(-SqDist(x, y)), x), Concat(Laplacian(Exp(-SqDist(x, y)), y), ",
                        "Laplacian(Square(Elem(x, 0)) * Elem(x, 1), x))))), 0)"),
                 c("x = Vi(3)", "y = Vj(3)"))
    ref <- ref_sum_reduction(function(i, j) {
      xi <- x[i, ]
      d <- xi - y[j, ]
      r2 <- sum(d^2)
      jac <- diag(r2, 3) + 2 * outer(xi, d)       # d(x_k r2) / d x_l, row k
      c(as.vector(t(jac)),                        # GradMatrix: row-major blocks
        3 * r2 + 2 * sum(xi * d),                 # Divergence
        exp(-r2) * (4 * r2 - 6),                  # Laplacian in x
        exp(-r2) * (4 * r2 - 6),                  # Laplacian in y
        2 * xi[2])                                # Laplacian of x0^2 x1
    }, 4, 5)
    expect_close(op(list(x, y)), ref, 1e-12)
  })
})

# ---- errors ---------------------------------------------------------------------------

test_that("Grad errors: non-variable, gradient input of the wrong dimension or category, Max_SumShiftExp", {
  args <- c("x = Vi(0,2)", "y = Vj(1,2)")
  err <- function(formula, extra, regexp = NULL) {
    expect_error(keops_kernel(formula, c(args, extra)), class = "rkeops_formula_error", regexp = regexp)
  }
  # the second argument must be a variable
  err("Grad(Sum_Reduction(SqNorm2(x-y), 0), x + y, e)", "e = Vi(2,1)", "not a variable")
  err("Sum_Reduction(Grad(SqNorm2(x-y), 2*x, e), 0)", "e = Vi(2,1)", "not a variable")
  err("Grad(Sum_Reduction(SqNorm2(x-y), 0), Exp(x), e)", "e = Vi(2,1)", "not a variable")
  # around a reduction: e has the output's dimension...
  err("Grad(Sum_Reduction(SqNorm2(x-y), 0), x, e)", "e = Vi(2,2)", "dimension")
  err("Grad(Sum_Reduction(x - y, 0), x, e)", "e = Vi(2,1)", "dimension")
  # ... and its indexing (a Vj input for an axis-0 reduction, a Vi for axis 1)
  err("Grad(Sum_Reduction(SqNorm2(x-y), 0), x, e)", "e = Vj(2,1)", "indexed like the output")
  err("Grad(Sum_Reduction(SqNorm2(x-y), 1), y, e)", "e = Vi(2,1)", "indexed like the output")
  # inside a formula: dim F or 1
  err("Sum_Reduction(Grad(x - y, x, e), 0)", "e = Vi(2,3)", "dimension")
  # Max_SumShiftExp(Weight) only through Grad_WithSavedForward
  err("Grad(Max_SumShiftExp_Reduction(Sum(x * y), 0), x, e)", "e = Vi(2,2)", "Grad_WithSavedForward")
  err("Grad(Max_SumShiftExpWeight_Reduction(Sum(x * y), 0, y), x, e)", "e = Vi(2,3)", "Grad_WithSavedForward")
  msse <- get_op("Max_SumShiftExp_Reduction(Sum(x * y), 0)", args)
  expect_error(keops_grad(msse, "x"), class = "rkeops_formula_error", regexp = "Grad_WithSavedForward")
  # a dimension-1 gradient input inside a formula is broadcast (spec 5.3)
  with_precision("float64", {
    op <- get_op("Sum_Reduction(Grad(x * y, x, e), 0)", c(args, "e = Vi(2,1)"))
    x <- rand_mat(3, 2, 771)
    y <- rand_mat(4, 2, 772)
    e <- rand_mat(3, 1, 773)
    expect_close(op(list(x, y, e)), drop(e) * matrix(colSums(y), 3, 2, byrow = TRUE), 1e-12)
  })
})

# ---- size of the generated code ----------------------------------------------------------

test_that("gradients of the Gaussian convolution evaluate the exponential once", {
  op <- get_op(sprintf("Sum_Reduction(%s, 0)", gauss_f), gauss_args[[1]])
  src <- get_grad(op, "x")()$source()
  expect_identical(count_fixed(src, "rk::exp("), 1L)
  for (v in c("y", "b", "s")) {
    expect_identical(count_fixed(get_grad(op, v)()$source(), "rk::exp("), 1L, label = paste("d/d", v))
  }
  # a Hessian-vector product still needs a single exponential
  expect_identical(count_fixed(get_grad(get_grad(op, "x"), "y")()$source(), "rk::exp("), 1L)
})
