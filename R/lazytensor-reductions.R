# Reductions of LazyTensors: the fragment becomes a formula string and
# argument declarations for keops_kernel(), whose operator is kept for the
# session (per formula and declarations): rebuilding the same expression on
# new data of the same shapes costs a string assembly and a look-up, no parse.

#' Reductions of LazyTensors
#'
#' A reduction turns a symbolic [LazyTensor] `F` (entries `F_ij`) into an
#' ordinary R matrix, by reducing over one index: `index = "j"` reduces over
#' `j` and gives one row per `i` (M rows), `index = "i"` reduces over `i` and
#' gives one row per `j` (N rows). (So `index` names the index that
#' disappears, as in RKeOps 2.x; in a formula string it is the reduction's
#' last integer: `index = "j"` is `Red(F, 0)`, `index = "i"` is `Red(F, 1)`.)
#'
#' * `sum(F, index)`: the sum (`dim F` columns); `F %*% v` = `sum(F * v_j,
#'   index = "j")`, with a matrix or vector `v` taken as j-indexed (one row per
#'   `j`): the product of the symbolic M x N matrix `F` (dimension 1) with `v`.
#' * `min`, `max`, `argmin`, `argmax`, `min_argmin`, `max_argmax`: per
#'   component (`dim F` columns each).
#' * `Kmin(F, K, index)`, `argKmin(F, K, index)`: the `K` smallest values
#'   (sorted) and their indices, `K * dim F` columns (column `r*D + c` for rank
#'   `r` and component `c`); `Kmin_argKmin()` both.
#' * `logsumexp(F, index, weight = NULL)`: `log(sum(exp(F)))` (computed
#'   stably; `F` of dimension 1), or `log(sum(exp(F) * weight))`;
#'   `sumsoftmaxweight(F, index, weight)`: `sum(exp(F) * weight) /
#'   sum(exp(F))`.
#' * `reduction(F, op, index, K, weight)`: any of them by its formula name,
#'   such as `"Sum"`, `"ArgKMin"`, `"LogSumExp"`.
#'
#' Without `index` (or with `index = NA`), `sum`, `min`, `max`, `argmin` and
#' `argmax` are not reductions but operations on the components of the vector
#' `F_ij`, returning a LazyTensor of dimension 1, as in RKeOps 2.x:
#' `sum((x_i - y_j)^2)` is the squared distance.
#'
#' **Indices are 0-based**: the first point has index 0, as in formula
#' strings (`ArgMin_Reduction`), in KeOps and in RKeOps 2.x; add 1 to index R
#' matrices: `Y[argKmin(D, 5, "j") + 1, ]`. The indices are exact whole
#' numbers (also in float32). `min_argmin`, `max_argmax` and `Kmin_argKmin`
#' return `list(values = , indices = )`, two matrices of the same shape.
#'
#' Each reduction compiles its formula with [keops_kernel()] the first time
#' it is seen in the session (cached on disk as every operator), so
#' precision, backend, cache and errors are those of `keops_kernel()`.
#' Building the same expression again, in a loop with new data of the same
#' shapes, finds the operator again without parsing. The formula and data an
#' expression gives are shown by printing it.
#'
#' @param x a LazyTensor (`F` above).
#' @param index `"i"` or `"j"`: the index reduced over.
#' @param K the number of smallest values (a whole number >= 1).
#' @param weight a LazyTensor, or a matrix of weights indexed like the
#'   reduced index (one row per point of that index).
#' @param op the reduction's name in the formula language (with or without
#'   `_Reduction`), case insensitive.
#' @param opt_arg RKeOps 2.x's spelling of `K` (a number) or `weight` (a
#'   LazyTensor).
#' @param y for `F %*% v`: `v`, a matrix or vector (rows indexed by `j`), or a
#'   j-indexed LazyTensor.
#' @param ... for `sum`, `min`, `max`: `index` (named, or a second argument
#'   `"i"` or `"j"`); other arguments of [reduction()].
#' @param na.rm not used for LazyTensors.
#' @return An R matrix with one row per point of the index that is not
#'   reduced; a LazyTensor when `index` is missing (see above); a list of
#'   two matrices for the value-and-index reductions.
#' @examples
#' \donttest{
#' old <- set_rkeops_options(cache_dir = tempfile("rkeops-example-"))
#' X <- matrix(runif(20), 10); Y <- matrix(runif(30), 15)
#' D_ij <- sqdist(Vi(X), Vj(Y))
#' nn <- argKmin(D_ij, 3, index = "j")  # 10 x 3, 0-based
#' t(apply(as.matrix(dist(rbind(X, Y)))[1:10, 11:25], 1, order))[, 1:3] - 1
#' nn
#' unlink(get_rkeops_cache_dir(), recursive = TRUE)
#' set_rkeops_options(cache_dir = old$cache_dir)
#' }
#' @name lazytensor_reductions
NULL

# Known reductions: formula name, extra argument ("" / "K" / "weight"),
# whether F must have dimension 1, and how the result is split.
reduction_table <- list(
  sum = c("Sum", ""), min = c("Min", ""), max = c("Max", ""),
  argmin = c("ArgMin", ""), argmax = c("ArgMax", ""),
  min_argmin = c("Min_ArgMin", ""), max_argmax = c("Max_ArgMax", ""),
  kmin = c("KMin", "K"), argkmin = c("ArgKMin", "K"), kmin_argkmin = c("KMin_ArgKMin", "K"),
  logsumexp = c("LogSumExp", ""), logsumexpweight = c("LogSumExpWeight", "weight"),
  sumsoftmaxweight = c("SumSoftMaxWeight", "weight")
)

#' @rdname lazytensor_reductions
#' @export
reduction <- function(x, ...) UseMethod("reduction")

#' @rdname lazytensor_reductions
#' @export
#' @rawNamespace export(reduction.LazyTensor)
reduction.LazyTensor <- function(x, op, index, K = NULL, weight = NULL, opt_arg = NULL, ...) {
  if (!is.character(op) || length(op) != 1) lt_abort("'op' must be a reduction name such as \"Sum\"")
  key <- sub("_?reduction$", "", tolower(op))
  entry <- reduction_table[[key]]
  if (is.null(entry)) {
    lt_abort(sprintf("unknown reduction '%s'; known reductions: %s", op,
                     paste(vapply(reduction_table, `[`, "", 1), collapse = ", ")))
  }
  if (!is.null(opt_arg)) {
    if (is.LazyTensor(opt_arg) || is.matrix(opt_arg)) weight <- opt_arg else K <- opt_arg
  }
  if (key == "logsumexp" && !is.null(weight)) entry <- reduction_table$logsumexpweight
  lt_reduce(x, entry[1], index, K = K, weight = weight, needs = entry[2])
}

#' @export
reduction.default <- function(x, ...) {
  lt_abort(sprintf("reduction() needs a LazyTensor, not %s (see ?LazyTensor)", class(x)[1]))
}

# The session's operators, per formula, declarations and the settings an
# operator may keep from its creation (precision and compile settings): a
# reduction after rkeops_use_float64() must not reuse a float32 operator.
.lt_ops <- new.env(parent = emptyenv())

lt_settings_key <- function() {
  paste(get_option("precision"), get_option("compiler") %||% "", get_option("compile_flags") %||% "",
        get_option("simd"), sep = "|")
}

lt_operator <- function(formula, args, settings = lt_settings_key()) {
  key <- paste0(formula, "|", paste(args, collapse = ";"), "|", settings)
  op <- .lt_ops[[key]]
  if (is.null(op)) {
    op <- keops_kernel(formula, args)
    assign(key, op, envir = .lt_ops)
  }
  op
}

lt_reduce <- function(x, red, index, K = NULL, weight = NULL, needs = "") {
  if (!is.LazyTensor(x)) {
    lt_abort(sprintf("a %s reduction needs a LazyTensor, not %s", red, class(x)[1]))
  }
  if (missing(index) || is.null(index) || (length(index) == 1 && is.na(index))) {
    lt_abort(sprintf("the %s reduction needs 'index': \"i\" (reduce over i) or \"j\" (reduce over j)", red))
  }
  tag <- 1L - lt_index_cat(index, "index")  # reduced over j: one row per i (tag 0)
  if (all(is.na(x$n))) {
    lt_abort(c(sprintf("cannot reduce over %s an expression without any i- or j-indexed variable", index),
               sprintf("  the expression is made of parameters and constants only: %s", format(x)),
               "  build it from Vi(x) / Vj(y) (points as rows), or compute it in plain R"))
  }
  if (red %in% c("LogSumExp", "LogSumExpWeight", "SumSoftMaxWeight") && x$dim != 1L) {
    lt_abort(sprintf("the %s reduction needs an expression of dimension 1, got %d", red, x$dim),
             class = "rkeops_dimension_error")
  }
  extra <- list()
  if (needs == "K") {
    if (is.null(K)) lt_abort(sprintf("the %s reduction needs 'K', the number of values", red))
    K <- lt_int_arg(K, "K", 1)
  } else if (needs == "weight") {
    if (is.null(weight)) lt_abort(sprintf("the %s reduction needs 'weight'", red))
    if (!is.LazyTensor(weight)) weight <- lt_leaf(weight, 1L - tag)
    lt_combine(list(x, weight), "", 1L)  # checks the numbers of points
    extra <- list(weight)
  }
  built <- lt_canonical(x, extra)
  middle <- switch(needs, K = paste0(", ", K), weight = paste0(", ", built$extra), "")
  formula <- paste0(red, "_Reduction(", built$formula, middle, ", ", tag, ")")
  op <- lt_operator(formula, built$args)
  res <- op(unname(built$data))
  split_reduction(res, red, x$dim, K)
}

# Value-and-index reductions: two matrices, values then indices.
split_reduction <- function(res, red, D, K) {
  cols <- switch(red,
    Min_ArgMin = , Max_ArgMax = seq_len(D),
    KMin_ArgKMin = as.vector(outer(seq_len(D), 2L * D * (seq_len(K) - 1L), "+")),
    return(res))
  list(values = res[, cols, drop = FALSE], indices = res[, cols + D, drop = FALSE])
}

# sum(), min(), max(): a reduction with an index, else the operation on the
# components (Sum, Min, Max of the formula language).
#' @rdname lazytensor_reductions
#' @export
Summary.LazyTensor <- function(..., na.rm = FALSE) {
  args <- list(...)
  index <- args$index
  args$index <- NULL
  if (is.null(index) && length(args) == 2 && is.character(args[[2]])) index <- args[[2]]
  else if (length(args) != 1) {
    lt_abort(sprintf("%s() of LazyTensors takes one LazyTensor (and 'index'), got %d arguments",
                     .Generic, length(args)))
  }
  x <- args[[1]]
  name <- c(sum = "Sum", min = "Min", max = "Max")[.Generic]
  if (is.na(name)) lt_abort(sprintf("%s() is not available for LazyTensors", .Generic))
  if (!is.LazyTensor(x)) {
    lt_abort(sprintf("%s(): the first argument must be the LazyTensor", .Generic))
  }
  if (is.null(index) || (length(index) == 1 && is.na(index))) return(lt_call(name, list(x), dim = 1L))
  lt_reduce(x, name, index)
}

#' @rdname lazytensor_reductions
#' @export
argmin <- function(x, index = NA) {
  if (length(index) == 1 && is.na(index)) return(lt_call("ArgMin", list(x), dim = 1L))
  lt_reduce(x, "ArgMin", index)
}

#' @rdname lazytensor_reductions
#' @export
argmax <- function(x, index = NA) {
  if (length(index) == 1 && is.na(index)) return(lt_call("ArgMax", list(x), dim = 1L))
  lt_reduce(x, "ArgMax", index)
}

#' @rdname lazytensor_reductions
#' @export
min_argmin <- function(x, index) lt_reduce(x, "Min_ArgMin", index)

#' @rdname lazytensor_reductions
#' @export
max_argmax <- function(x, index) lt_reduce(x, "Max_ArgMax", index)

#' @rdname lazytensor_reductions
#' @export
Kmin <- function(x, K, index) lt_reduce(x, "KMin", index, K = K, needs = "K")

#' @rdname lazytensor_reductions
#' @export
argKmin <- function(x, K, index) lt_reduce(x, "ArgKMin", index, K = K, needs = "K")

#' @rdname lazytensor_reductions
#' @export
Kmin_argKmin <- function(x, K, index) lt_reduce(x, "KMin_ArgKMin", index, K = K, needs = "K")

#' @rdname lazytensor_reductions
#' @export
logsumexp <- function(x, index, weight = NULL) {
  if (is.null(weight)) return(lt_reduce(x, "LogSumExp", index))
  lt_reduce(x, "LogSumExpWeight", index, weight = weight, needs = "weight")
}

#' @rdname lazytensor_reductions
#' @export
sumsoftmaxweight <- function(x, index, weight) {
  lt_reduce(x, "SumSoftMaxWeight", index, weight = if (missing(weight)) NULL else weight, needs = "weight")
}

#' @rdname lazytensor_reductions
#' @export
`%*%` <- function(x, y) {
  if (is.LazyTensor(x)) return(lt_matmul(x, y))
  if (is.LazyTensor(y)) {
    lt_abort(paste("a matrix %*% LazyTensor product is not available: write F %*% v with the",
                   "LazyTensor F first (a sum over j), or sum(v_i * F, index = \"i\") for a sum over i"))
  }
  base::`%*%`(x, y)
}

lt_matmul <- function(x, y) {
  if (!is.LazyTensor(y)) {
    if (!(is.numeric(y) || is.logical(y) || is.data.frame(y))) {
      lt_abort(sprintf("F %%*%% v: 'v' must be a matrix, a vector or a j-indexed LazyTensor, not %s",
                       class(y)[1]))
    }
    y <- lt_leaf(y, 1L)
  } else if (!is.na(y$n[1])) {
    lt_abort(paste("F %*% v sums F_ij v_j over j: 'v' must be indexed by j (or a parameter),",
                   "but it has an i-indexed variable; use sum(F * v, index = \"j\") if that is meant"))
  }
  lt_reduce(x * y, "Sum", "j")
}

# RKeOps 2.x spellings.
#' @rdname lazytensor_reductions
#' @export
sum_reduction <- function(x, index) lt_reduce(x, "Sum", index)
#' @rdname lazytensor_reductions
#' @export
min_reduction <- function(x, index) lt_reduce(x, "Min", index)
#' @rdname lazytensor_reductions
#' @export
max_reduction <- function(x, index) lt_reduce(x, "Max", index)
#' @rdname lazytensor_reductions
#' @export
argmin_reduction <- function(x, index) lt_reduce(x, "ArgMin", index)
#' @rdname lazytensor_reductions
#' @export
argmax_reduction <- function(x, index) lt_reduce(x, "ArgMax", index)
#' @rdname lazytensor_reductions
#' @export
min_argmin_reduction <- function(x, index) min_argmin(x, index)
#' @rdname lazytensor_reductions
#' @export
max_argmax_reduction <- function(x, index) max_argmax(x, index)
#' @rdname lazytensor_reductions
#' @export
Kmin_reduction <- function(x, K, index) Kmin(x, K, index)
#' @rdname lazytensor_reductions
#' @export
argKmin_reduction <- function(x, K, index) argKmin(x, K, index)
#' @rdname lazytensor_reductions
#' @export
Kmin_argKmin_reduction <- function(x, K, index) Kmin_argKmin(x, K, index)
#' @rdname lazytensor_reductions
#' @export
logsumexp_reduction <- function(x, index, weight = NULL) logsumexp(x, index, weight)
#' @rdname lazytensor_reductions
#' @export
sumsoftmaxweight_reduction <- function(x, index, weight) sumsoftmaxweight(x, index, weight)
