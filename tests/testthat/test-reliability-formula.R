# Reliability of the formula layer (issue 12): formulas of any length or
# depth end in a classed error or work, never in a C stack overflow (checked
# in a child R with a 1 MB stack, where the old recursion died at about 1000
# terms); absurd sizes are refused before anything is compiled; constants
# that fold to Inf or NaN compile and compute as IEEE says; the internal
# entry points check their arguments; long or malformed formulas give short,
# valid messages.

# Runs `lines` (R code) in a child Rscript whose C stack is limited to 1 MB,
# and returns its output lines and exit status (a crash shows as 139 or so).
run_with_small_stack <- function(lines) {
  script <- tempfile(fileext = ".R")
  on.exit(unlink(script))
  writeLines(c(sprintf(".libPaths(%s)", paste(deparse(.libPaths()), collapse = "")),
               "suppressMessages(library(rkeops))", lines), script)
  rscript <- file.path(R.home("bin"), "Rscript")
  cmd <- sprintf("ulimit -s 1024 && exec %s --vanilla %s 2>&1", shQuote(rscript), shQuote(script))
  out <- suppressWarnings(system2("sh", c("-c", shQuote(cmd)), stdout = TRUE, timeout = 120))
  list(out = trimws(out),
       status = if (is.null(attr(out, "status"))) 0L else as.integer(attr(out, "status")))
}

# What the engine says about `formula` (source generation only: nothing is
# compiled): "OK", or the error's class and message.
engine_says <- function(formula, args = "x = Vi(3)") {
  res <- rkeops:::rk_generate_source(formula, args, "float64")
  if (is.list(res)) list(class = res$error, message = res$message) else list(class = "OK")
}

red <- function(body) paste0("Sum_Reduction(", body, ", 0)")

test_that("100,000-term chains and deep nesting end in a stated limit, with a 1 MB C stack", {
  skip_on_os("windows")  # ulimit -s
  child <- run_with_small_stack(c(
    "first <- function(f, a = 'x = Vi(3)') {",
    "  r <- rkeops:::rk_generate_source(f, a, 'float64')",
    "  cat(if (is.list(r)) paste(r$error, sub('\\n.*', '', r$message)) else 'OK', '\\n')",
    "}",
    "red <- function(body) paste0('Sum_Reduction(', body, ', 0)')",
    "first(red(paste(rep('x', 1e5), collapse = '+')))",
    "first(red(paste(rep('x*x', 5e4), collapse = '-')))",
    "first(red(paste0(strrep('(', 1e5), 'x', strrep(')', 1e5))))",
    "first(red(paste0(strrep('Exp(', 1e5), 'x', strrep(')', 1e5))))",
    "first(red(paste0(strrep('-', 1e5), 'x')))",
    "first(red(paste0('x', strrep('**1', 1e5))))",
    "first(red(paste0(strrep('Grad(', 30), 'Grad(Exp(-SqNorm2(x)), x, 1)', strrep(', x, x)', 30))))",
    # just under the limits: accepted, and generated with the small stack
    "first(red(paste(rep('w', 9999), collapse = '+')), 'w = Vi(1)')",
    "first(red(paste0(strrep('Exp(', 63), 'x', strrep(')', 63))))",
    "first(red(paste0(strrep('(', 63), 'x', strrep(')', 63))))",
    # a Jacobian is a chain of 100 Concat, sliced at its far end
    "first(red('Elem(GradMatrix(Exp(x), x), 9999)'), 'x = Vi(100)')",
    "cat('child done\\n')"))
  expect_identical(child$status, 0L)
  out <- child$out
  expect_length(out, 12)
  expect_identical(out[12], "child done")
  ops <- function(n, pos) {
    sprintf(paste("rkeops_formula_error the formula has %d operations; at most 10000 are",
                  "supported (this is operation 10001) at position %d"), n, pos)
  }
  nesting <- function(pos) {
    sprintf(paste("rkeops_formula_error nesting deeper than 64 levels (parentheses, function",
                  "calls, signs and '**') is not supported at position %d"), pos)
  }
  # Sum_Reduction( is an operation and nesting level 1; operation 10001 is
  # the 10000th operator of the chain, level 65 the 64th '(' or 'Exp('
  expect_identical(out[1], ops(1e5, 14 + 2 * 10000 - 1))
  expect_identical(out[2], ops(1e5, 14 + 2 * 10000 - 1))
  expect_identical(out[3], nesting(14 + 63))
  expect_identical(out[4], ops(1e5 + 1, 14 + 4 * (10000 - 1)))  # counted before nesting
  expect_identical(out[5], ops(1e5 + 1, 14 + 10000 - 1))
  expect_identical(out[6], ops(1e5 + 1, 15 + 3 * (10000 - 1)))
  expect_match(out[7], paste("^rkeops_formula_error the formula, with its derivatives expanded,",
                             "has more than 200000 distinct operations, the most rkeops",
                             "supports at position [0-9]+$"))
  expect_identical(out[8:11], rep("OK", 4))
})

test_that("a chain built by a loop keeps left associativity", {
  # x - w + x - w + ... = 51 x - 50 w (right to left it would be x - w)
  f <- red(paste0("x", paste0(rep(c(" - w", " + x"), 50), collapse = "")))
  op <- get_op(f, c("x = Vi(1)", "w = Vj(1)"))
  x <- c(0.5, -2, 3)
  w <- c(1, 3)
  expect_equal(op(list(x, w)), matrix(2 * 51 * x - 50 * sum(w), ncol = 1), tolerance = 1e-6)
})

test_that("absurd sizes are refused before any compile, with the limit", {
  z <- engine_says("Zero_Reduction(100000, 0)", character())
  expect_identical(z$class, "rkeops_formula_error")
  expect_match(z$message, "the dimension of 'Zero_Reduction' is 100000, more than rkeops supports \\(10000\\)")
  tp <- engine_says(red("TensorProd(x, y)"), c("x = Vi(100)", "y = Vi(100)"))
  expect_identical(tp$class, "rkeops_formula_error")
  expect_match(tp$message, paste("^this formula would generate about 30800 scalar operations \\(a",
                                 "component of a variable counts 4\\); at most 16384 are supported,",
                                 "since compile time grows with them"))
  mv <- engine_says(red("MatVecMult(A, b)"), c("A = Vi(10000)", "b = Vj(100)"))
  expect_match(mv$message, "would generate about 50600 scalar operations .*; at most 16384")
  xy <- engine_says(red("x * y"), c("x = Vi(4096)", "y = Vj(4096)"))
  expect_match(xy$message, "would generate about 40960 scalar operations")
  big <- engine_says(red("TensorProd(x, y)"), c("x = Vi(100)", "y = Vi(200)"))
  expect_match(big$message, paste("'TensorProd' of dimensions 100 and 200 has dimension 20000,",
                                  "more than rkeops supports \\(10000\\)"))
  pairs <- engine_says(red("MatVecMult(A, b)"), c("A = Vi(10000)", "b = Vj(10000)"))
  expect_match(pairs$message, "too large \\(at most 1000000 pairs of components\\)")
  # the sizes of a kNN on 1024-dimensional points are legitimate
  for (f in c(red("SqDist(x, y)"), "ArgKMin_Reduction(SqDist(x, y), 10, 0)")) {
    info <- rkeops:::core_call(rkeops:::rk_parse, f, c("x = Vi(1024)", "y = Vj(1024)"))
    expect_identical(info$args$dim, c(1024L, 1024L))
  }
  expect_identical(engine_says(red("TensorProd(x, y)"), c("x = Vi(32)", "y = Vj(32)"))$class, "OK")
})

test_that("constants that fold to Inf or NaN compile and follow IEEE (CPU, GPU emulation)", {
  local_clean_options()
  f <- red(paste("Concat(Concat(x * y * 1e999, y * -1e999),",
                 "Concat(Concat(Exp(1000) - x * y, x + Log(-1) * y), (0 * 1e999) + x * y))"))
  a <- c("x = Vi(1)", "y = Vj(1)")
  src <- rkeops:::rk_generate_source(f, a, "float32")
  expect_true(grepl("rk::cst<T>(__builtin_inf())", src, fixed = TRUE))
  expect_true(grepl("rk::cst<T>((-__builtin_inf()))", src, fixed = TRUE))
  expect_true(grepl('rk::cst<T>(__builtin_nan(""))', src, fixed = TRUE))
  x <- c(1, -1, 0)
  y <- c(1, 2)
  xy <- outer(x, y)
  ref <- cbind(rowSums(xy * Inf), rep(-Inf, 3), rowSums(Inf - xy), rep(NaN, 3), rep(NaN, 3))
  # a new operator per setting: an operator may keep the settings it was made with
  for (setting in list(c("float32", "CPU"), c("float64", "CPU"), c("float64", "GPU_EMULATION"))) {
    set_rkeops_options(precision = setting[1], backend = setting[2])
    op <- keops_kernel(f, a)
    expect_identical(op(list(x, y)), ref, label = paste(setting, collapse = " "))
  }
})

test_that("the internal entry points refuse NULL, garbage and foreign handles (child process)", {
  skip_if_not_installed("callr")
  res <- callr::r(function(cache) {
    suppressMessages(library(rkeops))
    options(rkeops.cache_dir = cache)
    op <- keops_kernel("Sum_Reduction(x * y, 0)", c("x = Vi(2)", "y = Vj(1)"))
    h <- environment(op)$state$loaded[[1]]$ptr
    # what an entry point gives: "error list", "R error", or "value"
    try_it <- function(expr) {
      r <- tryCatch(expr, error = function(e) structure("R error", msg = conditionMessage(e)))
      if (is.list(r) && !is.null(r$error)) return(paste("error list:", r$message))
      if (identical(as.character(r), "R error")) return(paste("R error:", attr(r, "msg")))
      "value"
    }
    run <- function(ptr = h, inputs = list(matrix(1, 3, 2), 2), cats = c(0L, 1L), dims = c(2L, 1L),
                    M = 3, N = 1, tag = 0L, out_cols = 2L, nthreads = 1L) {
      try_it(rkeops:::rk_run(ptr, inputs, cats, dims, M, N, tag, out_cols, FALSE, nthreads))
    }
    expired <- unserialize(serialize(h, NULL))
    foreign <- methods::new("externalptr")
    list(
      good = run(),
      null_ptr = run(ptr = NULL), string_ptr = run(ptr = "op"), foreign_ptr = run(ptr = foreign),
      expired_ptr = run(ptr = expired),
      null_inputs = run(inputs = NULL), short_inputs = run(inputs = list(matrix(1, 3, 2))),
      char_input = run(inputs = list(matrix("a", 3, 2), 2)), null_cats = run(cats = NULL),
      wrong_dims = run(dims = c(200L, 1L)), wrong_cats = run(cats = c(1L, 0L)),
      wrong_len = run(inputs = list(1, 2)), wrong_tag = run(tag = 1L), wrong_cols = run(out_cols = 9L),
      na_M = run(M = NA), neg_N = run(N = -1), frac_M = run(M = 2.5), zero_threads = run(nthreads = 0L),
      na_threads = run(nthreads = NA_integer_),
      parse = try_it(rkeops:::rk_parse(NULL, NULL)),
      generate = try_it(rkeops:::rk_generate_source(NULL, 1, NULL)),
      get = try_it(rkeops:::rk_get_operator("Sum_Reduction(x, 0)", "x = Vi(1)", "float64", NULL,
                                            cache, "0")),
      identity = try_it(rkeops:::rk_compiler_identity(NULL)),
      gpu_source = try_it(rkeops:::rk_gpu_generate_source(NULL, NULL, NULL, NULL, NULL)),
      gpu_garbage = try_it(rkeops:::rk_gpu_generate_source("Sum_Reduction(x, 0)", "x = Vi(1)",
                                                           "float64", "block_sum", "banana")),
      arch = try_it(rkeops:::rk_nvcc_arch_flags(NULL)),
      done = "yes")
  }, args = list(cache = tempfile()), timeout = 60)
  expect_identical(res$done, "yes")
  expect_identical(res$good, "value")
  expect_match(res$null_ptr, "^error list: rk_run: 'ptr' is not an rkeops operator handle")
  expect_match(res$string_ptr, "not an rkeops operator handle")
  expect_match(res$foreign_ptr, "not an rkeops operator handle")
  expect_match(res$expired_ptr, "^error list: this operator is no longer loaded")
  for (k in c("null_inputs", "short_inputs")) expect_match(res[[k]], "'inputs' must be a list of 2 numeric vectors")
  expect_match(res$char_input, "input 1 must be a double vector or matrix")
  expect_match(res$null_cats, "^R error: Not compatible with requested type")  # Rcpp's conversion
  expect_match(res$wrong_dims, "input 1 is declared with category 0 and dimension 200, but the operator has category 0 and dimension 2")
  expect_match(res$wrong_cats, "input 1 is declared with category 1")
  expect_match(res$wrong_len, "input 1 has 1 values, expected 6")
  for (k in c("wrong_tag", "wrong_cols")) expect_match(res[[k]], "'tag' and 'out_cols' do not match the operator")
  for (k in c("na_M", "neg_N", "frac_M")) expect_match(res[[k]], "'M' and 'N' must be whole numbers")
  for (k in c("zero_threads", "na_threads")) expect_match(res[[k]], "'nthreads' must be at least 1")
  for (k in c("parse", "generate", "get", "identity", "gpu_source", "arch"))
    expect_match(res[[k]], "^(R error|error list)", label = k)
  expect_match(res$gpu_garbage, "^(R error|error list)")
})

test_that("a long formula shows a window around the error, within R's message length", {
  check_window <- function(formula, token, position) {
    e <- catch_err(keops_kernel(formula, "x = Vi(3)"))
    expect_s3_class(e, "rkeops_formula_error")
    expect_identical(e$position, position)
    lines <- strsplit(conditionMessage(e), "\n")[[1]]
    expect_length(lines, 3)
    expect_lte(nchar(conditionMessage(e)), 1000)  # options("warning.length") default
    expect_lte(nchar(lines[2]), 2 + 3 + 70 + 3)
    caret <- regexpr("\\^+", lines[3])
    expect_identical(substr(lines[2], caret, caret + attr(caret, "match.length") - 1), token)
    lines
  }
  body <- strrep("x + ", 300)
  end <- check_window(red(paste0(body, "Sqnorm2(x)")), "Sqnorm2", 14 + 1200)
  expect_match(end[1], "^unknown operation 'Sqnorm2' at position 1214 \\(did you mean 'SqNorm2'\\?\\)$")
  expect_match(end[2], "^  \\.\\.\\.x \\+ x .*Sqnorm2\\(x\\), 0\\)$")  # the end: no trailing ...
  gpu <- rkeops:::rk_gpu_generate_source(red(paste0(body, "Sqnorm2(x)")), "x = Vi(3)", "float64",
                                         "block_sum", "gpu_emulation:block=32")
  expect_identical(gpu$message, conditionMessage(catch_err(keops_kernel(red(paste0(body, "Sqnorm2(x)")),
                                                                       "x = Vi(3)"))))
  mid <- check_window(red(paste0(body, "z + ", body, "x")), "z", 14 + 1200)
  expect_match(mid[2], "^  \\.\\.\\..* z \\+ .*\\.\\.\\.$")
  start <- check_window(red(paste0("z + ", body, "x")), "z", 14)
  expect_match(start[2], "^  Sum_Reduction\\(z \\+ x .*\\.\\.\\.$")
  # a quoted subexpression is elided too
  e <- catch_err(keops_kernel(red(paste0("(", body, "x) + y")), c("x = Vi(3)", "y = Vi(2)")))
  expect_match(conditionMessage(e), "dimension mismatch in '\\+': '\\(x \\+ x .*\\.\\.\\..* x\\)' has dimension 3")
  expect_lte(nchar(conditionMessage(e)), 1000)
})

test_that("an invalid UTF-8 byte is named; the nesting limit is stated", {
  e <- catch_err(keops_kernel("Sum_Reduction(x\xff + x, 0)", "x = Vi(3)"))
  expect_s3_class(e, "rkeops_formula_error")
  expect_true(validUTF8(conditionMessage(e)))
  expect_identical(strsplit(conditionMessage(e), "\n")[[1]],
                   c(paste("invalid character (byte 0xFF) at position 15 (the formula is not valid",
                           "UTF-8 text: use ASCII names and operators)"),
                     "  Sum_Reduction(x? + x, 0)", "                 ^"))
  e <- catch_err(keops_kernel("Sum_Reduction(x \xc3\x28 x, 0)", "x = Vi(3)"))  # truncated sequence
  expect_match(conditionMessage(e), "^invalid character \\(byte 0xC3\\) at position 16")
  e <- catch_err(keops_kernel(red(paste0(strrep("(", 64), "x", strrep(")", 64))), "x = Vi(3)"))
  expect_match(conditionMessage(e), "^nesting deeper than 64 levels .* is not supported at position 77")
})
