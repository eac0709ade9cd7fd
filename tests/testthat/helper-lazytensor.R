# Brute-force references for LazyTensor tests: a function of one pair of
# points (a = row i of X, b = row j of Y) evaluated on every pair, then
# reduced over the index given, the slow and obvious way.

# out[r, ] = sum over the reduced index of f(X[i, ], Y[j, ]); rows are i for
# index "j" and j for index "i".
lt_brute_sum <- function(f, X, Y, index) {
  X <- as.matrix(X)
  Y <- as.matrix(Y)
  rows <- if (index == "j") nrow(X) else nrow(Y)
  other <- if (index == "j") nrow(Y) else nrow(X)
  out <- lapply(seq_len(rows), function(r) {
    acc <- 0
    for (o in seq_len(other)) {
      acc <- acc + if (index == "j") f(X[r, ], Y[o, ]) else f(X[o, ], Y[r, ])
    }
    acc
  })
  do.call(rbind, out)
}

# The M x N x D array F[i, j, ] of f on every pair.
lt_brute_pairs <- function(f, X, Y) {
  X <- as.matrix(X)
  Y <- as.matrix(Y)
  first <- f(X[1, ], Y[1, ])
  out <- array(0, c(nrow(X), nrow(Y), length(first)))
  for (i in seq_len(nrow(X))) for (j in seq_len(nrow(Y))) out[i, j, ] <- f(X[i, ], Y[j, ])
  out
}

# Per component c: the values F[., ., c] reduced with `red` (a function of a
# vector returning a vector) over the index; returns rows x (length(red) * D)
# matrices laid out as the formula language does (rank-major: column r*D + c).
lt_brute_reduce <- function(Fa, index, red) {
  D <- dim(Fa)[3]
  rows <- if (index == "j") dim(Fa)[1] else dim(Fa)[2]
  res <- NULL
  for (r in seq_len(rows)) {
    per_c <- lapply(seq_len(D), function(c) red(if (index == "j") Fa[r, , c] else Fa[, r, c]))
    K <- length(per_c[[1]])
    res <- rbind(res, as.vector(t(matrix(unlist(per_c), K, D))))
  }
  res
}

# Runs `code` once per precision, with the option restored afterwards.
for_precisions <- function(code_fun) {
  for (precision in c("float64", "float32")) with_precision(precision, code_fun(precision))
}
