#' Define a kernel operator from a formula
#'
#' `keops_kernel()` parses a formula, checks it against the argument
#' declarations, generates C++ for it, compiles it for this machine (once: the
#' result is cached, see [get_rkeops_cache_dir()]) and returns an R function
#' that computes the reduction on R matrices.
#'
#' The formula is a reduction of a formula `F` over an M x N grid, never
#' stored:
#' * `Sum_Reduction(F, 0)` reduces over `j`: one output row per `i` (M rows);
#' * `Sum_Reduction(F, 1)` reduces over `i`: one output row per `j` (N rows).
#'
#' @section Reductions:
#' The last argument `t` (axis) is 0 or 1 as above; `D` is the dimension of
#' `F`, `K` a positive integer constant, `G` a second formula (weights).
#' Min/max-type reductions work component-wise (each of the `D` components
#' has its own minimum and index).
#' * `Sum_Reduction(F, t)`: sum of `F` (D columns).
#' * `Max_Reduction(F, t)`, `Min_Reduction(F, t)`: maximum, minimum (D).
#' * `ArgMax_Reduction(F, t)`, `ArgMin_Reduction(F, t)`: index of the
#'   maximum, minimum (D).
#' * `Max_ArgMax_Reduction(F, t)`, `Min_ArgMin_Reduction(F, t)`: values then
#'   indices, `[v_0..v_{D-1}, i_0..i_{D-1}]` (2D).
#' * `KMin_Reduction(F, K, t)`: the `K` smallest values in increasing order,
#'   column `r*D + c` for rank `r` and component `c` (`K*D` columns; this
#'   version accepts `K*D <= 1024`).
#' * `ArgKMin_Reduction(F, K, t)`: their indices, same layout (`K*D`).
#' * `KMin_ArgKMin_Reduction(F, K, t)`: for each rank `r`, the `D` values then
#'   the `D` indices: columns `r*2D + c` and `r*2D + D + c` (`2*K*D`).
#' * `LogSumExp_Reduction(F, t)`: `log(sum exp(F))`, computed stably; `D = 1`
#'   (1 column).
#' * `LogSumExpWeight_Reduction(F, G, t)`: `log(sum exp(F) * G)` per component
#'   of `G` (dim G columns; NaN where the weighted sum is negative).
#' * `SumSoftMaxWeight_Reduction(F, G, t)`: `sum exp(F) G / sum exp(F)`, the
#'   softmax-weighted average of `G` (dim G columns).
#' * `Max_SumShiftExp_Reduction(F, t)`: the raw stable state `[m, s]`,
#'   `m = max F`, `s = sum exp(F - m)` (2 columns).
#' * `Max_SumShiftExpWeight_Reduction(F, t, G)` (axis before the weight):
#'   `[m, s_0..s_{dimG-1}]`, `s_c = sum exp(F - m) G_c` (1 + dim G columns).
#' * `Zero_Reduction(d, t)`: `d` columns of zeros.
#'
#' The RKeOps 1.x spellings `SumReduction`, `MinReduction`,
#' `ArgMinReduction`, `MaxReduction`, `ArgMaxReduction`, `MinArgMinReduction`,
#' `MaxArgMaxReduction`, `KMinReduction`, `ArgKMinReduction`,
#' `KMinArgKMinReduction` (same arguments), `LogSumExpReduction(F, t)` (=
#' `Max_SumShiftExp_Reduction`) and `LogSumExpVectReduction(F, t, G)` (=
#' `Max_SumShiftExpWeight_Reduction`) are accepted.
#'
#' Indices are **0-based** (as in KeOps: the first point has index 0) and are
#' returned as numbers in the result matrix; they are tracked as exact
#' integers, so they are exact also in float32 and beyond 2^24 points. Ties
#' go to the smallest index (the `K` smallest values are sorted by value,
#' then by index); NaN values of `F` are ignored by min/max-type reductions.
#' Over an empty range (no point on the reduced side) the result is 0 for
#' sums, `Inf` (min) or `-Inf` (max) with index 0, `-Inf` for `LogSumExp`
#' and `LogSumExpWeight`, `[-Inf, 0]` for `Max_SumShiftExp`, and NaN for
#' `SumSoftMaxWeight`.
#'
#' `F` may use every operation of the KeOps formula language (arithmetic,
#' element-wise functions, comparisons, vector structure, norms, tensor
#' algebra, kernel shortcuts, and symbolic differentiation with `Grad`,
#' `Diff`, `GradMatrix`, `Divergence`, `Laplacian`); see
#' `vignette("formula-language", package = "rkeops")` for the full table. A
#' reduction can itself be differentiated: `Grad(Sum_Reduction(F, 0), x, e)`
#' (see [keops_grad()]).
#'
#'
#' @section What an operator keeps, what it reads at each call:
#' An operator keeps the settings it was made with: its **precision**
#' (`float32` or `float64`), its **compiler**, **compile flags** and **SIMD**
#' path. Changing these options afterwards (e.g. [rkeops_use_float32()])
#' affects operators made afterwards, not this one: `op64 <-
#' keops_kernel(...)` made after [rkeops_use_float64()] computes in float64
#' until it is discarded. One call may ask for the other precision with
#' `op(input, precision = "float32")` (compiled once for it, then kept); no
#' call-level override is offered for the compile settings (make another
#' operator). Gradients ([keops_grad()]) keep the settings of the operator
#' they differentiate.
#'
#' The **backend** (`use_cpu()` / `use_gpu()`, the device, the thread count,
#' the GPU options, the cache directory) is read at each call instead:
#' RKeOps users switch the device globally, so an operator made on the CPU
#' runs on the GPU after `use_gpu()`, compiled for it at its first call
#' there. The print method shows both: the kept precision and compile
#' settings, and the backend now in effect.
#'
#' An operator saved with [saveRDS()], or sent to a PSOCK, callr or future
#' worker, knows its formula, arguments and settings: in the new process its
#' first call finds its object in that process's cache (or compiles it) and
#' runs. The worker must have rkeops installed (the cache is per user and
#' per machine; see [get_rkeops_cache_dir()]).
#'
#' @section Differences from RKeOps 2.x (on purpose):
#' Code written for RKeOps 2.x runs (see the README section "Coming from
#' RKeOps 2.x" for the full before/after table), except in three places
#' where rkeops follows RKeOps 1.x and the KeOps engine instead:
#' * **Reduction axis of formula strings**: `Sum_Reduction(F, 0)` reduces
#'   over **j** and returns M rows (one per i); 2.x's `0` meant over i. Write
#'   `Sum_Reduction(F, 1)` for 2.x's meaning. LazyTensor `index = "j"` means
#'   the same in both.
#' * **`inner_dim = "row"`** (points as columns): the result is transposed
#'   like the inputs, one column per output point; 2.x always returned points
#'   as rows.
#' * **Gradients**: `keops_grad(op, "x")` and `Grad(Sum_Reduction(F, 0), x,
#'   e)` are vector-Jacobian products: `e` has one row per output row and as
#'   many columns as the output, and the result one row per point of `x`.
#'
#' Indices of `ArgMin`, `ArgKMin`, ... results are 0-based, as in 2.x.
#'
#' @section Missing and special values:
#' Inputs may hold `NA`, `NaN`, `Inf` and `-Inf`: they go through IEEE
#' arithmetic like any other value (nothing is removed or checked):
#' * In a sum-type reduction (`Sum`, the log-sum-exp family), a term that is
#'   NaN makes its output row NaN. So an `NA` or `NaN` in row `i` of a `Vi`
#'   input gives NaN in row `i` only of a reduction over `j`, and in every
#'   row of a reduction over `i`; likewise for `Vj` inputs. R's `NA` may come
#'   back as `NA` or as `NaN` (R does not keep them apart in arithmetic, and
#'   float32 does not keep `NA` at all): test results with `is.na()`.
#' * Min/max-type reductions (`Min`, `Max`, `ArgMin`, `KMin`, ...) ignore NaN
#'   terms; a row whose terms are all NaN gets the empty-range value (`Inf`
#'   or `-Inf`, index 0).
#' * Infinities follow IEEE rules: `Exp(-Inf)` is 0, so in a Gaussian kernel
#'   a point at infinity contributes 0; `Inf - Inf` and `0 * Inf` are NaN.
#' * An empty side (a 0-row matrix) is allowed: the reduced side empty gives
#'   the empty-range values above; no output point gives a 0-row result.
#' * Subnormal numbers (magnitude below `1.2e-38` in float32, `2.2e-308` in
#'   float64) are treated as 0 while an operator runs, in inputs and in every
#'   intermediate result (flush-to-zero and denormals-are-zero, on the CPU and
#'   the GPU emulation target): many CPUs compute with them 100 times slower,
#'   and a Gaussian kernel with a small bandwidth produces them for most
#'   pairs. A sum holding at least one normal term loses less than one unit
#'   in its last place; a sum made only of such terms is 0 (a `LogSumExp` is
#'   unaffected: it shifts by the maximum first). NaN and Inf are not
#'   affected, and R's own arithmetic keeps IEEE subnormals.
#'
#' @param formula the formula, a string such as
#'   `"Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)"`.
#' @param args character vector declaring each argument as `"name = Vi(dim)"`
#'   (indexed by i: a matrix with M rows), `"name = Vj(dim)"` (indexed by j:
#'   N rows) or `"name = Pm(dim)"` (a parameter vector). Positions can be
#'   given explicitly, `"name = Vi(pos, dim)"`, for all arguments or none.
#' @param sum_scheme how the terms of sum-type reductions (`Sum`, and the
#'   log-sum-exp family: `LogSumExp`, `LogSumExpWeight`, `SumSoftMaxWeight`,
#'   `Max_SumShiftExp`, `Max_SumShiftExpWeight`) are accumulated:
#'   * `"block_sum"` (default): the terms of each block of a few thousand
#'     points are summed in the computation type, and the block sums are
#'     added to a double-precision total. Accurate (about 1e-6 relative in
#'     float32 over 10^7 terms) and fast.
#'   * `"direct_sum"`: one running sum per SIMD lane in the computation type
#'     over the whole range, as KeOps' direct scheme: in float32, long sums
#'     lose accuracy (about 1e-3 relative over 10^6 terms).
#'   * `"kahan_scheme"`: the running sums of `"direct_sum"` with Kahan
#'     compensation (for the log-sum-exp family, the compensation is rescaled
#'     with the sums): the most accurate, somewhat slower.
#'
#'   * `"auto"` (RKeOps 2.x's default): `"block_sum"`, which is what 2.x
#'     chose for sum-type reductions; accepted for every reduction.
#'
#'   Any other reduction is a direct scan in which the scheme plays no role:
#'   for those only the default (or `"auto"`) is accepted.
#' @return An operator: a function `op(input, inner_dim = "col", precision = NULL)`.
#'   `input` is a list of matrices (Vi, Vj) and vectors (Pm) in the order of
#'   `args`, or named by the declared names (then it is reordered by name).
#'   With `inner_dim = "col"` (default; `1` is accepted too) points are rows:
#'   a `Vi(3)` argument is an M x 3 matrix. With `inner_dim = "row"` (or `0`)
#'   points are columns (a 3 x M matrix), and the result is transposed the
#'   same way. The result has one row per output point and as many columns as
#'   the reduction gives (see Reductions). `precision` (`NULL`: the
#'   operator's own) computes this call in `"float32"` or `"float64"`.
#'   `op()` or `op(NULL)` (as in RKeOps 2.x) returns a description of the
#'   operator (formula, args, reduction, precision, compile settings, current
#'   backend, and the generated source); `op(precision = "float64")`
#'   describes its float64 variant.
#' @examples
#' \donttest{
#' old <- set_rkeops_options(cache_dir = tempfile("rkeops-example-"))
#' op <- keops_kernel("Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)",
#'                    c("x = Vi(3)", "y = Vj(3)", "b = Vj(2)", "s = Pm(1)"))
#' X <- matrix(runif(30), 10); Y <- matrix(runif(45), 15); B <- matrix(runif(30), 15)
#' res <- op(list(X, Y, B, 0.5))   # 10 x 2
#' # the same, in plain R:
#' D2 <- outer(rowSums(X^2), rowSums(Y^2), "+") - 2 * X %*% t(Y)
#' max(abs(res - exp(-0.5 * D2) %*% B))
#' unlink(get_rkeops_cache_dir(), recursive = TRUE)
#' set_rkeops_options(cache_dir = old$cache_dir)
#' }
#' @export
keops_kernel <- function(formula, args,
                         sum_scheme = c("block_sum", "direct_sum", "kahan_scheme", "auto")) {
  if (!is.character(formula) || length(formula) != 1 || is.na(formula)) {
    rkeops_abort("'formula' must be a single string", class = "rkeops_formula_error")
  }
  if (missing(args)) args <- character()
  if (!is.character(args) || anyNA(args)) {
    rkeops_abort("'args' must be a character vector such as c(\"x = Vi(3)\", \"y = Vj(3)\")",
                 class = "rkeops_argument_error")
  }
  schemes <- c("block_sum", "direct_sum", "kahan_scheme", "auto")
  if (missing(sum_scheme)) sum_scheme <- schemes[1]
  if (!is.character(sum_scheme) || length(sum_scheme) != 1 || !sum_scheme %in% schemes) {
    rkeops_abort(sprintf("'sum_scheme' must be one of %s", paste0("\"", schemes, "\"", collapse = ", ")),
                 class = "rkeops_argument_error")
  }
  # RKeOps 2.x's "auto" is block_sum for sum-type reductions; for the others
  # the scheme plays no role.
  if (sum_scheme == "auto") sum_scheme <- "block_sum"
  new_operator(formula, args, sum_scheme, operator_settings())
}

# What an operator fixes when it is made: its precision and how it is
# compiled. The backend and the rest are read at each call.
operator_settings <- function() {
  list(precision = get_option("precision"), compiler = get_option("compiler"),
       compile_flags = get_option("compile_flags"), simd = get_option("simd"))
}

# The toolchain (R/toolchain.R) for an operator's settings, whatever the
# options are now.
toolchain_for <- function(settings) {
  keys <- paste0("rkeops.", c("compiler", "compile_flags", "simd"))
  old <- options(stats::setNames(settings[c("compiler", "compile_flags", "simd")], keys))
  on.exit(options(old), add = TRUE)
  current_toolchain()
}

# Identifies this R session: operators keep a reference to it, and one
# that does not hold this very environment comes from saveRDS(), a PSOCK
# or callr worker, or a future: its handles are empty pointers, and it finds
# (or compiles) its objects again. A forked child (mclapply) shares the
# parent's memory and loaded objects, and keeps them.
.session <- new.env(parent = emptyenv())

new_operator <- function(formula, args, sum_scheme, settings) {
  info <- core_call(rk_parse, formula, args)
  if (sum_scheme != "block_sum" && !isTRUE(info$sum_type)) {
    rkeops_abort(c(sprintf(paste("sum_scheme = \"%s\" is only for sum-type reductions (Sum, LogSumExp,",
                                 "LogSumExpWeight, SumSoftMaxWeight, Max_SumShiftExp(Weight)),",
                                 "not %s"), sum_scheme, info$reduction),
                   "  leave 'sum_scheme' at its default for this reduction"),
                 class = "rkeops_formula_error")
  }
  state <- new.env(parent = emptyenv())
  state$sum_scheme <- sum_scheme
  state$info <- info
  state$user_args <- user_args(info)  # once: data.frame subsetting is slow per call
  state$formula <- formula
  state$args <- args
  state$settings <- settings
  attach_session(state)
  rm(info, settings)  # the closure keeps only `state`

  op <- function(input, inner_dim = "col", precision = NULL) {
    if (missing(input) || is.null(input)) return(describe_operator(state, precision))
    run_kernel(state, input, inner_dim, precision)
  }
  class(op) <- c("rkeops_operator", "function")
  # Compile now for the current settings, so that errors and compile time
  # come at definition, not at the first call.
  if (get_option("backend") == "CPU") load_variant(state, state$settings$precision)
  op
}

# Binds an operator's state to this session: no loaded object yet, and
# the toolchain of its settings as found on this machine.
attach_session <- function(state, toolchain = toolchain_for(state$settings)) {
  state$toolchain <- toolchain
  state$loaded <- list()  # backend|precision -> operator handle (from rk_get_operator)
  state$saved_ops <- NULL
  state$session <- .session
  invisible(state)
}

# The compiled operator for one precision and backend ("CPU", or the GPU
# backends of R/gpu.R), compiling it if needed.
load_variant <- function(state, precision, backend = "CPU") {
  if (!identical(state$session, .session)) attach_session(state)
  toolchain <- state$toolchain
  engine_backend <- "cpu"
  if (backend != "CPU") {
    if (backend == "GPU") toolchain$cxx <- find_nvcc()
    engine_backend <- gpu_backend_string(backend, toolchain$cxx)
  }
  variant <- variant_key(precision, engine_backend)
  handle <- state$loaded[[variant]]
  if (!is.null(handle)) return(handle)
  build <- function(cache_dir) {
    core_call(rk_get_operator, state$formula, state$args, precision, toolchain, cache_dir,
              as.character(utils::packageVersion("rkeops")), state$sum_scheme, engine_backend)
  }
  handle <- tryCatch(build(get_rkeops_cache_dir()), rkeops_cache_error = function(e) {
    # A read-only or full cache must not stop the work: fall back to a
    # per-session directory, and say so.
    fallback <- file.path(tempdir(), "rkeops-cache")
    rkeops_warn(paste0("the rkeops cache directory cannot be used (", conditionMessage(e),
                       "); compiling into ", fallback, " for this session instead"),
                class = "rkeops_cache_warning")
    build(fallback)
  })
  if (nzchar(handle$note)) rkeops_warn(handle$note, class = "rkeops_cache_warning")
  if (handle$compiled_now && isTRUE(get_option("verbose"))) {
    what <- if (backend == "CPU") precision else paste(precision, backend)
    message(sprintf("rkeops: compiled %s operator in %.2f s (%s)", what,
                    handle$compile_seconds, dirname(handle$object_path)))
  }
  state$loaded[[variant]] <- handle
  handle
}

# Loaded objects are kept per backend and precision (the toolchain is the
# operator's own, fixed when it was made).
variant_key <- function(precision, backend = "cpu") paste(backend, precision, sep = "|")

# The precision of one call: the operator's own, or the one the call asks.
call_precision <- function(state, precision) {
  if (is.null(precision)) return(state$settings$precision)
  validate_option("precision", precision, from = sprintf("the call's argument precision = %s",
                                                         short_deparse(precision)))
}

run_kernel <- function(state, input, inner_dim, precision = NULL) {
  precision <- call_precision(state, precision)
  backend <- get_option("backend")
  if (backend != "CPU") gpu_check_runnable(backend)  # R/gpu.R
  info <- state$info
  by_column <- points_are_columns(inner_dim)
  ua <- state$user_args
  checked <- check_inputs(input, ua, by_column, info$tag)
  check_call_memory(if (info$tag == 0) checked$M else checked$N, info$out_cols, checked$values,
                    ua$cat, ua$dim, by_column, precision)  # R/inputs.R
  values <- c(checked$values, compute_saved_inputs(state, checked$values, inner_dim, precision))
  handle <- load_variant(state, precision, backend)
  res <- core_call(rk_run, handle$ptr, values, info$args$cat, info$args$dim,
                   checked$M, checked$N, info$tag, info$out_cols, by_column,
                   default_threads(), gpu_device_arg(backend), progress_after())
  if (isTRUE(info$sum_rows)) res <- matrix(colSums(res), nrow = 1)  # a parameter's gradient
  if (by_column) t(res) else res
}

# Seconds after which a call shows a progress bar (option rkeops.progress;
# unset: in interactive sessions only), or -1 for none.
progress_after <- function() {
  show <- get_option("progress")
  if (is.null(show)) show <- interactive()
  if (!isTRUE(show)) return(-1)
  after <- getOption("rkeops.progress_after", 3)  # internal: lowered by tests
  if (is.numeric(after) && length(after) == 1 && !is.na(after)) as.numeric(after) else 3
}

# The arguments the user supplies (a gradient may add hidden ones after them).
user_args <- function(info) {
  info$args[!info$args$pos %in% info$saved$pos, , drop = FALSE]
}

# Hidden inputs of gradients of the log-sum-exp family: the forward
# reductions' results, computed by their own operators (with the settings
# of this one) on the same inputs, in the precision of the call.
compute_saved_inputs <- function(state, values, inner_dim, precision) {
  saved <- state$info$saved
  if (is.null(saved) || nrow(saved) == 0) return(list())
  if (!identical(state$session, .session)) attach_session(state)
  if (is.null(state$saved_ops)) {
    state$saved_ops <- lapply(saved$formula, new_operator, args = state$args,
                              sum_scheme = state$sum_scheme, settings = state$settings)
  }
  lapply(seq_len(nrow(saved)), function(k) {
    op <- state$saved_ops[[k]]
    positions <- op()$args_info$pos
    op(values[positions + 1], inner_dim = inner_dim, precision = precision)
  })
}

describe_operator <- function(state, precision = NULL) {
  info <- state$info
  precision <- call_precision(state, precision)
  handle <- if (identical(state$session, .session)) state$loaded[[variant_key(precision)]]
  settings <- state$settings
  list(
    formula = state$formula,
    args = state$args,
    args_info = state$user_args,
    reduction = info$reduction,
    axis = info$tag,
    output_dim = info$out_cols,
    sum_scheme = state$sum_scheme,
    precision = precision,
    compiler = settings$compiler,
    compile_flags = settings$compile_flags,
    simd = settings$simd,
    backend = get_option("backend"),
    compiled = !is.null(handle),
    source_file = if (!is.null(handle)) handle$source_path,
    source = function(precision = settings$precision) {
      core_call(rk_generate_source, state$formula, state$args, precision, state$sum_scheme)
    }
  )
}

#' @export
print.rkeops_operator <- function(x, ...) {
  d <- x()
  cat("rkeops operator\n")
  cat("  formula:   ", d$formula, "\n", sep = "")
  rows <- if (d$axis == 0) "one row per i (M rows)" else "one row per j (N rows)"
  cat(sprintf("  reduction: %s over %s, %s, %d column%s\n", d$reduction,
              if (d$axis == 0) "j" else "i", rows, d$output_dim, if (d$output_dim > 1) "s" else ""))
  a <- d$args_info
  cat("  arguments:\n")
  for (k in seq_len(nrow(a))) {
    cat(sprintf("    %d  %-10s %s(%d)\n", a$pos[k], if (nzchar(a$name[k])) a$name[k] else "(inline)",
                category_names[a$cat[k] + 1], a$dim[k]))
  }
  cat(sprintf("  precision: %s (kept from its creation; a call may ask precision = \"%s\")\n",
              d$precision, if (d$precision == "float32") "float64" else "float32"))
  cat(sprintf("  compiled with: %s%s, SIMD %s (kept from its creation)\n",
              if (is.null(d$compiler)) "the default compiler" else d$compiler,
              if (nzchar(d$compile_flags %||% "")) paste0(" ", d$compile_flags) else "", d$simd))
  cat(sprintf("  backend:   %s (now; follows use_cpu() / use_gpu())   compiled: %s\n", d$backend,
              if (d$compiled) "yes" else "not yet"))
  invisible(x)
}
