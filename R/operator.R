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
#' In this version `F` may use `+`, `-`, `*`, `/`, unary minus, numbers
#' (integer or decimal), `x**n` and `Pow(x, n)` for an integer `n`, `Exp`,
#' `Square`, `Inv`, `Sum`, `SqNorm2`, `SqDist`, `(x|y)` (scalar product) and
#' the function spellings `Add`, `Subtract`, `Mult`, `Divide`, `Minus`,
#' `Scalprod`, `IntCst`, `Zero`. A dimension-1 operand of `+ - * /` is
#' broadcast against a vector.
#'
#' @param formula the formula, a string such as
#'   `"Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)"`.
#' @param args character vector declaring each argument as `"name = Vi(dim)"`
#'   (indexed by i: a matrix with M rows), `"name = Vj(dim)"` (indexed by j:
#'   N rows) or `"name = Pm(dim)"` (a parameter vector). Positions can be
#'   given explicitly, `"name = Vi(pos, dim)"`, for all arguments or none.
#' @param sum_scheme how float32 sums are accumulated; only `"block_sum"`
#'   (the default: blocks of terms summed in registers, then added to a
#'   double-precision total) in this version.
#' @return An operator: a function `op(input, inner_dim = "col")`.
#'   `input` is a list of matrices (Vi, Vj) and vectors (Pm) in the order of
#'   `args`, or named by the declared names (then it is reordered by name).
#'   With `inner_dim = "col"` (default; `1` is accepted too) points are rows:
#'   a `Vi(3)` argument is an M x 3 matrix. With `inner_dim = "row"` (or `0`)
#'   points are columns (a 3 x M matrix), and the result is transposed the
#'   same way. The result has one row per output point and as many columns as
#'   the formula's dimension. `op()` with no input returns a description of
#'   the operator (formula, args, reduction, and the generated source).
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
keops_kernel <- function(formula, args, sum_scheme = "block_sum") {
  if (!is.character(formula) || length(formula) != 1 || is.na(formula)) {
    rkeops_abort("'formula' must be a single string", class = "rkeops_formula_error")
  }
  if (missing(args)) args <- character()
  if (!is.character(args) || anyNA(args)) {
    rkeops_abort("'args' must be a character vector such as c(\"x = Vi(3)\", \"y = Vj(3)\")",
                 class = "rkeops_argument_error")
  }
  sum_scheme <- match.arg(sum_scheme)
  info <- core_call(rk_parse, formula, args)
  state <- new.env(parent = emptyenv())
  state$info <- info
  state$formula <- formula
  state$args <- args
  state$loaded <- list()  # precision -> operator handle (from rk_get_operator)

  op <- function(input, inner_dim = "col") {
    if (missing(input)) return(describe_operator(state))
    run_kernel(state, input, inner_dim)
  }
  class(op) <- c("rkeops_operator", "function")
  # Compile now for the current settings, so that errors and compile time
  # come at definition, not at the first call.
  if (get_option("backend") == "CPU") load_variant(state, get_option("precision"))
  op
}

# The compiled operator for one precision, compiling it if needed.
load_variant <- function(state, precision) {
  handle <- state$loaded[[precision]]
  if (!is.null(handle)) return(handle)
  handle <- core_call(rk_get_operator, state$formula, state$args, precision,
                      current_toolchain(), get_rkeops_cache_dir(),
                      as.character(utils::packageVersion("rkeops")))
  if (nzchar(handle$note)) rkeops_warn(handle$note, class = "rkeops_cache_warning")
  if (handle$compiled_now && isTRUE(get_option("verbose"))) {
    message(sprintf("rkeops: compiled %s operator in %.2f s (%s)", precision,
                    handle$compile_seconds, dirname(handle$object_path)))
  }
  state$loaded[[precision]] <- handle
  handle
}

run_kernel <- function(state, input, inner_dim) {
  if (get_option("backend") == "GPU") {
    rkeops_abort(c("the GPU backend is not available in this version of rkeops",
                   "  use use_cpu() to run operators on the CPU"), class = "rkeops_gpu_error")
  }
  info <- state$info
  by_column <- points_are_columns(inner_dim)
  checked <- check_inputs(input, info$args, by_column)
  handle <- load_variant(state, get_option("precision"))
  res <- core_call(rk_run, handle$ptr, checked$values, info$args$cat, info$args$dim,
                   checked$M, checked$N, info$tag, info$out_cols, by_column,
                   default_threads())
  if (by_column) t(res) else res
}

describe_operator <- function(state) {
  info <- state$info
  precision <- get_option("precision")
  handle <- state$loaded[[precision]]
  list(
    formula = state$formula,
    args = state$args,
    args_info = info$args,
    reduction = info$reduction,
    axis = info$tag,
    output_dim = info$out_cols,
    precision = precision,
    compiled = !is.null(handle),
    source_file = if (!is.null(handle)) handle$source_path,
    source = function(precision = get_option("precision")) {
      core_call(rk_generate_source, state$formula, state$args, precision)
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
  cat(sprintf("  precision: %s   backend: %s   compiled: %s\n", d$precision, get_option("backend"),
              if (d$compiled) "yes" else "not yet"))
  invisible(x)
}
