# Speed against the bandwidth: a Gaussian sum exp(-s |x - y|^2) b over
# points in [0, 1]^3, for s from 0.01 (every term near 1) to 1000 (most terms
# underflow, many through the subnormal range). Each rate is given as a
# ratio to the s = 1 rate of the same precision, measured in the same run:
# a ratio well below 1 is a data-dependent cliff (subnormal assists).
#
#   R_LIBS=.rlib Rscript bench/bandwidth.R
#   BENCH_N (default 2e4: M = N), BENCH_FLAGS (compile_flags, default the
#   package default), BENCH_REPS (default 3, the median is kept)
suppressPackageStartupMessages(library(rkeops))
n <- as.numeric(Sys.getenv("BENCH_N", "2e4"))
reps <- as.integer(Sys.getenv("BENCH_REPS", "3"))
flags <- Sys.getenv("BENCH_FLAGS", "")
cache_dir <- tempfile("rkeops-bench-cache-")
set_rkeops_options(cache_dir = cache_dir)
if (nzchar(flags)) set_rkeops_options(compile_flags = flags)
on.exit(unlink(cache_dir, recursive = TRUE), add = TRUE)
cpu <- sub("^Model name:\\s*", "", grep("^Model name", system("lscpu", intern = TRUE), value = TRUE))
set.seed(1)
x <- matrix(runif(n * 3), n)
y <- matrix(runif(n * 3), n)
b <- matrix(runif(n), n)
rows <- list()
for (precision in c("float32", "float64")) {
  set_rkeops_options(precision = precision)
  op <- keops_kernel("Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)",
                     c("x = Vi(3)", "y = Vj(3)", "b = Vj(1)", "s = Pm(1)"))
  op(list(x[1:10, ], y, b, 1))  # load
  for (s in c(0.01, 1, 100, 1000)) {
    t <- median(replicate(reps, system.time(op(list(x, y, b, s)))[["elapsed"]]))
    rows[[length(rows) + 1]] <- data.frame(precision = precision, s = s, seconds = t,
                                           pairs_per_s = n * n / t)
  }
}
tab <- do.call(rbind, rows)
tab$ratio_to_s1 <- tab$pairs_per_s / ave(ifelse(tab$s == 1, tab$pairs_per_s, NA), tab$precision,
                                         FUN = function(v) v[!is.na(v)][1])
cat(sprintf("Bandwidth sweep, M = N = %g, D = 3, %s, flags: %s\n", n, cpu,
            if (nzchar(flags)) flags else "default"))
print(format(tab, digits = 3), row.names = FALSE)
