# Every reduction of the specification (section 4), both axes, both
# precisions, against brute-force R: the worked examples E8-E23 and E43
# exactly, ties (smallest index wins), NaN terms, empty ranges (spec 4.5),
# K > N, tile-crossing sizes, and the three summation schemes (E46).
#
# Operators are compiled once per (formula, args, sum_scheme) and reused.

# ---- local helpers ------------------------------------------------------------

.red_ops <- new.env(parent = emptyenv())
red_op <- function(formula, args, sum_scheme = "block_sum") {
  key <- paste(formula, paste(args, collapse = ";"), sum_scheme, sep = "|")
  op <- .red_ops[[key]]
  if (is.null(op)) {
    op <- keops_kernel(formula, args, sum_scheme = sum_scheme)
    assign(key, op, envir = .red_ops)
  }
  op
}

red_err <- function(expr) tryCatch({
  force(expr)
  NULL
}, error = function(e) e)

red_rel_err <- function(x, ref) max(abs(x - ref)) / max(1, max(abs(ref)))

# An operator keeps the precision it was made with: the call asks for this one.
red_run <- function(precision, op, input) op(input, precision = precision)

# Rounds doubles to the nearest float32 (what the float32 operators read).
as_f32 <- function(v) {
  r <- readBin(writeBin(as.vector(v), raw(), size = 4), "double", n = length(v), size = 4)
  if (is.matrix(v)) dim(r) <- dim(v)
  r
}

int_mat <- function(n, d, seed, lo = 0, hi = 9) {
  set.seed(seed)
  matrix(as.double(sample(lo:hi, n * d, replace = TRUE)), n, d)
}

unif_mat <- function(n, d, seed, lo = -1, hi = 1) {
  set.seed(seed)
  matrix(stats::runif(n * d, lo, hi), n, d)
}

PRECISIONS <- c("float64", "float32")
ARGS1 <- c("x = Vi(0,1)", "y = Vj(1,1)")
ARGSW <- c("x = Vi(0,1)", "y = Vj(1,1)", "w = Vj(2,2)")
ARGSWi <- c("x = Vi(0,1)", "y = Vj(1,1)", "w = Vi(2,2)")  # weights on the reduced side of axis 1
# Spec section 7 data.
EX <- list(x = matrix(c(0, 1, 2)), y = matrix(c(1, 0, 1, 3)),
           w = matrix(c(1, 2, 3, 4, 5, 6, 7, 8), 4, byrow = TRUE))

# Components of F as matrices with one row per output point and one column
# per reduced point: F(x_i, y_j) for axis 0, transposed for axis 1.
fcomps <- function(kind, x, y, axis) {
  x <- as.vector(x)
  y <- as.vector(y)
  A <- switch(kind,
    abs = list(abs(outer(x, y, "-"))),
    cat = list(outer(x, y, "-"), outer(x, y, function(a, b) b - a)),
    xy = list(outer(x, y, "*")))
  if (axis == 1) A <- lapply(A, t)
  A
}
FORMULAS <- c(abs = "Abs(x - y)", cat = "Concat(x - y, y - x)", xy = "x * y")

# Best (value, 0-based index) of a vector under the rules of spec 4.2.
best_of <- function(v, is_max) {
  init <- if (is_max) -Inf else Inf
  ok <- !is.na(v)
  if (!any(ok)) return(c(init, 0))
  b <- if (is_max) max(v[ok]) else min(v[ok])
  if (b == init) return(c(init, 0))
  c(b, which(ok & v == b)[1] - 1)
}

# The K smallest (values, indices), stable, +Inf and NaN never inserted.
kbest_of <- function(v, K) {
  ok <- which(!is.na(v) & v < Inf)
  o <- ok[order(v[ok])]  # order() is stable: equal values keep increasing index
  n <- min(K, length(o))
  vals <- rep(Inf, K)
  idx <- rep(0, K)
  vals[seq_len(n)] <- v[o[seq_len(n)]]
  idx[seq_len(n)] <- o[seq_len(n)] - 1
  list(v = vals, i = idx)
}

# Reference for the min/max/K-min families, output layouts of spec 4.1.
ref_order <- function(red, A, K = 1) {
  D <- length(A)
  R <- nrow(A[[1]])
  is_max <- grepl("^(Max|ArgMax)", red)
  out <- lapply(seq_len(R), function(r) {
    if (grepl("KMin", red)) {
      kb <- lapply(A, function(a) kbest_of(a[r, ], K))
      vals <- sapply(kb, `[[`, "v")  # K x D
      idx <- sapply(kb, `[[`, "i")
      vals <- matrix(vals, K, D)
      idx <- matrix(idx, K, D)
      switch(red,
        KMin_Reduction = as.vector(t(vals)),
        ArgKMin_Reduction = as.vector(t(idx)),
        KMin_ArgKMin_Reduction = as.vector(t(cbind(vals, idx))))
    } else {
      b <- sapply(A, function(a) best_of(a[r, ], is_max))  # 2 x D
      switch(red,
        Min_Reduction = , Max_Reduction = b[1, ],
        ArgMin_Reduction = , ArgMax_Reduction = b[2, ],
        Min_ArgMin_Reduction = , Max_ArgMax_Reduction = c(b[1, ], b[2, ]))
    }
  })
  do.call(rbind, out)
}

# Reference for the log-sum-exp family: F one matrix, G a list of matrices.
ref_lse <- function(red, f, G = list()) {
  R <- nrow(f)
  out <- lapply(seq_len(R), function(r) {
    v <- f[r, ]
    m <- max(v)
    e <- exp(v - m)
    s <- sum(e)
    sw <- vapply(G, function(g) sum(e * g[r, ]), 0)
    switch(red,
      Max_SumShiftExp_Reduction = c(m, s),
      LogSumExp_Reduction = m + log(s),
      Max_SumShiftExpWeight_Reduction = c(m, sw),
      LogSumExpWeight_Reduction = m + log(sw),
      SumSoftMaxWeight_Reduction = sw / s)
  })
  do.call(rbind, out)
}

lse_formula <- function(red, fstr, axis) {
  switch(red,
    Max_SumShiftExp_Reduction = , LogSumExp_Reduction = sprintf("%s(%s, %d)", red, fstr, axis),
    Max_SumShiftExpWeight_Reduction = sprintf("%s(%s, %d, w)", red, fstr, axis),
    sprintf("%s(%s, w, %d)", red, fstr, axis))
}

ORDER_REDS <- c("Min_Reduction", "ArgMin_Reduction", "Min_ArgMin_Reduction", "Max_Reduction",
                "ArgMax_Reduction", "Max_ArgMax_Reduction")
KMIN_REDS <- c("KMin_Reduction", "ArgKMin_Reduction", "KMin_ArgKMin_Reduction")
LSE_REDS <- c("Max_SumShiftExp_Reduction", "LogSumExp_Reduction",
              "Max_SumShiftExpWeight_Reduction", "LogSumExpWeight_Reduction",
              "SumSoftMaxWeight_Reduction")
WEIGHTED <- c("Max_SumShiftExpWeight_Reduction", "LogSumExpWeight_Reduction",
              "SumSoftMaxWeight_Reduction")

# ---- worked examples of the specification ------------------------------------

test_that("E8-E18: min/max, arg and K-min reductions on the spec's data", {
  cases <- list(
    list("Min_Reduction(Abs(x - y), 0)", matrix(c(0, 0, 1))),
    list("ArgMin_Reduction(Abs(x - y), 0)", matrix(c(1, 0, 0))),
    list("Min_ArgMin_Reduction(Abs(x - y), 0)", rbind(c(0, 1), c(0, 0), c(1, 0))),
    list("ArgMin_Reduction(Abs(x - y), 1)", matrix(c(1, 0, 1, 2))),
    list("Min_ArgMin_Reduction(Concat(x - y, y - x), 0)",
         rbind(c(-3, 0, 3, 1), c(-2, -1, 3, 1), c(-1, -2, 3, 1))),
    list("Max_ArgMax_Reduction(Abs(x - y), 0)", rbind(c(3, 3), c(2, 3), c(2, 1))),
    list("KMin_Reduction(Abs(x - y), 3, 0)", rbind(c(0, 1, 1), c(0, 0, 1), c(1, 1, 1))),
    list("ArgKMin_Reduction(Abs(x - y), 3, 0)", rbind(c(1, 0, 2), c(0, 2, 1), c(0, 2, 3))),
    list("KMin_ArgKMin_Reduction(Abs(x - y), 5, 0)",
         rbind(c(0, 1, 1, 0, 1, 2, 3, 3, Inf, 0), c(0, 0, 0, 2, 1, 1, 2, 3, Inf, 0),
               c(1, 0, 1, 2, 1, 3, 2, 1, Inf, 0))),
    list("KMin_ArgKMin_Reduction(Concat(x - y, y - x), 2, 0)",
         rbind(c(-3, 0, 3, 1, -1, 1, 0, 0), c(-2, -1, 3, 1, 0, 0, 0, 0),
               c(-1, -2, 3, 1, 1, -1, 0, 0))),
    list("KMin_Reduction(Concat(x - y, y - x), 2, 0)",
         rbind(c(-3, 0, -1, 1), c(-2, -1, 0, 0), c(-1, -2, 1, -1))))
  for (cs in cases) {
    op <- red_op(cs[[1]], ARGS1)
    for (p in PRECISIONS) {
      expect_identical(red_run(p, op, list(EX$x, EX$y)), cs[[2]], label = paste(cs[[1]], p))
    }
  }
})

test_that("E19-E23: the log-sum-exp family on the spec's data", {
  cases <- list(
    list("Max_SumShiftExp_Reduction(x * y, 0)", ARGS1,
         rbind(c(0, 4), c(3, 1.320457635), c(6, 1.03911003))),
    list("LogSumExp_Reduction(x * y, 0)", ARGS1, matrix(c(1.386294361, 3.27797837, 6.038364606))),
    list("Max_SumShiftExpWeight_Reduction(x * y, 0, w)", ARGSW,
         rbind(c(0, 16, 20), c(3, 7.961372905, 9.281830539), c(6, 7.11733009, 8.15644012))),
    list("LogSumExpWeight_Reduction(x * y, w, 0)", ARGSW,
         rbind(c(2.772588722, 2.995732274), c(5.07460146, 5.228058784),
               c(7.962532668, 8.098807814))),
    list("SumSoftMaxWeight_Reduction(x * y, w, 0)", ARGSW,
         rbind(c(4, 5), c(6.029252809, 7.029252809), c(6.849447974, 7.849447974))))
  for (cs in cases) {
    op <- red_op(cs[[1]], cs[[2]])
    input <- if (length(cs[[2]]) == 3) list(EX$x, EX$y, EX$w) else list(EX$x, EX$y)
    for (p in PRECISIONS) {
      res <- red_run(p, op, input)
      expect_equal(dim(res), dim(cs[[3]]))
      # the spec rounds to 10 significant digits
      expect_lt(max(abs(res - cs[[3]]) / pmax(1, abs(cs[[3]]))), if (p == "float64") 1e-9 else 1e-6)
    }
  }
})

test_that("E43: empty reduction range (N = 0)", {
  x <- EX$x
  y0 <- matrix(0, 0, 1)
  for (p in PRECISIONS) {
    res <- cbind(red_run(p, red_op("Sum_Reduction(x * y, 0)", ARGS1), list(x, y0)),
                 red_run(p, red_op("Min_ArgMin_Reduction(x * y, 0)", ARGS1), list(x, y0)),
                 red_run(p, red_op("Max_Reduction(x * y, 0)", ARGS1), list(x, y0)))
    expect_identical(res, matrix(c(0, Inf, 0, -Inf), 3, 4, byrow = TRUE))
  }
})

# ---- brute force on random data, every reduction, both axes and precisions ----

# Sizes: small, and a reduced side longer than one tile (4096) and not a
# multiple of any SIMD width, with enough output rows for register blocks.
SIZES <- list(c(7, 37), c(37, 4133))

test_that("min/max/arg reductions match brute force (ties: smallest index)", {
  for (red in ORDER_REDS) for (kind in c("abs", "cat")) for (axis in 0:1) {
    if (kind == "cat" && (axis == 1 || !red %in% c("Min_ArgMin_Reduction", "Max_ArgMax_Reduction"))) next
    op <- red_op(sprintf("%s(%s, %d)", red, FORMULAS[[kind]], axis), ARGS1)
    for (sz in SIZES) {
      n_out <- sz[1]
      n_red <- sz[2]
      M <- if (axis == 0) n_out else n_red
      N <- if (axis == 0) n_red else n_out
      # integer data in a small range: many ties
      x <- int_mat(M, 1, M + N + axis)
      y <- int_mat(N, 1, M * N + axis)
      ref <- ref_order(red, fcomps(kind, x, y, axis))
      for (p in PRECISIONS) {
        expect_identical(red_run(p, op, list(x, y)), ref,
                         label = sprintf("%s %s axis %d %s M=%d N=%d", red, kind, axis, p, M, N))
      }
    }
  }
})

test_that("K-min reductions match a stable sort, K > N pads with (Inf, 0)", {
  cases <- list(list("KMin_Reduction", "abs", 3), list("ArgKMin_Reduction", "abs", 3),
                list("KMin_ArgKMin_Reduction", "cat", 2))
  for (cs in cases) for (axis in 0:1) {
    red <- cs[[1]]
    kind <- cs[[2]]
    K <- cs[[3]]
    op <- red_op(sprintf("%s(%s, %d, %d)", red, FORMULAS[[kind]], K, axis), ARGS1)
    for (sz in c(SIZES, list(c(5, 2)))) {
      M <- if (axis == 0) sz[1] else sz[2]
      N <- if (axis == 0) sz[2] else sz[1]
      x <- int_mat(M, 1, 3 * M + N + K)
      y <- int_mat(N, 1, 7 * N + M + axis)
      ref <- ref_order(red, fcomps(kind, x, y, axis), K)
      for (p in PRECISIONS) {
        expect_identical(red_run(p, op, list(x, y)), ref,
                         label = sprintf("%s K=%d axis %d %s M=%d N=%d", red, K, axis, p, M, N))
      }
    }
  }
  # K = 5 > N = 4 and > 1 SIMD tile of data: E16's operator
  op <- red_op("KMin_ArgKMin_Reduction(Abs(x - y), 5, 0)", ARGS1)
  for (N in c(4, 4133)) {
    x <- int_mat(37, 1, 1)
    y <- int_mat(N, 1, 2)
    for (p in PRECISIONS) {
      expect_identical(red_run(p, op, list(x, y)),
                       ref_order("KMin_ArgKMin_Reduction", fcomps("abs", x, y, 0), 5))
    }
  }
})

test_that("K-min on real-valued data (sorted values, no ties) over a long range", {
  op <- red_op("KMin_ArgKMin_Reduction(SqDist(x, y), 4, 0)", c("x = Vi(0,2)", "y = Vj(1,2)"))
  x <- unif_mat(9, 2, 1)
  y <- unif_mat(5000, 2, 2)
  d2 <- outer(x[, 1], y[, 1], "-")^2 + outer(x[, 2], y[, 2], "-")^2
  for (p in PRECISIONS) {
    res <- red_run(p, op, list(x, y))
    idx <- t(apply(d2, 1, order))[, 1:4] - 1
    expect_identical(res[, c(2, 4, 6, 8)], matrix(as.double(idx), 9, 4))
    vals <- t(apply(d2, 1, sort))[, 1:4]
    expect_lt(max(abs(res[, c(1, 3, 5, 7)] - vals)), if (p == "float64") 1e-14 else 1e-6)
  }
})

test_that("the log-sum-exp family matches brute force", {
  for (red in LSE_REDS) for (axis in 0:1) {
    args <- if (red %in% WEIGHTED) (if (axis == 0) ARGSW else ARGSWi) else ARGS1
    op <- red_op(lse_formula(red, "x * y", axis), args)
    for (sz in SIZES) {
      M <- if (axis == 0) sz[1] else sz[2]
      N <- if (axis == 0) sz[2] else sz[1]
      # |F| up to 900: exp(F) overflows without the stable form
      x <- unif_mat(M, 1, M + axis, -30, 30)
      y <- unif_mat(N, 1, N + 2, -30, 30)
      w <- unif_mat(if (axis == 0) N else M, 2, 5, 0.5, 2)
      input <- if (red %in% WEIGHTED) list(x, y, w) else list(x, y)
      for (p in PRECISIONS) {
        xx <- if (p == "float32") as_f32(x) else x
        yy <- if (p == "float32") as_f32(y) else y
        ww <- if (p == "float32") as_f32(w) else w
        f <- fcomps("xy", xx, yy, axis)[[1]]
        if (p == "float32") f <- as_f32(f)  # the float product, correctly rounded
        G <- if (axis == 0) list(t(matrix(ww[, 1], N, M)), t(matrix(ww[, 2], N, M)))
             else list(t(matrix(ww[, 1], M, N)), t(matrix(ww[, 2], M, N)))
        ref <- ref_lse(red, f, G)
        res <- red_run(p, op, input)
        expect_equal(dim(res), dim(ref))
        err <- max(abs(res - ref) / pmax(1, abs(ref)))
        expect_lt(err, if (p == "float64") 1e-12 else 2e-6,
                  label = sprintf("%s axis %d %s M=%d N=%d: error", red, axis, p, M, N))
      }
    }
  }
})

test_that("Zero_Reduction gives d columns of zeros with the output side's rows", {
  for (axis in 0:1) {
    op <- red_op(sprintf("Zero_Reduction(3, %d)", axis), ARGS1)
    for (p in PRECISIONS) {
      res <- red_run(p, op, list(matrix(1:5), matrix(1:8)))
      expect_identical(res, matrix(0, if (axis == 0) 5 else 8, 3))
    }
  }
})

test_that("the Sum reduction also works through its K1 alias and both axes", {
  x <- unif_mat(7, 1, 1)
  y <- unif_mat(4133, 1, 2)
  for (axis in 0:1) {
    op <- red_op(sprintf("SumReduction(Concat(x - y, x * y), %d)", axis), ARGS1)
    A <- fcomps("cat", x, y, axis)[1]
    A <- c(A, fcomps("xy", x, y, axis))
    ref <- sapply(A, rowSums)
    for (p in PRECISIONS) {
      res <- red_run(p, op, list(x, y))
      expect_lt(red_rel_err(res, ref), if (p == "float64") 1e-12 else 1e-5)
    }
  }
})

# ---- special values -------------------------------------------------------------

test_that("NaN terms are ignored by min/max/arg and K-min; all-NaN rows give the initial state", {
  x <- matrix(c(0, 1, NaN, 2))
  y <- int_mat(4133, 1, 3)
  y[c(2, 100, 4100), 1] <- NaN
  y[5, 1] <- 11  # unique maximum of |x - y| for x in {0, 1, 2}
  for (p in PRECISIONS) {
    for (red in c("Min_ArgMin_Reduction", "Max_ArgMax_Reduction")) {
      res <- red_run(p, red_op(sprintf("%s(Abs(x - y), 0)", red), ARGS1), list(x, y))
      ref <- ref_order(red, fcomps("abs", x, y, 0))
      expect_identical(res, ref)
      expect_identical(res[3, ], if (red == "Min_ArgMin_Reduction") c(Inf, 0) else c(-Inf, 0))
      if (red == "Max_ArgMax_Reduction") expect_identical(res[c(1, 2, 4), 2], c(4, 4, 4))
    }
    res <- red_run(p, red_op("KMin_ArgKMin_Reduction(Concat(x - y, y - x), 2, 0)", ARGS1),
                   list(x, y))
    expect_identical(res, ref_order("KMin_ArgKMin_Reduction", fcomps("cat", x, y, 0), 2))
    expect_identical(res[3, ], rep(c(Inf, Inf, 0, 0), 2))
  }
})

test_that("infinite terms: +Inf never replaces the initial +Inf of a min (index 0)", {
  op <- red_op("Min_ArgMin_Reduction(Concat(x - y, y - x), 0)", ARGS1)
  opmax <- red_op("Max_ArgMax_Reduction(Concat(x - y, y - x), 0)", ARGS1)
  x <- matrix(c(Inf, 0, -Inf))
  y <- matrix(c(3, 1, 2, 1, 0, rep(1, 32)))
  for (p in PRECISIONS) {
    # component x - y: row 1 is all +Inf, row 3 all -Inf
    expect_identical(red_run(p, op, list(x, y))[, c(1, 3)], rbind(c(Inf, 0), c(-3, 0), c(-Inf, 0)))
    expect_identical(red_run(p, opmax, list(x, y))[, c(1, 3)], rbind(c(Inf, 0), c(0, 4), c(-Inf, 0)))
  }
})

test_that("log-sum-exp edge cases: -Inf terms contribute nothing, +Inf terms give Inf", {
  op <- red_op("LogSumExp_Reduction(x * y, 0)", ARGS1)
  opr <- red_op("Max_SumShiftExp_Reduction(x * y, 0)", ARGS1)
  y <- matrix(c(-Inf, 0, -Inf, 1, rep(-Inf, 33)))
  for (p in PRECISIONS) {
    res <- red_run(p, op, list(matrix(1), y))
    expect_equal(res[1, 1], log(1 + exp(1)), tolerance = 1e-6)
    raw <- red_run(p, opr, list(matrix(1), y))
    expect_equal(raw[1, ], c(1, 1 + exp(-1)), tolerance = 1e-6)
    # all terms -Inf: as if the range were empty
    for (N in c(3, 37)) {
      yinf <- matrix(-Inf, N, 1)
      expect_identical(red_run(p, opr, list(matrix(1), yinf)), matrix(c(-Inf, 0), 1))
      expect_identical(red_run(p, op, list(matrix(1), yinf)), matrix(-Inf))
    }
    # a +Inf term: LogSumExp is +Inf
    expect_identical(red_run(p, op, list(matrix(1), matrix(c(0, Inf, 1)))), matrix(Inf))
  }
})

test_that("empty reduced range gives the spec 4.5 values for every reduction, both axes", {
  empty_in <- function(axis, n_out, weighted) {
    x <- if (axis == 0) matrix(c(0, 1, 2)[seq_len(n_out)]) else matrix(0, 0, 1)
    y <- if (axis == 0) matrix(0, 0, 1) else matrix(c(0, 1, 2)[seq_len(n_out)])
    w <- matrix(0, 0, 2)
    if (weighted) list(x, y, w) else list(x, y)
  }
  expected <- list(
    Min_Reduction = Inf, ArgMin_Reduction = 0, Min_ArgMin_Reduction = c(Inf, 0),
    Max_Reduction = -Inf, ArgMax_Reduction = 0, Max_ArgMax_Reduction = c(-Inf, 0),
    Max_SumShiftExp_Reduction = c(-Inf, 0), LogSumExp_Reduction = -Inf,
    Max_SumShiftExpWeight_Reduction = c(-Inf, 0, 0), LogSumExpWeight_Reduction = c(-Inf, -Inf),
    SumSoftMaxWeight_Reduction = c(NaN, NaN))
  for (axis in 0:1) for (red in names(expected)) {
    weighted <- red %in% WEIGHTED
    formula <- if (red %in% LSE_REDS) lse_formula(red, "x * y", axis) else
      sprintf("%s(Abs(x - y), %d)", red, axis)
    args <- if (weighted) (if (axis == 0) ARGSW else ARGSWi) else ARGS1
    op <- red_op(formula, args)
    for (p in PRECISIONS) {
      res <- red_run(p, op, empty_in(axis, 3, weighted))
      expect_identical(res, matrix(expected[[red]], 3, length(expected[[red]]), byrow = TRUE),
                       label = paste(red, axis, p))
    }
  }
  kmin <- list(
    list("KMin_Reduction(Abs(x - y), 3, 0)", rep(Inf, 3)),
    list("ArgKMin_Reduction(Abs(x - y), 3, 0)", rep(0, 3)),
    list("KMin_ArgKMin_Reduction(Concat(x - y, y - x), 2, 0)", rep(c(Inf, Inf, 0, 0), 2)))
  for (cs in kmin) {
    for (p in PRECISIONS) {
      expect_identical(red_run(p, red_op(cs[[1]], ARGS1), empty_in(0, 3, FALSE)),
                       matrix(cs[[2]], 3, length(cs[[2]]), byrow = TRUE), label = cs[[1]])
    }
  }
})

# ---- names, shapes, metadata ---------------------------------------------------

test_that("K1 aliases give the same operators as the spec names", {
  aliases <- list(
    c("MinReduction(Abs(x - y), 0)", "Min_Reduction(Abs(x - y), 0)"),
    c("ArgMinReduction(Abs(x - y), 0)", "ArgMin_Reduction(Abs(x - y), 0)"),
    c("MaxReduction(Abs(x - y), 0)", "Max_Reduction(Abs(x - y), 0)"),
    c("ArgMaxReduction(Abs(x - y), 0)", "ArgMax_Reduction(Abs(x - y), 0)"),
    c("MaxArgMaxReduction(Abs(x - y), 0)", "Max_ArgMax_Reduction(Abs(x - y), 0)"),
    c("MinArgMinReduction(Abs(x - y), 0)", "Min_ArgMin_Reduction(Abs(x - y), 0)"),
    c("KMinReduction(Abs(x - y), 3, 0)", "KMin_Reduction(Abs(x - y), 3, 0)"),
    c("ArgKMinReduction(Abs(x - y), 3, 0)", "ArgKMin_Reduction(Abs(x - y), 3, 0)"),
    c("KMinArgKMinReduction(Abs(x - y), 5, 0)", "KMin_ArgKMin_Reduction(Abs(x - y), 5, 0)"),
    c("LogSumExpReduction(x * y, 0)", "Max_SumShiftExp_Reduction(x * y, 0)"))
  for (a in aliases) {
    op <- red_op(a[1], ARGS1)
    expect_identical(op()$reduction, red_op(a[2], ARGS1)()$reduction)
    expect_identical(red_run("float64", op, list(EX$x, EX$y)),
                     red_run("float64", red_op(a[2], ARGS1), list(EX$x, EX$y)), label = a[1])
  }
  # LogSumExpVectReduction(F, t, G) = Max_SumShiftExpWeight_Reduction(F, t, G)
  op <- red_op("LogSumExpVectReduction(x * y, 0, w)", ARGSW)
  expect_identical(op()$reduction, "Max_SumShiftExpWeight_Reduction")
  expect_equal(red_run("float64", op, list(EX$x, EX$y, EX$w)),
               rbind(c(0, 16, 20), c(3, 7.961372905, 9.281830539), c(6, 7.11733009, 8.15644012)),
               tolerance = 1e-9)
})

test_that("output column counts follow the spec table 4.1", {
  d3 <- c("x = Vi(3)", "y = Vj(3)", "w = Vj(4)")
  cols <- c("Sum_Reduction(x - y, 0)" = 3, "Max_Reduction(x - y, 0)" = 3,
            "ArgMin_Reduction(x - y, 1)" = 3, "Min_ArgMin_Reduction(x - y, 0)" = 6,
            "Max_ArgMax_Reduction(x - y, 0)" = 6, "KMin_Reduction(x - y, 4, 0)" = 12,
            "ArgKMin_Reduction(x - y, 4, 0)" = 12, "KMin_ArgKMin_Reduction(x - y, 4, 0)" = 24,
            "LogSumExp_Reduction((x|y), 0)" = 1, "LogSumExpWeight_Reduction((x|y), w, 0)" = 4,
            "SumSoftMaxWeight_Reduction((x|y), w, 0)" = 4,
            "Max_SumShiftExp_Reduction((x|y), 0)" = 2,
            "Max_SumShiftExpWeight_Reduction((x|y), 0, w)" = 5, "Zero_Reduction(7, 1)" = 7)
  for (f in names(cols)) {
    info <- rkeops:::core_call(rkeops:::rk_parse, f, d3)
    expect_identical(info$out_cols, as.integer(cols[[f]]), label = f)
  }
})

# ---- summation schemes ----------------------------------------------------------

test_that("E46: float32 sum of 10^6 copies of 0.1 under the three schemes", {
  b <- matrix(0.1, 1e6, 1)
  exact <- 1e6 * as_f32(0.1)
  res <- vapply(c("block_sum", "direct_sum", "kahan_scheme"), function(s) {
    red_run("float32", red_op("Sum_Reduction(b, 0)", "b = Vj(0,1)", s), list(b))[1, 1]
  }, 0)
  err <- abs(res - exact) / exact
  expect_lt(err[["kahan_scheme"]], 1e-6)
  expect_lt(err[["block_sum"]], 1e-5)
  expect_gt(err[["direct_sum"]], 10 * err[["block_sum"]])
  expect_gt(err[["direct_sum"]], 10 * err[["kahan_scheme"]])
})

test_that("every scheme computes the same sums (both axes, both precisions)", {
  for (s in c("direct_sum", "kahan_scheme")) for (axis in 0:1) {
    op <- red_op(sprintf("Sum_Reduction(Concat(x - y, x * y), %d)", axis), ARGS1, s)
    x <- unif_mat(if (axis == 0) 37 else 4133, 1, 1)
    y <- unif_mat(if (axis == 0) 4133 else 37, 1, 2)
    A <- c(fcomps("cat", x, y, axis)[1], fcomps("xy", x, y, axis))
    ref <- sapply(A, rowSums)
    for (p in PRECISIONS) {
      expect_lt(red_rel_err(red_run(p, op, list(x, y)), ref), if (p == "float64") 1e-12 else 1e-5,
                label = paste(s, axis, p))
    }
  }
  # the log-sum-exp family, with weights (and the compensated rescaling)
  x <- unif_mat(37, 1, 3, -5, 5)
  y <- unif_mat(4133, 1, 4, -5, 5)
  w <- unif_mat(4133, 2, 5, 0.5, 2)
  f <- fcomps("xy", x, y, 0)[[1]]
  G <- list(t(matrix(w[, 1], 4133, 37)), t(matrix(w[, 2], 4133, 37)))
  for (s in c("direct_sum", "kahan_scheme")) for (red in c("SumSoftMaxWeight_Reduction",
                                                            "Max_SumShiftExp_Reduction")) {
    op <- red_op(lse_formula(red, "x * y", 0), if (red %in% WEIGHTED) ARGSW else ARGS1, s)
    expect_match(op()$source("float64"), switch(s, direct_sum = "kDirectSum", "kKahanSum"))
    ref <- ref_lse(red, f, G)
    for (p in PRECISIONS) {
      input <- if (red %in% WEIGHTED) list(x, y, w) else list(x, y)
      res <- red_run(p, op, input)
      expect_lt(max(abs(res - ref) / pmax(1, abs(ref))), if (p == "float64") 1e-12 else 1e-5,
                label = paste(s, red, p))
    }
  }
})

test_that("Kahan is more accurate than direct summation for the log-sum-exp family", {
  set.seed(7)
  b <- matrix(stats::runif(1e6), 1e6, 1)
  bf <- as_f32(b)
  m <- max(bf)
  ref <- sum(exp(bf - m))
  err <- vapply(c("block_sum", "direct_sum", "kahan_scheme"), function(s) {
    r <- red_run("float32", red_op("Max_SumShiftExp_Reduction(b, 0)", "b = Vj(0,1)", s), list(b))
    abs(r[1, 2] / sum(exp(bf - r[1, 1])) - 1)
  }, 0)
  expect_lt(err[["kahan_scheme"]], 1e-6)
  expect_lt(err[["block_sum"]], 1e-6)
  expect_gt(err[["direct_sum"]], 2 * err[["kahan_scheme"]])
})

# ---- errors ---------------------------------------------------------------------

test_that("reduction errors: K, dimension of LogSumExp, arity, sum_scheme misuse", {
  e <- red_err(keops_kernel("KMin_Reduction(Abs(x - y), 2.5, 0)", ARGS1))
  expect_s3_class(e, "rkeops_formula_error")
  expect_match(conditionMessage(e), "K of 'KMin_Reduction' must be an integer")
  e <- red_err(keops_kernel("ArgKMin_Reduction(Abs(x - y), 0, 0)", ARGS1))
  expect_s3_class(e, "rkeops_formula_error")
  expect_match(conditionMessage(e), "at least 1")
  e <- red_err(keops_kernel("KMin_Reduction(Abs(x - y), 0)", ARGS1))
  expect_s3_class(e, "rkeops_formula_error")
  expect_match(conditionMessage(e), "takes 3 arguments \\(formula, K, axis\\)")
  e <- red_err(keops_kernel("KMin_Reduction(x - y, 100000, 0)", c("x = Vi(3)", "y = Vj(3)")))
  expect_s3_class(e, "rkeops_formula_error")
  expect_match(conditionMessage(e), "more than this version supports")

  e <- red_err(keops_kernel("LogSumExp_Reduction(x - y, 0)", c("x = Vi(3)", "y = Vj(3)")))
  expect_s3_class(e, "rkeops_formula_error")
  expect_match(conditionMessage(e), "dimension 1, but 'x - y' has dimension 3")
  e <- red_err(keops_kernel("SumSoftMaxWeight_Reduction(x - y, x, 0)", c("x = Vi(3)", "y = Vj(3)")))
  expect_s3_class(e, "rkeops_formula_error")
  e <- red_err(keops_kernel("Zero_Reduction(0, 0)", ARGS1))
  expect_s3_class(e, "rkeops_formula_error")
  e <- red_err(keops_kernel("Min_Reduction(Abs(x - y), 2)", ARGS1))
  expect_s3_class(e, "rkeops_formula_error")
  expect_match(conditionMessage(e), "axis")

  for (s in c("direct_sum", "kahan_scheme")) {
    e <- red_err(keops_kernel("ArgMin_Reduction(Abs(x - y), 0)", ARGS1, sum_scheme = s))
    expect_s3_class(e, "rkeops_formula_error")
    expect_match(conditionMessage(e), "only for sum-type reductions")
  }
  e <- red_err(keops_kernel("Sum_Reduction(x - y, 0)", ARGS1, sum_scheme = "pairwise"))
  expect_s3_class(e, "rkeops_error")
  expect_match(conditionMessage(e), "sum_scheme")
})
