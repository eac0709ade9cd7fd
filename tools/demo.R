# rkeops demo (run by `make demo`, which installs the package into ./.rlib
# and points RKEOPS_CACHE_DIR at a temporary directory).
#
# 1. The seed example: a Gaussian kernel convolution on 100 x 150 points,
#    checked against brute-force R.
# 2. The same formula again: a cache hit, no compilation.
# 3./4. The convolution at M = N = 1e5 (b of dimension 1) in float32, then in
#    float64: compile time, run time, pairs per second, and the error against
#    a float64 brute-force computation of 20 rows.
# Exits with status 1 if an error is larger than the tolerance.

suppressPackageStartupMessages(library(rkeops))
set.seed(1)

elapsed <- function() proc.time()[["elapsed"]]
# Evaluate `expr` and return its value with the wall-clock time it took.
timed <- function(expr) {
  start <- elapsed()
  value <- expr # forces the promise: the work happens here
  list(value = value, time = elapsed() - start)
}
fmt_time <- function(t) {
  if (t < 1e-3) sprintf("%.0f us", t * 1e6)
  else if (t < 1) sprintf("%.1f ms", t * 1e3)
  else sprintf("%.2f s", t)
}
rel_err <- function(got, ref) max(abs(got - ref) / abs(ref))
show <- function(label, ...) cat(sprintf("%-36s %s\n", paste0(label, ":"), paste(...)))
# One line of the final table.
result_row <- function(case, precision, compile, first, best, rate, err) {
  data.frame(
    case = case, precision = precision, compile = fmt_time(compile),
    "first call" = fmt_time(first),
    "best of 3" = if (is.na(best)) "-" else fmt_time(best),
    "pairs/s" = if (is.na(rate)) "-" else sprintf("%.3g", rate),
    "max rel err" = sprintf("%.1e", err), check.names = FALSE
  )
}
section <- function(title) cat("\n== ", title, " ", strrep("=", max(2, 70 - nchar(title))), "\n", sep = "")

formula <- "Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)"
tolerance <- c(float32 = 1e-4, float64 = 1e-10)
rows <- list()
ok <- TRUE

cat("rkeops", format(utils::packageVersion("rkeops")), "demo\n")
show("formula", formula)
show("cache dir", get_rkeops_cache_dir())
use_cpu()
rkeops_use_float32()

# -- 1. seed example -----------------------------------------------------------
section("1. Seed example: M = 100, N = 150, D = 3, b of dimension 6, float32")
args <- c("x = Vi(3)", "y = Vj(3)", "b = Vj(6)", "s = Pm(1)")
compile <- timed(keops_kernel(formula, args))
op <- compile$value
show("keops_kernel() (cold, compiles)", fmt_time(compile$time))

X <- matrix(runif(100 * 3), 100)
Y <- matrix(runif(150 * 3), 150)
B <- matrix(runif(150 * 6), 150)
s <- 0.2
first <- timed(op(list(X, Y, B, s)))
res <- first$value
show("first call", fmt_time(first$time))
show("result", nrow(res), "x", ncol(res))

# Brute force in R: squared distances, kernel matrix, product with B.
D2 <- pmax(outer(rowSums(X^2), rowSums(Y^2), "+") - 2 * tcrossprod(X, Y), 0)
ref <- exp(-s * D2) %*% B
err <- rel_err(res, ref)
pass <- identical(dim(res), dim(ref)) && err < tolerance[["float32"]]
ok <- ok && pass
show("max relative error vs brute force", sprintf("%.2e", err),
     if (pass) "(ok)" else "(TOO LARGE)")
rows[[length(rows) + 1]] <- result_row(
  "100 x 150, b dim 6", "float32", compile$time, first$time, NA, NA, err
)

# -- 2. cache hit --------------------------------------------------------------
section("2. Same formula again (cached)")
again <- timed(keops_kernel(formula, args))
show("keops_kernel() (warm, cached)", fmt_time(again$time))
same <- again$value(list(X, Y, B, s))
show("same result as the first operator", isTRUE(all.equal(same, res, tolerance = 0)))

# -- 3./4. large convolution --------------------------------------------------------
M <- 1e5
N <- 1e5
s_big <- 8
args1 <- c("x = Vi(3)", "y = Vj(3)", "b = Vj(1)", "s = Pm(1)")
Xb <- matrix(runif(M * 3), M)
Yb <- matrix(runif(N * 3), N)
Bb <- matrix(runif(N), N)
check_rows <- sort(sample.int(M, 20))
# float64 brute force on 20 rows only: sum_j exp(-s |x_i - y_j|^2) b_j.
ref_big <- vapply(check_rows, function(i) {
  d2 <- (Yb[, 1] - Xb[i, 1])^2 + (Yb[, 2] - Xb[i, 2])^2 + (Yb[, 3] - Xb[i, 3])^2
  sum(exp(-s_big * d2) * Bb[, 1])
}, numeric(1))

run_large <- function(precision, number) {
  section(sprintf("%d. Convolution M = N = %g, D = 3, b of dimension 1, s = %g, %s",
                  number, M, s_big, precision))
  compile <- timed(keops_kernel(formula, args1))
  op <- compile$value
  show("keops_kernel() (cold, compiles)", fmt_time(compile$time))
  input <- list(Xb, Yb, Bb, s_big)
  first <- timed(op(input))
  show("first call (warm-up)", fmt_time(first$time))
  times <- vapply(1:3, function(k) timed(op(input))$time, numeric(1))
  best <- min(times)
  out <- op(input)
  err <- rel_err(out[check_rows, 1], ref_big)
  pass <- identical(dim(out), c(as.integer(M), 1L)) && err < tolerance[[precision]]
  show("best of 3 calls", fmt_time(best))
  show("pairs per second", sprintf("%.3g", M * N / best))
  show("max relative error on 20 rows", sprintf("%.2e", err),
       if (pass) "(ok)" else "(TOO LARGE)")
  list(pass = pass, row = result_row(
    sprintf("%g x %g, b dim 1", M, N), precision, compile$time, first$time,
    best, M * N / best, err
  ))
}

r32 <- run_large("float32", 3)
rkeops_use_float64()
r64 <- tryCatch(run_large("float64", 4), finally = rkeops_use_float32())
ok <- ok && r32$pass && r64$pass
rows <- c(rows, list(r32$row, r64$row))

# -- summary ---------------------------------------------------------------------
section("Summary")
options(width = 200)
print(do.call(rbind, rows), row.names = FALSE, right = FALSE)
cat(sprintf("\ncached keops_kernel(): %s; tolerances: float32 %g, float64 %g\n",
            fmt_time(again$time), tolerance[["float32"]], tolerance[["float64"]]))
if (!ok) {
  cat("DEMO FAILED: an error is above its tolerance.\n")
  quit(status = 1)
}
cat("Demo finished: all results match brute-force R.\n")
