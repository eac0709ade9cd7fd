# rkeops benchmark suite.
#
#   make bench                      (installs into ./.rlib, then runs this file)
#   R_LIBS=/some/lib Rscript bench/bench.R
#
# Environment variables:
#   BENCH_SIZES      comma-separated M = N values, default "1e3,1e4,1e5,1e6"
#   BENCH_QUICK=1    smoke run: sizes 1e3,1e4, one timed call each, results
#                    written as bench_quick.csv / pairs_per_s_quick.png
#   BENCH_CASES      comma-separated subset of the case names (default: all)
#   BENCH_MAX_CALL   skip a size when one rkeops call is estimated to take
#                    longer than this many seconds (default 60)
#   BENCH_R_MAX_PAIRS  largest M*N for the dense R computation (default 4e8,
#                    i.e. 2e4 x 2e4, a 3.2 GB double matrix)
#   BENCH_REF_SIZE   M = N for the reference kernel comparison (default 1e5,
#                    1e4 in quick mode)
#   BENCH_OUT        output directory (default bench/results next to this file)
#
# See bench/README.md for what the columns mean.

suppressPackageStartupMessages(library(rkeops))

# ---------------------------------------------------------------- settings --

env_num <- function(name, default) {
  v <- Sys.getenv(name, "")
  if (!nzchar(v)) return(default)
  x <- suppressWarnings(as.numeric(v))
  if (is.na(x)) stop(sprintf("%s must be a number, got '%s'", name, v))
  x
}

quick <- identical(Sys.getenv("BENCH_QUICK", ""), "1")
sizes_txt <- Sys.getenv("BENCH_SIZES", "")
if (quick && !nzchar(sizes_txt)) sizes_txt <- "1e3,1e4"
if (!nzchar(sizes_txt)) sizes_txt <- "1e3,1e4,1e5,1e6"
sizes <- sort(unique(as.numeric(strsplit(sizes_txt, ",", fixed = TRUE)[[1]])))
if (anyNA(sizes) || any(sizes < 1)) stop("BENCH_SIZES must be comma-separated positive numbers")
max_call <- env_num("BENCH_MAX_CALL", 60)
r_max_pairs <- env_num("BENCH_R_MAX_PAIRS", 4e8)
ref_size <- env_num("BENCH_REF_SIZE", if (quick) 1e4 else 1e5)

script_path <- local({
  f <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(f) == 1) normalizePath(f) else normalizePath("bench/bench.R", mustWork = FALSE)
})
bench_dir <- dirname(script_path)
repo_root <- dirname(bench_dir)
out_dir <- Sys.getenv("BENCH_OUT", file.path(bench_dir, "results"))
dir.create(out_dir, recursive = TRUE, showWarnings = FALSE)
suffix <- if (quick) "_quick" else ""
csv_path <- file.path(out_dir, paste0("bench", suffix, ".csv"))
png_path <- file.path(out_dir, paste0("pairs_per_s", suffix, ".png"))
ref_dir <- normalizePath(file.path(repo_root, "..", "shared", "reference"), mustWork = FALSE)

# A fresh temporary cache, removed at the end whatever happens.
cache_dir <- tempfile("rkeops-bench-cache-")
set_rkeops_options(cache_dir = cache_dir)
work_dir <- tempfile("rkeops-bench-work-")
dir.create(work_dir)
on.exit_all <- function() {
  unlink(cache_dir, recursive = TRUE, force = TRUE)
  unlink(work_dir, recursive = TRUE, force = TRUE)
}
cleanup_token <- new.env()
invisible(reg.finalizer(cleanup_token, function(e) on.exit_all(), onexit = TRUE))

precisions <- c("float32", "float64")
set_precision <- function(p) if (p == "float32") rkeops_use_float32() else rkeops_use_float64()

s_gauss <- 8
K_knn <- 10
n_check <- 10   # rows checked against a float64 brute force

elapsed <- function() as.numeric(Sys.time())   # microsecond resolution
cpu_now <- function() { p <- proc.time(); p[["user.self"]] + p[["sys.self"]] }

rule <- function(ch = "-", n = 100) cat(strrep(ch, n), "\n", sep = "")
say <- function(...) { cat(sprintf(...), "\n", sep = ""); flush.console() }

machine <- local({
  m <- tryCatch(system2("lscpu", stdout = TRUE, stderr = FALSE), error = function(e) character())
  m <- sub("^Model name:\\s*", "", grep("^Model name:", m, value = TRUE))
  if (length(m)) m[1] else "unknown CPU"
})
# The thread count is set explicitly (all cores allowed, as the default):
# with use_cpu() left at NULL, every call re-detects the cores, which costs a
# few ms per call (see the per-call overhead section).
threads <- rkeops:::default_threads()
use_cpu(threads)
blas <- tryCatch(sessionInfo()$BLAS, error = function(e) "")

rule("=")
say("rkeops benchmark  %s  (%s mode)", format(Sys.time(), "%Y-%m-%d %H:%M"), if (quick) "quick" else "full")
say("machine: %s, %d cores; rkeops threads: %d; rkeops %s; %s",
    machine, parallel::detectCores(), threads, as.character(utils::packageVersion("rkeops")),
    R.version.string)
say("BLAS: %s", blas)
say("sizes M = N: %s; temporary cache: %s", paste(format(sizes, scientific = TRUE), collapse = ", "),
    cache_dir)
rule("=")

# ------------------------------------------------------------------- cases --
#
# Each case: the formula and declarations (dv = dimension of b), how to build
# the inputs from (X, Y, B, E), the dense R computation, and a float64 brute
# force for a few rows.

gauss_formula <- "Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)"
gauss_args <- function(dv) c("x = Vi(3)", "y = Vj(3)", sprintf("b = Vj(%d)", dv), "s = Pm(1)")
grad_formula <- "Sum_Reduction(Grad(Exp(-s * SqNorm2(x - y)) * b, x, e), 0)"
grad_args <- function(dv) c(gauss_args(dv), sprintf("e = Vi(%d)", dv))

# squared distances from point X[i, ] to every row of Y, in double, exactly
row_d2 <- function(X, Y, i) (Y[, 1] - X[i, 1])^2 + (Y[, 2] - X[i, 2])^2 + (Y[, 3] - X[i, 3])^2

# dense M x N squared distances through BLAS (tcrossprod)
dense_d2 <- function(X, Y) {
  D2 <- outer(rowSums(X^2), rowSums(Y^2), "+")
  D2 <- D2 - 2 * tcrossprod(X, Y)
  D2
}

cases <- list(
  list(name = "gauss_dv1", dv = 1, kind = "gauss"),
  list(name = "gauss_dv6", dv = 6, kind = "gauss"),
  list(name = "grad_x_dv1", dv = 1, kind = "grad"),
  list(name = "grad_x_dv6", dv = 6, kind = "grad"),
  list(name = "lse", dv = 0, kind = "lse"),
  list(name = "knn_k10", dv = 0, kind = "knn")
)
case_sel <- Sys.getenv("BENCH_CASES", "")
if (nzchar(case_sel)) {
  keep <- trimws(strsplit(case_sel, ",", fixed = TRUE)[[1]])
  bad <- setdiff(keep, vapply(cases, `[[`, "", "name"))
  if (length(bad)) stop("unknown BENCH_CASES: ", paste(bad, collapse = ", "))
  cases <- Filter(function(cs) cs$name %in% keep, cases)
}

case_inputs <- function(cs, d) {
  switch(cs$kind,
         gauss = list(d$X, d$Y, d$B[[as.character(cs$dv)]], s_gauss),
         grad = list(d$X, d$Y, d$B[[as.character(cs$dv)]], s_gauss, d$E[[as.character(cs$dv)]]),
         lse = list(d$X, d$Y),
         knn = list(d$X, d$Y))
}

# dense R computation (double, BLAS), the whole M x N matrix in memory
dense_r <- function(cs, d) {
  X <- d$X; Y <- d$Y
  switch(cs$kind,
    gauss = {
      B <- d$B[[as.character(cs$dv)]]
      Kmat <- exp(-s_gauss * dense_d2(X, Y))
      Kmat %*% B
    },
    grad = {
      B <- d$B[[as.character(cs$dv)]]; E <- d$E[[as.character(cs$dv)]]
      # grad_i = -2 s sum_j k_ij (e_i . b_j) (x_i - y_j)
      W <- exp(-s_gauss * dense_d2(X, Y)) * tcrossprod(E, B)
      -2 * s_gauss * (rowSums(W) * X - W %*% Y)
    },
    lse = {
      F <- -dense_d2(X, Y)
      m <- F[cbind(seq_len(nrow(F)), max.col(F, ties.method = "first"))]
      matrix(m + log(rowSums(exp(F - m))), ncol = 1)
    },
    knn = {
      Dt <- dense_d2(Y, X)   # N x M: the distances of point i are column i
      K <- K_knn
      idx <- vapply(seq_len(ncol(Dt)), function(i) {
        v <- Dt[, i]
        kth <- sort.int(v, partial = K)[K]
        w <- which(v <= kth)
        w[order(v[w])][seq_len(K)]
      }, integer(K))
      t(idx) - 1L   # 0-based, as rkeops
    })
}

# float64 brute force for rows `rows`, and the relative error of `res` there
# (norm-wise: ||res - ref|| / ||ref|| over the checked rows). For kNN the
# returned neighbours' exact distances are compared with the K true smallest
# distances (robust to near-ties), and index mismatches are counted.
check_rows <- function(cs, d, res, rows) {
  X <- d$X; Y <- d$Y
  num <- 0; den <- 0; mism <- NA_integer_
  if (cs$kind == "knn") mism <- 0L
  for (i in rows) {
    d2 <- row_d2(X, Y, i)
    if (cs$kind == "gauss") {
      ref <- drop(crossprod(exp(-s_gauss * d2), d$B[[as.character(cs$dv)]]))
      got <- res[i, ]
    } else if (cs$kind == "grad") {
      B <- d$B[[as.character(cs$dv)]]; E <- d$E[[as.character(cs$dv)]]
      w <- exp(-s_gauss * d2) * drop(B %*% E[i, ])
      diff <- sweep(-Y, 2, X[i, ], "+")
      ref <- -2 * s_gauss * colSums(w * diff)
      got <- res[i, ]
    } else if (cs$kind == "lse") {
      f <- -d2; m <- max(f)
      ref <- m + log(sum(exp(f - m)))
      got <- res[i, 1]
    } else {
      true_idx <- order(d2)[seq_len(K_knn)]
      ref <- d2[true_idx]
      got_idx <- as.integer(round(res[i, ])) + 1L
      got <- if (all(got_idx >= 1 & got_idx <= length(d2))) d2[got_idx] else rep(NaN, K_knn)
      mism <- mism + sum(got_idx != true_idx)
    }
    num <- num + sum((got - ref)^2); den <- den + sum(ref^2)
  }
  list(rel_err = sqrt(num / den), mismatches = mism)
}

make_data <- function(n, need_dv) {
  set.seed(1000 + n %% 997)
  M <- N <- as.integer(n)
  d <- list(X = matrix(runif(M * 3), M, 3), Y = matrix(runif(N * 3), N, 3), B = list(), E = list())
  for (dv in need_dv) {
    d$B[[as.character(dv)]] <- matrix(rnorm(N * dv), N, dv)
    d$E[[as.character(dv)]] <- matrix(rnorm(M * dv), M, dv)
  }
  d
}

# ------------------------------------------------------------ compilation --
#
# Cold: the first keops_kernel() of each formula and precision on the fresh
# cache. Then the in-session repeat (a hash look-up), and a second R process
# on the same cache (a cache hit from disk: dlopen).

grad_via <- NA_character_
make_op <- function(cs, base_op = NULL) {
  switch(cs$kind,
    gauss = keops_kernel(gauss_formula, gauss_args(cs$dv)),
    grad = {
      if (identical(grad_via, "keops_grad")) keops_grad(base_op, "x")
      else keops_kernel(grad_formula, grad_args(cs$dv))
    },
    lse = keops_kernel("LogSumExp_Reduction(-SqNorm2(x - y), 0)", c("x = Vi(3)", "y = Vj(3)")),
    knn = keops_kernel(sprintf("ArgKMin_Reduction(SqNorm2(x - y), %d, 0)", K_knn),
                       c("x = Vi(3)", "y = Vj(3)")))
}

# keops_grad() is used when it works (it is checked against the direct
# Grad formula on a small problem), else the direct formula.
grad_cases <- Filter(function(cs) cs$kind == "grad", cases)
base_ops <- list()   # gauss operators the gradients are taken from
if (length(grad_cases)) {
  tmp_cache <- NULL
  grad_via <- tryCatch({
    tmp_cache <- tempfile("rkeops-bench-gradprobe-")
    set_rkeops_options(cache_dir = tmp_cache)
    rkeops_use_float64()
    b0 <- keops_kernel(gauss_formula, gauss_args(2))
    g0 <- keops_grad(b0, "x")
    g1 <- keops_kernel(grad_formula, grad_args(2))
    set.seed(1)
    inp <- list(matrix(runif(60), 20), matrix(runif(45), 15), matrix(rnorm(30), 15), 8,
                matrix(rnorm(40), 20))
    r0 <- g0(inp); r1 <- g1(inp)
    if (isTRUE(all.equal(r0, r1, tolerance = 1e-10))) "keops_grad" else {
      say("note: keops_grad() disagrees with the direct Grad formula; gradients use the formula")
      "Grad formula"
    }
  }, error = function(e) {
    say("note: keops_grad() failed (%s); gradients use the direct Grad formula",
        conditionMessage(e))
    "Grad formula"
  })
  if (!is.null(tmp_cache)) unlink(tmp_cache, recursive = TRUE)
  set_rkeops_options(cache_dir = cache_dir)
}
# (the probe uses Dv = 2, which no case below uses, so it does not warm
# the in-session table of loaded operators for them)

say("gradients computed with: %s", if (is.na(grad_via)) "-" else grad_via)
say("")
say("Compiling every operator (cold cache) ...")

ops <- list()
compile <- data.frame()
for (cs in cases) {
  for (p in precisions) {
    set_precision(p)
    base <- NULL
    if (cs$kind == "grad" && identical(grad_via, "keops_grad")) {
      key <- paste0("gauss", cs$dv, p)
      if (is.null(base_ops[[key]])) base_ops[[key]] <- make_op(list(kind = "gauss", dv = cs$dv))
      base <- base_ops[[key]]
    }
    t0 <- elapsed()
    op <- make_op(cs, base)
    t_cold <- elapsed() - t0
    t0 <- elapsed()
    op2 <- make_op(cs, base)
    t_session <- elapsed() - t0
    ops[[cs$name]][[p]] <- op
    compile <- rbind(compile, data.frame(case = cs$name, precision = p, cold_s = t_cold,
                                         session_repeat_s = t_session, new_process_s = NA_real_))
  }
}

# A new R process on the same cache: time keops_kernel() (a hit from disk).
child <- file.path(work_dir, "child.R")
writeLines(c(
  "suppressPackageStartupMessages(library(rkeops))",
  sprintf("set_rkeops_options(cache_dir = %s)", deparse(cache_dir)),
  sprintf("gauss_formula <- %s; grad_formula <- %s", deparse(gauss_formula), deparse(grad_formula)),
  sprintf("K_knn <- %d; grad_via <- %s", K_knn, deparse(grad_via)),
  paste(c("gauss_args <- ", deparse(gauss_args)), collapse = "\n"),
  paste(c("grad_args <- ", deparse(grad_args)), collapse = "\n"),
  paste(c("make_op <- ", deparse(make_op)), collapse = "\n"),
  paste(c("cases <- ", deparse(cases)), collapse = "\n"),
  "for (cs in cases) for (p in c('float32', 'float64')) {",
  "  if (p == 'float32') rkeops_use_float32() else rkeops_use_float64()",
  "  base <- NULL",
  "  if (cs$kind == 'grad' && identical(grad_via, 'keops_grad'))",
  "    base <- make_op(list(kind = 'gauss', dv = cs$dv))",
  "  t0 <- as.numeric(Sys.time())",
  "  op <- make_op(cs, base)",
  "  cat(sprintf('CHILD %s %s %.6f\\n', cs$name, p, as.numeric(Sys.time()) - t0))",
  "}"), child)
rscript <- file.path(R.home("bin"), "Rscript")
t0 <- elapsed()
child_out <- tryCatch(suppressWarnings(system2(rscript, shQuote(child), stdout = TRUE, stderr = TRUE)),
                      error = function(e) paste("error:", conditionMessage(e)))
t_child_total <- elapsed() - t0
hits <- grep("^CHILD ", child_out, value = TRUE)
if (length(hits)) {
  parts <- strsplit(hits, " ", fixed = TRUE)
  for (pt in parts) {
    k <- compile$case == pt[2] & compile$precision == pt[3]
    compile$new_process_s[k] <- as.numeric(pt[4])
  }
} else {
  say("note: the new-process cache check failed:\n%s", paste(child_out, collapse = "\n"))
}
n_entries <- length(list.dirs(cache_dir, recursive = FALSE))

rule()
say("Compile times (s): cold = first keops_kernel() on an empty cache; new process = a second")
say("R process on the same cache (load from disk); in-session = keops_kernel() again in this session")
rule()
say("%-12s %-9s %10s %14s %14s", "case", "precision", "cold", "new process", "in-session")
for (k in seq_len(nrow(compile))) {
  say("%-12s %-9s %10.3f %14.4f %14.5f", compile$case[k], compile$precision[k], compile$cold_s[k],
      compile$new_process_s[k], compile$session_repeat_s[k])
}
say("median cold %.3f s, new process %.4f s, in-session %.5f s; %d cache entries; child Rscript total %.2f s",
    median(compile$cold_s), median(compile$new_process_s, na.rm = TRUE),
    median(compile$session_repeat_s), n_entries, t_child_total)
rule()

# ------------------------------------------------------- per-call overhead --
#
# A tiny call (M = N = 100, 1e4 pairs) measures the fixed cost of a call:
# with the thread count left at its default (use_cpu(), NULL) and set
# explicitly (use_cpu(threads)).

overhead <- data.frame()
if (any(vapply(cases, function(cs) cs$kind == "gauss", TRUE))) {
  cs0 <- Filter(function(cs) cs$kind == "gauss", cases)[[1]]
  set_precision("float32")
  op0 <- ops[[cs0$name]][["float32"]]
  set.seed(7)
  inp0 <- list(matrix(runif(300), 100), matrix(runif(300), 100), matrix(rnorm(100 * cs0$dv), 100), s_gauss)
  for (mode in c("use_cpu()", sprintf("use_cpu(%d)", threads))) {
    if (mode == "use_cpu()") use_cpu() else use_cpu(threads)
    op0(inp0)
    ts <- vapply(seq_len(if (quick) 10 else 50), function(r) {
      t0 <- elapsed(); op0(inp0); elapsed() - t0 }, 0)
    overhead <- rbind(overhead, data.frame(case = cs0$name, threads_setting = mode, size = 100,
                                           median_s = stats::median(ts), min_s = min(ts)))
  }
  use_cpu(threads)
  say("")
  say("Per-call overhead (%s float32, M = N = 100, median of %d calls):", cs0$name,
      if (quick) 10 else 50)
  for (k in seq_len(nrow(overhead))) {
    say("  %-14s median %8.1f us   min %8.1f us", overhead$threads_setting[k],
        1e6 * overhead$median_s[k], 1e6 * overhead$min_s[k])
  }
  rule()
}

# ------------------------------------------------------------------ timing --

n_reps <- function(pairs) {
  if (quick) return(1L)
  if (pairs <= 1e6) 15L else if (pairs <= 1e8) 7L else if (pairs <= 1e10) 3L else 1L
}
n_reps_r <- function(pairs) {
  if (quick) return(1L)
  if (pairs <= 1e6) 5L else if (pairs <= 1e8) 3L else 1L
}

time_call <- function(f, reps, warmup = TRUE) {
  if (warmup) res <- f()
  ts <- numeric(reps); cs <- numeric(reps)
  for (r in seq_len(reps)) {
    t0 <- elapsed(); c0 <- cpu_now()
    res <- f()
    ts[r] <- elapsed() - t0; cs[r] <- cpu_now() - c0
  }
  list(time = stats::median(ts), cpu = stats::median(cs), res = res, times = ts)
}

fmt_num <- function(x, fmt) ifelse(is.na(x), "-", sprintf(fmt, x))

# One line of the results table (also used for bench_table.txt).
table_header <- function() {
  c(sprintf("%-12s %-9s %7s %10s %10s %10s %10s %8s %9s %8s  %s", "case", "precision", "M=N",
            "rkeops s", "pairs/s", "R s", "R pairs/s", "ratio", "rel.err", "cpu/wall", "note"),
    strrep("-", 100))
}
format_row <- function(row) {
  note <- row$note
  if (!is.na(row$knn_idx_mismatch)) {
    note <- paste0(sprintf("idx mismatches %d/%d", row$knn_idx_mismatch, row$checked_values),
                   if (nzchar(note)) "; " else "", note)
  }
  sprintf("%-12s %-9s %7s %10s %10s %10s %10s %8s %9s %8s  %s", row$case, row$precision,
          format(row$size, scientific = TRUE),
          fmt_num(row$rkeops_s, "%.4f"), fmt_num(row$rkeops_pairs_per_s, "%.3e"),
          fmt_num(row$r_s, "%.3f"), fmt_num(row$r_pairs_per_s, "%.3e"),
          fmt_num(row$ratio, "%.1f"), fmt_num(row$rel_err, "%.1e"),
          # CPU time has a 1 ms resolution: no ratio for short calls
          fmt_num(if (isTRUE(row$rkeops_s >= 0.05)) row$rkeops_cpu_s / row$rkeops_s else NA, "%.2f"),
          note)
}

results <- data.frame()
last_time <- list()   # case/precision -> c(size, time), to estimate the next size
need_dv <- unique(unlist(lapply(cases, function(cs) if (cs$dv > 0) cs$dv)))

say("")
for (l in table_header()) say("%s", l)
for (n in sizes) {
  d <- make_data(n, need_dv)
  pairs <- n * n
  rows <- unique(round(seq(1, n, length.out = min(n_check, n))))
  for (cs in cases) {
    # dense R (double, same for both precisions), only if the matrix fits
    r_time <- NA_real_
    r_err <- NA_real_
    r_skip <- NULL
    if (pairs > r_max_pairs) {
      r_skip <- sprintf("not run, M*N > %.0e (dense matrix too big)", r_max_pairs)
    }
    r_done <- FALSE
    for (p in precisions) {
      key <- paste(cs$name, p)
      est <- NA_real_
      if (!is.null(last_time[[key]])) est <- last_time[[key]][2] * pairs / last_time[[key]][1]^2
      row <- data.frame(case = cs$name, precision = p, size = n, pairs = pairs,
                        rkeops_s = NA_real_, rkeops_cpu_s = NA_real_, rkeops_pairs_per_s = NA_real_,
                        r_s = NA_real_, r_pairs_per_s = NA_real_, ratio = NA_real_,
                        rel_err = NA_real_, r_rel_err = NA_real_, knn_idx_mismatch = NA_integer_,
                        checked_values = NA_integer_, reps = 0L,
                        note = "")
      if (!is.na(est) && est > max_call) {
        row$note <- sprintf("skipped: one call estimated at %.3g s", est)
      } else {
        set_precision(p)
        op <- ops[[cs$name]][[p]]
        inp <- case_inputs(cs, d)
        reps <- n_reps(pairs)
        tm <- time_call(function() op(inp), reps)
        chk <- check_rows(cs, d, tm$res, rows)
        row$rkeops_s <- tm$time; row$rkeops_cpu_s <- tm$cpu
        row$rkeops_pairs_per_s <- pairs / tm$time
        row$rel_err <- chk$rel_err; row$knn_idx_mismatch <- chk$mismatches
        if (cs$kind == "knn") row$checked_values <- length(rows) * K_knn
        row$reps <- reps
        last_time[[key]] <- c(n, tm$time)
        rm(tm); invisible(gc(verbose = FALSE))
      }
      if (is.null(r_skip) && !r_done) {
        invisible(gc(verbose = FALSE))
        rt <- tryCatch(time_call(function() dense_r(cs, d), n_reps_r(pairs), warmup = FALSE),
                       error = function(e) { r_skip <<- conditionMessage(e); NULL })
        if (!is.null(rt)) {
          r_time <- rt$time
          r_err <- check_rows(cs, d, rt$res, rows)$rel_err
        }
        rm(rt); invisible(gc(verbose = FALSE))
        r_done <- TRUE
      }
      if (!is.na(r_time)) {
        row$r_s <- r_time; row$r_pairs_per_s <- pairs / r_time
        row$ratio <- row$rkeops_pairs_per_s / row$r_pairs_per_s
        row$r_rel_err <- r_err
      }
      if (!is.null(r_skip)) row$note <- paste0(row$note, if (nzchar(row$note)) "; ", "R: ", r_skip)
      results <- rbind(results, row)
      say("%s", format_row(row))
    }
  }
  rm(d); invisible(gc(verbose = FALSE))
}
rule()

# --------------------------------------------------------------- reference --

ref <- data.frame()
ref_src <- file.path(ref_dir, "gauss_ref.cpp")
gauss_cases <- Filter(function(cs) cs$kind == "gauss", cases)
if (!file.exists(ref_src)) {
  say("Reference kernel: %s not found, comparison skipped", ref_src)
} else if (!length(gauss_cases)) {
  say("Reference kernel: no Gaussian case selected, comparison skipped")
} else {
  ref_build <- file.path(work_dir, "ref")
  dir.create(ref_build)
  file.copy(list.files(ref_dir, full.names = TRUE), ref_build)
  old_wd <- setwd(ref_build)
  out <- suppressWarnings(system2("g++", c("-O3", "-march=native", "-fopenmp", "gauss_ref.cpp",
                                           "-o", "gauss_ref"), stdout = TRUE, stderr = TRUE))
  ok <- file.exists("gauss_ref")
  if (!ok) say("Reference kernel: compile failed:\n%s", paste(out, collapse = "\n"))
  setwd(old_wd)
  if (ok) {
    say("")
    say("Reference kernel (%s, float32, AVX-512, M = N = %s), vs rkeops float32 timed in this run:",
        ref_src, format(ref_size, scientific = TRUE))
    for (cs in gauss_cases) {
      line <- suppressWarnings(system2(file.path(ref_build, "gauss_ref"),
                                       c(format(ref_size, scientific = FALSE), cs$dv),
                                       stdout = TRUE, stderr = TRUE))
      line <- grep("pairs_per_s=", line, value = TRUE)
      grab <- function(key) {
        m <- regmatches(line, regexpr(paste0(key, "=[-+0-9.eE]+"), line))
        if (length(m)) as.numeric(sub(".*=", "", m)) else NA_real_
      }
      ref_pps <- grab("pairs_per_s"); ref_cpu_pps <- grab("pairs_per_cpu_s_x_threads")
      # rkeops float32 at that size: from the table if measured, else now
      k <- results$case == cs$name & results$precision == "float32" & results$size == ref_size &
        !is.na(results$rkeops_s)
      if (any(k)) {
        rk_s <- results$rkeops_s[k][1]; rk_cpu <- results$rkeops_cpu_s[k][1]
      } else {
        d <- make_data(ref_size, cs$dv)
        set_precision("float32")
        tm <- time_call(function() ops[[cs$name]][["float32"]](case_inputs(cs, d)), n_reps(ref_size^2))
        rk_s <- tm$time; rk_cpu <- tm$cpu
        rm(d, tm); invisible(gc(verbose = FALSE))
      }
      rk_pps <- ref_size^2 / rk_s
      rk_cpu_pps <- ref_size^2 / rk_cpu * threads
      ref <- rbind(ref, data.frame(case = cs$name, dv = cs$dv, size = ref_size,
                                   ref_pairs_per_s = ref_pps, rkeops_pairs_per_s = rk_pps,
                                   ratio = rk_pps / ref_pps,
                                   ref_pairs_per_cpu_s_x_threads = ref_cpu_pps,
                                   rkeops_pairs_per_cpu_s_x_threads = rk_cpu_pps,
                                   cpu_ratio = rk_cpu_pps / ref_cpu_pps))
      say("  %s", if (length(line)) line[1] else "(no output)")
    }
    say("%-12s %4s %12s %12s %8s %16s %16s %9s", "case", "Dv", "ref pairs/s", "rkeops", "ratio",
        "ref cpu-based", "rkeops cpu-based", "ratio")
    for (k in seq_len(nrow(ref))) {
      say("%-12s %4d %12.3e %12.3e %8.2f %16.3e %16.3e %9.2f", ref$case[k], ref$dv[k],
          ref$ref_pairs_per_s[k], ref$rkeops_pairs_per_s[k], ref$ratio[k],
          ref$ref_pairs_per_cpu_s_x_threads[k], ref$rkeops_pairs_per_cpu_s_x_threads[k],
          ref$cpu_ratio[k])
    }
    say("(cpu-based: pairs per CPU-second x threads, less sensitive to a loaded machine)")
  }
}
rule()

# ------------------------------------------------------------------ output --

results$grad_via <- ifelse(grepl("^grad", results$case), grad_via, "")
utils::write.csv(results, csv_path, row.names = FALSE)
writeLines(c(sprintf("# %s, %s, %d cores, rkeops threads %d, %s", format(Sys.time(), "%Y-%m-%d"),
                     machine, parallel::detectCores(), threads, if (quick) "quick" else "full"),
             table_header(), vapply(split(results, seq_len(nrow(results))), format_row, "")),
           sub("\\.csv$", "_table.txt", csv_path))
utils::write.csv(compile, sub("\\.csv$", "_compile.csv", csv_path), row.names = FALSE)
if (nrow(overhead)) utils::write.csv(overhead, sub("\\.csv$", "_overhead.csv", csv_path), row.names = FALSE)
if (nrow(ref)) utils::write.csv(ref, sub("\\.csv$", "_reference.csv", csv_path), row.names = FALSE)

plot_results <- function() {
  ok <- tryCatch({ grDevices::png(png_path, width = 1100, height = 750, res = 110, type = "cairo"); TRUE },
                 error = function(e) FALSE, warning = function(w) FALSE)
  if (!ok) grDevices::png(png_path, width = 1100, height = 750, res = 110)
  on.exit(grDevices::dev.off())
  ok_rows <- !is.na(results$rkeops_pairs_per_s)
  yr <- range(c(results$rkeops_pairs_per_s, results$r_pairs_per_s, ref$ref_pairs_per_s), na.rm = TRUE)
  xr <- range(results$size)
  graphics::par(mar = c(4.5, 4.5, 3, 12), xpd = FALSE)
  graphics::plot(NA, xlim = xr, ylim = yr * c(0.7, 1.4), log = "xy", xlab = "M = N",
                 ylab = "pairs per second", xaxt = "n",
                 main = sprintf("rkeops vs dense R (BLAS), %s, %d threads", machine, threads))
  graphics::axis(1, at = sizes, labels = format(sizes, scientific = TRUE))
  graphics::grid(equilogs = FALSE)
  cols <- rep(c("#E41A1C", "#377EB8", "#4DAF4A", "#984EA3", "#FF7F00", "#A65628", "#F781BF",
                "#666666"), length.out = length(cases))
  names(cols) <- vapply(cases, `[[`, "", "name")
  leg <- list(txt = character(), col = character(), lty = numeric(), pch = numeric())
  add_leg <- function(txt, col, lty, pch) {
    leg$txt <<- c(leg$txt, txt); leg$col <<- c(leg$col, col)
    leg$lty <<- c(leg$lty, lty); leg$pch <<- c(leg$pch, pch)
  }
  for (cs in cases) {
    for (p in precisions) {
      k <- results$case == cs$name & results$precision == p & ok_rows
      if (any(k)) {
        graphics::lines(results$size[k], results$rkeops_pairs_per_s[k], col = cols[cs$name],
                        lwd = 2, lty = 1, pch = if (p == "float32") 16 else 1, type = "o")
        add_leg(paste(cs$name, p), cols[cs$name], 1, if (p == "float32") 16 else 1)
      }
    }
    k <- results$case == cs$name & results$precision == "float32" & !is.na(results$r_pairs_per_s)
    if (any(k)) {
      graphics::lines(results$size[k], results$r_pairs_per_s[k], col = cols[cs$name], lwd = 1.5,
                      lty = 2, pch = 4, type = "o")
      add_leg(paste(cs$name, "R dense"), cols[cs$name], 2, 4)
    }
  }
  if (nrow(ref)) {
    graphics::points(ref$size, ref$ref_pairs_per_s, pch = 8, cex = 1.6, lwd = 2)
    add_leg("reference kernel (f32)", "black", NA, 8)
  }
  graphics::par(xpd = TRUE)
  graphics::legend("topleft", inset = c(1.01, 0), legend = leg$txt, col = leg$col, lty = leg$lty, pch = leg$pch, cex = 0.7,
                   bty = "n", lwd = 1.5)
}
plot_ok <- tryCatch({ plot_results(); TRUE }, error = function(e) {
  say("plot failed: %s", conditionMessage(e)); FALSE })

say("wrote %s", csv_path)
say("wrote %s and %s", sub("\\.csv$", "_compile.csv", csv_path),
    if (nrow(ref)) sub("\\.csv$", "_reference.csv", csv_path) else "(no reference table)")
if (plot_ok) say("wrote %s", png_path)

on.exit_all()
say("removed the temporary cache %s", cache_dir)
