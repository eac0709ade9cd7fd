# Per-call overhead of a LazyTensor reduction against the same operator
# called directly (keops_kernel()): the Gaussian convolution on small data,
# where the computation itself is short, so that the difference is the cost
# of building the expression, naming its variables and finding the operator.
#
#   R_LIBS=.rlib Rscript bench/lazytensor_overhead.R
#
# Environment: LT_BENCH_REPS (default 300 calls per variant), LT_BENCH_M
# (default 100 = M = N). Prints a table of medians (microseconds); the
# variants are interleaved call by call so that the machine's load affects
# them alike (median and minimum over batches). One thread: the overhead does not depend on it, and on a loaded
# machine waiting for a second thread adds noise of milliseconds.

library(rkeops)
cache <- tempfile("rkeops-bench-lt-")
old <- set_rkeops_options(cache_dir = cache, precision = "float32", threads = 1L)

reps <- as.integer(Sys.getenv("LT_BENCH_REPS", "300"))
M <- as.integer(Sys.getenv("LT_BENCH_M", "100"))
set.seed(1)
X <- matrix(runif(M * 3), M)
Y <- matrix(runif(M * 3), M)
B <- matrix(runif(M), M)
s <- 8.5

op <- keops_kernel("Sum_Reduction(Exp(-(SqNorm2(x - y) * s)) * b, 0)",
                   c("x = Vi(3)", "y = Vj(3)", "b = Vj(1)", "s = Pm(1)"))
direct <- function() op(list(X, Y, B, s))
build <- function() exp(-(sqnorm2(Vi(X) - Vj(Y)) * s)) * Vj(B)
lazy <- function() sum(build(), index = "j")

stopifnot(max(abs(lazy() - direct())) < 1e-4 * max(abs(direct())))  # same result (and warm-up)

variants <- list(`keops_kernel() operator` = direct, `LazyTensor: build only` = build,
                 `LazyTensor: build + sum(index = "j")` = lazy)
batch <- 10L  # calls per timing: the clock's own cost stays negligible
times <- matrix(NA_real_, ceiling(reps / batch), length(variants))
for (r in seq_len(nrow(times))) {
  for (k in seq_along(variants)) {
    f <- variants[[k]]
    t0 <- Sys.time()
    for (b in seq_len(batch)) f()
    times[r, k] <- as.numeric(Sys.time() - t0, units = "secs") / batch
  }
}
# Medians, and minima (the best batch: on a machine shared with other work,
# the least disturbed by it).
med <- apply(times, 2, stats::median) * 1e6
low <- apply(times, 2, min) * 1e6
tab <- data.frame(variant = names(variants), median_us = round(med, 1),
                  median_over_direct_us = round(med - med[1], 1),
                  min_us = round(low, 1), min_over_direct_us = round(low - low[1], 1))
cat(sprintf("M = N = %d, D = 3, float32, %d calls per variant in interleaved batches of %d, %d thread\n",
            M, nrow(times) * batch, batch, rkeops:::default_threads()))
print(tab, row.names = FALSE)

unlink(cache, recursive = TRUE)
do.call(set_rkeops_options, old)
