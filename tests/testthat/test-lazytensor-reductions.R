# Every LazyTensor reduction, over i and over j, in float64 and float32,
# against brute-force R on every pair: values, shapes and (0-based) indices.

M <- 8
N <- 11
X <- rand_mat(M, 2, seed = 301)
Y <- rand_mat(N, 2, seed = 302)
BJ <- rand_mat(N, 2, seed = 303, lo = 0.5, hi = 2)  # weights on the j side
BI <- rand_mat(M, 2, seed = 304, lo = 0.5, hi = 2)  # weights on the i side

pair_f <- function(a, b) (a - b)^2 + a * b          # F_ij, dimension 2
FA <- lt_brute_pairs(pair_f, X, Y)                 # M x N x 2
G <- -ref_sqdist(X, Y)                              # a dimension-1 F_ij (M x N)
lazy_F <- function() (Vi(X) - Vj(Y))^2 + Vi(X) * Vj(Y)
lazy_G <- function() -sqdist(Vi(X), Vj(Y))

K3 <- 3
refs <- list(
  sum = list(run = function(ix) sum(lazy_F(), index = ix), ref = function(ix) lt_brute_reduce(FA, ix, sum)),
  min = list(run = function(ix) min(lazy_F(), index = ix), ref = function(ix) lt_brute_reduce(FA, ix, min)),
  max = list(run = function(ix) max(lazy_F(), ix), ref = function(ix) lt_brute_reduce(FA, ix, max)),
  argmin = list(run = function(ix) argmin(lazy_F(), ix), idx = TRUE,
                ref = function(ix) lt_brute_reduce(FA, ix, function(v) which.min(v) - 1)),
  argmax = list(run = function(ix) argmax(lazy_F(), index = ix), idx = TRUE,
                ref = function(ix) lt_brute_reduce(FA, ix, function(v) which.max(v) - 1)),
  Kmin = list(run = function(ix) Kmin(lazy_F(), K3, ix),
              ref = function(ix) lt_brute_reduce(FA, ix, function(v) sort(v)[1:K3])),
  argKmin = list(run = function(ix) argKmin(lazy_F(), K = K3, index = ix), idx = TRUE,
                 ref = function(ix) lt_brute_reduce(FA, ix, function(v) order(v)[1:K3] - 1)),
  logsumexp = list(run = function(ix) logsumexp(lazy_G(), ix),
                   ref = function(ix) as.matrix(apply(G, if (ix == "j") 1 else 2, function(v) log(sum(exp(v)))))),
  logsumexp_weight = list(
    run = function(ix) logsumexp(lazy_G(), ix, weight = if (ix == "j") Vj(BJ) else Vi(BI)),
    ref = function(ix) if (ix == "j") log(exp(G) %*% BJ) else log(t(exp(G)) %*% BI)),
  sumsoftmaxweight = list(
    run = function(ix) sumsoftmaxweight(lazy_G(), ix, if (ix == "j") BJ else BI),  # a matrix weight
    ref = function(ix) {
      P <- if (ix == "j") exp(G) else t(exp(G))
      (P %*% (if (ix == "j") BJ else BI)) / rowSums(P)
    }),
  matmul = list(run = function(ix) exp(lazy_G()) %*% BJ, only = "j", ref = function(ix) exp(G) %*% BJ)
)

# Each case is a compiled operator per precision and index (about 0.25 s
# each): float64 runs every case over both indices, float32 every case over
# j and these over i (the float32 code paths differ from float64 only in
# the type, except the sums' accumulation and the index tracking).
float32_over_i <- c("sum", "argmin", "Kmin", "argKmin", "logsumexp_weight", "sumsoftmaxweight")

test_that("each reduction gives brute force's values and 0-based indices (both indices, both precisions)", {
  for_precisions(function(precision) {
    for (index in c("j", "i")) {
      for (name in names(refs)) {
        r <- refs[[name]]
        if (!is.null(r$only) && r$only != index) next
        if (precision == "float32" && index == "i" && !name %in% float32_over_i) next
        info <- sprintf("%s, index %s, %s", name, index, precision)
        got <- r$run(index)
        ref <- r$ref(index)
        expect_identical(dim(got), dim(ref), info = info)
        expect_identical(nrow(got), as.integer(if (index == "j") M else N), info = info)
        if (isTRUE(r$idx)) {
          expect_identical(got, ref + 0, info = info)  # exact whole numbers, 0-based
        } else {
          err <- rel_err(got, ref)
          expect(err <= 10 * tol_for(precision), sprintf("%s: relative error %.3g", info, err))
        }
      }
    }
  })
})

test_that("value-and-index reductions return list(values, indices)", {
  for_precisions(function(precision) {
    for (index in c("j", "i")) {
      info <- sprintf("index %s, %s", index, precision)
      tol <- 10 * tol_for(precision)
      ma <- min_argmin(lazy_F(), index)
      expect_identical(names(ma), c("values", "indices"), info = info)
      expect_close(ma$values, lt_brute_reduce(FA, index, min), tol)
      expect_identical(ma$indices, lt_brute_reduce(FA, index, function(v) which.min(v) - 1), info = info)
      mx <- max_argmax(lazy_F(), index = index)
      expect_close(mx$values, lt_brute_reduce(FA, index, max), tol)
      expect_identical(mx$indices, lt_brute_reduce(FA, index, function(v) which.max(v) - 1), info = info)
      kk <- Kmin_argKmin(lazy_F(), 2, index)
      expect_close(kk$values, lt_brute_reduce(FA, index, function(v) sort(v)[1:2]), tol)
      expect_identical(kk$indices, lt_brute_reduce(FA, index, function(v) order(v)[1:2] - 1), info = info)
    }
  })
})

test_that("reduction() names any reduction; RKeOps 2.x spellings; %*% with a vector", {
  with_precision("float64", {
    F <- lazy_F()
    expect_equal(reduction(F, "Sum", "i"), lt_brute_reduce(FA, "i", sum), tolerance = 1e-12)
    expect_equal(reduction(F, "sum_reduction", "i"), sum(F, index = "i"))
    expect_identical(reduction(F, "ArgKMin", "j", K = K3), lt_brute_reduce(FA, "j", function(v) order(v)[1:K3] - 1))
    expect_identical(reduction(F, "ArgKMin", "j", opt_arg = K3), argKmin(F, K3, "j"))
    expect_equal(reduction(lazy_G(), "LogSumExp", "j", weight = Vj(BJ)), log(exp(G) %*% BJ), tolerance = 1e-12)
    expect_equal(sum_reduction(F, "j"), lt_brute_reduce(FA, "j", sum), tolerance = 1e-12)
    expect_identical(argKmin_reduction(F, K3, "i"), argKmin(F, K3, "i"))
    expect_identical(min_argmin_reduction(F, "j"), min_argmin(F, "j"))
    # a plain vector is one value per j
    v <- BJ[, 1]
    expect_equal(exp(lazy_G()) %*% v, exp(G) %*% v, tolerance = 1e-12)
    # sum(F, "j"): the index as a second unnamed argument
    expect_identical(sum(F, "j"), sum(F, index = "j"))
  })
})

test_that("a rebuilt expression reuses its operator; new data of the same shapes give new results", {
  with_precision("float64", {
    ops <- rkeops:::.lt_ops
    before <- length(ls(ops))
    s <- 0.5
    for (k in 1:3) {
      Xk <- rand_mat(M, 2, seed = 310 + k)
      res <- sum(exp(-sqdist(Vi(Xk), Vj(Y)) / s) * Vj(BJ), index = "j")
      expect_equal(res, exp(-ref_sqdist(Xk, Y) / s) %*% BJ, tolerance = 1e-12)
      s <- s + 0.25   # a new parameter value: the same operator
    }
    expect_identical(length(ls(ops)), before + 1L)
  })
})

test_that("the same expression after a change of precision computes in the new precision", {
  F <- function() exp(-sqdist(Vi(X), Vj(Y)) / 0.3) * Vj(BJ)
  ref <- exp(-ref_sqdist(X, Y) / 0.3) %*% BJ
  r32 <- with_precision("float32", sum(F(), index = "j"))
  r64 <- with_precision("float64", sum(F(), index = "j"))
  expect_lte(rel_err(r64, ref), 1e-12)
  expect_gt(rel_err(r32, ref), 1e-12)   # float32 rounding: not the float64 operator
  expect_lte(rel_err(r32, ref), 1e-5)
})
