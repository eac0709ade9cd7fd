# LazyTensor reductions and gradients through the GPU emulation target (the
# GPU kernel compiled with the C++ compiler): the same results as brute force,
# with the backend option set and restored as in test-gpu-emulation.R.

M <- 37
N <- 45
X <- rand_mat(M, 3, seed = 501)
Y <- rand_mat(N, 3, seed = 502)
B <- rand_mat(N, 2, seed = 503, lo = -1, hi = 1)

test_that("sum over j and i, argKmin and grad through the GPU emulation target", {
  local_clean_options()
  set_rkeops_options(backend = "GPU_EMULATION", gpu_block_size = 32L)
  for (precision in c("float64", "float32")) {
    set_rkeops_options(precision = precision)
    tol <- 10 * tol_for(precision)
    x_i <- Vi(X)
    y_j <- Vj(Y)
    K <- exp(-sqdist(x_i, y_j) * 2)
    E <- exp(-2 * ref_sqdist(X, Y))
    expect_close(K %*% B, E %*% B, tol)
    expect_close(sum(K * Vi(X), index = "i"), t(E) %*% X, tol)
    expect_identical(argKmin(sqdist(x_i, y_j), 4, "j"),
                     t(apply(ref_sqdist(X, Y), 1, function(v) order(v)[1:4] - 1)) + 0)
    # d/dx_i of sum_ij K_ij: sum_j -4 (x_i - y_j) K_ij
    ref <- -4 * (rowSums(E) * X - E %*% Y)
    expect_close(grad(K, x_i, "j"), ref, if (precision == "float64") 1e-10 else 1e-4)
  }
  expect_identical(get_rkeops_options("backend"), "GPU_EMULATION")
})
