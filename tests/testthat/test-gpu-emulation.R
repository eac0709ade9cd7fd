# The GPU kernel (inst/include/rkeops/gpu_kernel.h), compiled for the
# emulation target (the same source, blocks' threads run as loops), against
# the CPU backend: every reduction, both axes, both precisions, with sizes
# that are not multiples of the block size (partial tiles, tails, the
# grid-stride loop over rows, chunks of output rows, chunks of the reduced
# side).

M <- 45
N <- 77
X <- rand_mat(M, 2, seed = 11)
Y <- rand_mat(N, 2, seed = 12)
BI <- rand_mat(M, 2, seed = 13, lo = 0.5, hi = 2)
BJ <- rand_mat(N, 2, seed = 14, lo = 0.5, hi = 2)
S <- 1.7

# Runs `formula` on the CPU and through the emulated GPU kernel, in
# `precision`, and returns both results.
cpu_and_emulation <- function(formula, args, input, precision, block = 32L, sum_scheme = "block_sum") {
  local_clean_options()
  set_rkeops_options(precision = precision)
  op <- keops_kernel(formula, args, sum_scheme = sum_scheme)
  cpu <- op(input)
  set_rkeops_options(backend = "GPU_EMULATION", gpu_block_size = block)
  emu <- op(input)
  list(cpu = cpu, emu = emu)
}

# Per reduction: the formula (%d = axis) and the columns holding indices.
reductions <- list(
  Sum = list(f = "Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, %d)", idx = integer()),
  Min = list(f = "Min_Reduction(Square(x - y) + b, %d)", idx = integer()),
  Max = list(f = "Max_Reduction(Square(x - y) + b, %d)", idx = integer()),
  ArgMin = list(f = "ArgMin_Reduction(Square(x - y) + b, %d)", idx = 1:2),
  ArgMax = list(f = "ArgMax_Reduction(Square(x - y) + b, %d)", idx = 1:2),
  Min_ArgMin = list(f = "Min_ArgMin_Reduction(Square(x - y) + b, %d)", idx = 3:4),
  Max_ArgMax = list(f = "Max_ArgMax_Reduction(Square(x - y) + b, %d)", idx = 3:4),
  KMin = list(f = "KMin_Reduction(Square(x - y) + b, 5, %d)", idx = integer()),
  ArgKMin = list(f = "ArgKMin_Reduction(Square(x - y) + b, 5, %d)", idx = 1:10),
  KMin_ArgKMin = list(f = "KMin_ArgKMin_Reduction(Square(x - y) + b, 5, %d)",
                      idx = as.vector(outer(3:4, 4 * (0:4), "+"))),
  LogSumExp = list(f = "LogSumExp_Reduction(-s * SqNorm2(x - y), %d)", idx = integer()),
  LogSumExpWeight = list(f = "LogSumExpWeight_Reduction(-s * SqNorm2(x - y), b, %d)", idx = integer()),
  SumSoftMaxWeight = list(f = "SumSoftMaxWeight_Reduction(-s * SqNorm2(x - y), b, %d)", idx = integer()),
  Max_SumShiftExp = list(f = "Max_SumShiftExp_Reduction(-s * SqNorm2(x - y) + Sum(b), %d)",
                         idx = integer()),
  Max_SumShiftExpWeight = list(f = "Max_SumShiftExpWeight_Reduction(-s * SqNorm2(x - y), %d, b)",
                               idx = integer()),
  Zero = list(f = "Zero_Reduction(3, %d)", idx = integer())
)

# b lives on the reduced side, so that every input goes through the tiles.
args_for <- function(axis) {
  c("x = Vi(2)", "y = Vj(2)", if (axis == 0) "b = Vj(2)" else "b = Vi(2)", "s = Pm(1)")
}
input_for <- function(axis) list(X, Y, if (axis == 0) BJ else BI, S)

for (name in names(reductions)) {
  test_that(sprintf("GPU emulation: %s agrees with the CPU (both axes, float32 and float64)", name), {
    r <- reductions[[name]]
    for (precision in c("float64", "float32")) {
      for (axis in 0:1) {
        res <- cpu_and_emulation(sprintf(r$f, axis), args_for(axis), input_for(axis), precision)
        info <- sprintf("%s, axis %d, %s", name, axis, precision)
        expect_equal(dim(res$emu), dim(res$cpu), info = info)
        expect_true(nrow(res$emu) == if (axis == 0) M else N, info = info)
        vals <- setdiff(seq_len(ncol(res$cpu)), r$idx)
        if (length(vals)) {
          err <- rel_err(res$emu[, vals], res$cpu[, vals])
          expect_true(err <= tol_for(precision), info = sprintf("%s: relative error %.3g", info, err))
        }
        if (length(r$idx)) expect_identical(res$emu[, r$idx], res$cpu[, r$idx], info = info)
      }
    }
  })
}

# ---- a reduced side cut into chunks ------------------------------------------
# RKEOPS_GPU_CHUNK_COLS forces chunks of the reduced side (as when it does not
# fit in GPU memory): one launch per chunk, the row states kept between them.
# With blocks of 32 and N = 77, M = 45: chunks of 37 (77 = 37 + 37 + 3, 45 =
# 37 + 8) cut tiles in the middle, chunks of 70 hold several tiles and a
# partial one, chunks of 1 are one launch per reduced row, chunks of 64 are
# whole tiles; each also combined with chunks of output rows.
chunk_settings <- list(
  "cols 37" = c(RKEOPS_GPU_CHUNK_COLS = "37", RKEOPS_GPU_CHUNK_ROWS = NA),
  "cols 70" = c(RKEOPS_GPU_CHUNK_COLS = "70", RKEOPS_GPU_CHUNK_ROWS = NA),
  "cols 37, rows 10" = c(RKEOPS_GPU_CHUNK_COLS = "37", RKEOPS_GPU_CHUNK_ROWS = "10"),
  "cols 1, rows 33" = c(RKEOPS_GPU_CHUNK_COLS = "1", RKEOPS_GPU_CHUNK_ROWS = "33"),
  "cols 64, rows 7" = c(RKEOPS_GPU_CHUNK_COLS = "64", RKEOPS_GPU_CHUNK_ROWS = "7")
)
no_chunks <- c(RKEOPS_GPU_CHUNK_COLS = NA, RKEOPS_GPU_CHUNK_ROWS = NA)

# Runs `formula` on the CPU, then through the emulated GPU kernel without
# forced chunks (`one`) and with each of `chunk_settings` (`chunked`, a list).
cpu_and_chunked_emulation <- function(formula, args, input, precision, block = 32L,
                                      sum_scheme = "block_sum") {
  local_clean_options()
  set_rkeops_options(precision = precision)
  op <- keops_kernel(formula, args, sum_scheme = sum_scheme)
  cpu <- op(input)
  set_rkeops_options(backend = "GPU_EMULATION", gpu_block_size = block)
  one <- with_envvars(no_chunks, op(input))
  chunked <- lapply(chunk_settings, function(v) with_envvars(v, op(input)))
  list(cpu = cpu, one = one, chunked = chunked)
}

# Chunked results against the CPU: values within the precision's tolerance,
# index columns `idx` exactly.
expect_chunked_like_cpu <- function(res, idx, precision, info) {
  vals <- setdiff(seq_len(ncol(res$cpu)), idx)
  for (k in names(res$chunked)) {
    emu <- res$chunked[[k]]
    what <- sprintf("%s, %s", info, k)
    expect_equal(dim(emu), dim(res$cpu), info = what)
    if (length(vals)) {
      err <- rel_err(emu[, vals], res$cpu[, vals])
      expect_true(err <= tol_for(precision), info = sprintf("%s: relative error %.3g", what, err))
    }
    if (length(idx)) expect_identical(emu[, idx], res$cpu[, idx], info = what)
  }
}

for (name in names(reductions)) {
  test_that(sprintf("GPU emulation: %s with the reduced side in chunks agrees with the CPU", name), {
    r <- reductions[[name]]
    # Orders and indices do not depend on the tiling: chunked runs give
    # exactly the unchunked result. (Sums: see the sum-scheme test below.)
    exact <- !grepl("Sum", name)
    for (precision in c("float64", "float32")) {
      for (axis in 0:1) {
        res <- cpu_and_chunked_emulation(sprintf(r$f, axis), args_for(axis), input_for(axis), precision)
        info <- sprintf("%s, axis %d, %s", name, axis, precision)
        expect_chunked_like_cpu(res, r$idx, precision, info)
        if (exact)
          for (k in names(res$chunked)) expect_identical(res$chunked[[k]], res$one, info = paste(info, k))
      }
    }
  })
}

test_that("GPU emulation: sum schemes with the reduced side in chunks", {
  formulas <- c(Sum = "Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, %d)",
                SumSoftMaxWeight = "SumSoftMaxWeight_Reduction(-s * SqNorm2(x - y), b, %d)",
                LogSumExp = "LogSumExp_Reduction(-s * SqNorm2(x - y), %d)")
  for (scheme in c("block_sum", "direct_sum", "kahan_scheme")) {
    for (name in names(formulas)) {
      for (precision in c("float64", "float32")) {
        for (axis in 0:1) {
          res <- cpu_and_chunked_emulation(sprintf(formulas[[name]], axis), args_for(axis),
                                           input_for(axis), precision, sum_scheme = scheme)
          info <- sprintf("%s, %s, axis %d, %s", name, scheme, axis, precision)
          expect_chunked_like_cpu(res, integer(), precision, info)
          # direct_sum and kahan_scheme carry their running sums term by term
          # through the saved states: exactly the unchunked result. block_sum
          # sums per tile: exact when the chunks are whole tiles (64 = 2 x 32).
          exact <- if (scheme == "block_sum") "cols 64, rows 7" else names(res$chunked)
          for (k in exact) expect_identical(res$chunked[[k]], res$one, info = paste(info, k))
        }
      }
    }
  }
})

test_that("GPU emulation: chunk sizes follow the GPU's free memory", {
  # RKEOPS_EMU_GPU_MEMORY sets the emulated device's free memory. With 1600
  # bytes (budget 80%: 1280), half of it holds 20 reduced-side rows of four
  # float64 slots (y, b) -- chunks smaller than a tile -- or 40 of two (y),
  # rounded down to one tile of 32; the rest holds a few output rows.
  no_forcing <- c(RKEOPS_GPU_CHUNK_COLS = NA, RKEOPS_GPU_CHUNK_ROWS = NA)
  run_with_memory <- function(op, bytes) {
    with_envvars(c(no_forcing, RKEOPS_EMU_GPU_MEMORY = bytes), op(input_for(0)))
  }
  local_clean_options()  # once: a second call would restore a later state
  for (name in c("Sum", "ArgKMin", "Min_ArgMin", "LogSumExp")) {
    r <- reductions[[name]]
    set_rkeops_options(backend = "CPU", precision = "float64")
    op <- keops_kernel(sprintf(r$f, 0), args_for(0))
    cpu <- op(input_for(0))
    set_rkeops_options(backend = "GPU_EMULATION", gpu_block_size = 32L)
    emu <- run_with_memory(op, "1600")
    vals <- setdiff(seq_len(ncol(cpu)), r$idx)
    if (length(vals)) expect_close(emu[, vals, drop = FALSE], cpu[, vals, drop = FALSE], TOL64)
    if (length(r$idx)) expect_identical(emu[, r$idx], cpu[, r$idx], info = name)
  }
  # Too little memory: a clear error, before anything runs. The Sum operator
  # needs 32 bytes per reduced-side row (4 float64 slots) and, once the
  # reduced side is chunked, 48 per output row (x, output, state).
  op <- keops_kernel(sprintf(reductions$Sum$f, 0), args_for(0))
  set_rkeops_options(backend = "GPU_EMULATION", gpu_block_size = 32L, precision = "float64")
  expect_error(run_with_memory(op, "30"), "not enough GPU memory for one reduced-side row")
  expect_error(run_with_memory(op, "90"), "not enough GPU memory for one output row")
})

test_that("GPU emulation: sum schemes direct_sum and kahan_scheme", {
  for (scheme in c("direct_sum", "kahan_scheme")) {
    for (f in c("Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)",
                "SumSoftMaxWeight_Reduction(-s * SqNorm2(x - y), b, 0)")) {
      for (precision in c("float64", "float32")) {
        res <- cpu_and_emulation(f, args_for(0), input_for(0), precision, sum_scheme = scheme)
        expect_close(res$emu, res$cpu, tol_for(precision))
      }
    }
  }
})

test_that("GPU emulation: a gradient formula", {
  f <- "Grad(Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0), x, e)"
  args <- c("x = Vi(2)", "y = Vj(2)", "b = Vj(2)", "s = Pm(1)", "e = Vi(2)")
  E <- rand_mat(M, 2, seed = 15)
  for (precision in c("float64", "float32")) {
    res <- cpu_and_emulation(f, args, list(X, Y, BJ, S, E), precision)
    expect_close(res$emu, res$cpu, tol_for(precision))
  }
  # and a gradient of the log-sum-exp family (hidden forward inputs)
  f <- "Grad(LogSumExp_Reduction(-s * SqNorm2(x - y), 0), y, e)"
  args <- c("x = Vi(2)", "y = Vj(2)", "s = Pm(1)", "e = Vi(1)")
  res <- cpu_and_emulation(f, args, list(X, Y, S, E[, 1, drop = FALSE]), "float64")
  expect_close(res$emu, res$cpu, TOL64)
})

test_that("GPU emulation: a formula using many operations", {
  f <- paste0("Sum_Reduction(Concat(Sqrt(SqNorm2(x - y) + 1) * Sin(x) + Cos(y) / (1 + Abs(p)),",
              " Concat(Log(1 + Exp(-Norm2(x - y))), Concat(Rsqrt(1 + Square(u)) * Powf(v + 1, p),",
              " Concat(IfElse(x - y, Step(u - v), ReLU(v - u)), Concat(Atan(x * y) + Pow(x, 3) - Inv(1 + v),",
              " Concat(Max(x * y) + ArgMin(y) + Clamp(u - v, -0.2, 0.3) + Sign(u - v) + Floor(3 * u),",
              " (x | y) + Sum(MatVecMult(q, y)) + Exp(-p * SqDist(x, y)))))))), %d)")
  args <- c("x = Vi(2)", "y = Vj(2)", "u = Vi(1)", "v = Vj(1)", "p = Pm(1)", "q = Pm(4)")
  input <- list(X, Y, rand_mat(M, 1, seed = 16), rand_mat(N, 1, seed = 17), 0.3, c(1, -2, 0.5, 3))
  for (precision in c("float64", "float32")) {
    for (axis in 0:1) {
      res <- cpu_and_emulation(sprintf(f, axis), args, input, precision)
      expect_close(res$emu, res$cpu, tol_for(precision))
    }
  }
})

test_that("GPU emulation: block sizes, one-row blocks and chunks of output rows", {
  f <- "Min_ArgMin_Reduction(Square(x - y) + b, 0)"
  for (block in c(1L, 7L, 192L)) {
    res <- cpu_and_emulation(f, args_for(0), input_for(0), "float64", block = block)
    expect_identical(res$emu, res$cpu)
  }
  # Forced chunks of 10 output rows: several launches, the last one partial.
  old <- Sys.getenv("RKEOPS_GPU_CHUNK_ROWS", unset = NA)
  Sys.setenv(RKEOPS_GPU_CHUNK_ROWS = "10")
  on.exit(if (is.na(old)) Sys.unsetenv("RKEOPS_GPU_CHUNK_ROWS") else Sys.setenv(RKEOPS_GPU_CHUNK_ROWS = old))
  res <- cpu_and_emulation("Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 1)", args_for(1),
                           input_for(1), "float64")
  expect_close(res$emu, res$cpu, TOL64)
  res <- cpu_and_emulation(f, args_for(0), input_for(0), "float32")
  expect_identical(res$emu[, 3:4], res$cpu[, 3:4])
})

test_that("GPU emulation: empty reduced side, points as columns, generated source", {
  local_clean_options()
  set_rkeops_options(precision = "float64")
  op <- keops_kernel("Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)", args_for(0))
  cpu <- op(list(t(X), t(Y), t(BJ), S), inner_dim = "row")
  set_rkeops_options(backend = "GPU_EMULATION", gpu_block_size = 32L)
  expect_close(op(list(t(X), t(Y), t(BJ), S), inner_dim = "row"), cpu, TOL64)
  src <- rkeops:::rk_gpu_generate_source(op()$formula, op()$args, "float64", "block_sum",
                                         "gpu_emulation:block=32")
  expect_match(src, "#include <rkeops/gpu_kernel.h>", fixed = TRUE)
  expect_match(src, "struct Formula", fixed = TRUE)
  expect_match(src, "rk::run_gpu<Formula, 2>", fixed = TRUE)
  # the cache entry holds the GPU source and the C++ compiler command
  entry <- Filter(Negate(is.null), as.list(environment(op)$state$loaded))
  gpu <- entry[grepl("^gpu_emulation", names(entry))][[1]]
  expect_true(file.exists(gpu$object_path))
  expect_match(paste(readLines(gpu$source_path), collapse = "\n"), "RK_BLOCK 32", fixed = TRUE)
})

test_that("GPU backend without a GPU: use_gpu() warns, operators stop cleanly, use_cpu() restores", {
  skip_if(length(rkeops:::gpu_devices()$names) > 0, "an NVIDIA GPU is present")
  local_clean_options()
  op <- keops_kernel("Sum_Reduction(SqNorm2(x - y), 0)", c("x = Vi(2)", "y = Vj(2)"))
  expect_warning(use_gpu(), class = "rkeops_gpu_warning")
  expect_identical(get_rkeops_options("backend"), "GPU")
  expect_error(op(list(X, Y)), class = "rkeops_gpu_error")
  expect_error(op(list(X, Y)), "no NVIDIA GPU on this machine")
  use_cpu()
  expect_equal(dim(op(list(X, Y))), c(M, 1L))
})

test_that("GPU devices are listed through the driver without crashing", {
  d <- rkeops:::rk_gpu_devices()
  expect_type(d$names, "character")
  expect_type(d$problem, "character")
  if (!length(d$names)) expect_true(nzchar(d$problem))
})
