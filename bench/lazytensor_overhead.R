# Per-call overhead of a LazyTensor reduction against the same operator
# called directly (keops_kernel()): the Gaussian convolution on small data,
# where the computation itself is short, so that the difference is the cost
# of building the expression, naming its variables and finding the operator.
#
#   R_LIBS=.rlib Rscript bench/lazytensor_overhead.R
#
# Environment: LT_BENCH_REPS (default 300 calls per variant), LT_BENCH_M
# (default 100 = M = N), LT_BENCH_BATCH (calls per timing, default 50).
# Prints a table of times per call (microseconds); the
# variants are interleaved call by call so that the machine's load affects
# them alike. One thread: the overhead does not depend on it, and on a loaded
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
batch <- as.integer(Sys.getenv("LT_BENCH_BATCH", "50"))  # calls per timing
n_batches <- ceiling(reps / batch)
wall <- cpu <- matrix(NA_real_, n_batches, length(variants))
cpu_now <- function() sum(proc.time()[c("user.self", "sys.self")])
for (r in seq_len(n_batches)) {
  for (k in seq_along(variants)) {
    f <- variants[[k]]
    c0 <- cpu_now()
    t0 <- Sys.time()
    for (b in seq_len(batch)) f()
    wall[r, k] <- as.numeric(Sys.time() - t0, units = "secs") / batch
    cpu[r, k] <- (cpu_now() - c0) / batch
  }
}
# Wall time and the process's CPU time
# (median): on a machine shared with other work, CPU time is the least
# affected by it, since time given to other processes is not counted.
us <- function(m, f) apply(m, 2, f) * 1e6
tab <- data.frame(variant = names(variants),
                  wall_median_us = round(us(wall, stats::median), 1),
                  wall_min_us = round(us(wall, min), 1),
                  cpu_median_us = round(us(cpu, stats::median), 1))
tab$cpu_over_direct_us <- round(tab$cpu_median_us - tab$cpu_median_us[1], 1)
tab$wall_min_over_direct_us <- round(tab$wall_min_us - tab$wall_min_us[1], 1)
cat(sprintf("M = N = %d, D = 3, float32, %d calls per variant in interleaved batches of %d, %d thread\n",
            M, n_batches * batch, batch, rkeops:::default_threads()))
print(tab, row.names = FALSE)

unlink(cache, recursive = TRUE)
do.call(set_rkeops_options, old)
