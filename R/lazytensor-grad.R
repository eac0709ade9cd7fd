# Gradients of LazyTensor reductions: the forward reduction's operator (the
# one the reductions use) is differentiated by keops_grad(), so the result
# is exactly keops_grad()'s: same rows, same gradient input, same rules.

#' Gradient of a LazyTensor reduction
#'
#' `grad(F, var, index)` is the gradient, with respect to the variable `var`,
#' of the reduction `R = sum(F, index = index)` (or another reduction
#' `opstr`), applied to the gradient input `gradin` (a vector-Jacobian
#' product): exactly what [keops_grad()] computes for the operator of `R`.
#'
#' * `gradin` has one row per output row of `R` (M rows for `index = "j"`, N
#'   rows for `index = "i"`) and as many columns as `R`; `NULL` (default)
#'   means ones: the gradient of the sum of all entries of `R`. A number is
#'   repeated; a LazyTensor made by `Vi()`/`Vj()` gives its data.
#' * The result is arranged like `var`: one row per point of `var` (M rows for
#'   a `Vi`, N rows for a `Vj`) and `dim(var)` columns; for a parameter
#'   (`Pm`), one row, the gradient summed over all pairs.
#' * `opstr`: `"Sum"` (default), `"LogSumExp"`, or an Arg-type reduction
#'   (zero gradient); see "Which reductions can be differentiated" in
#'   [keops_grad()].
#'
#' Example: with `K_ij = exp(-|x_i - y_j|^2)` and `R_i = sum_j K_ij b_j`,
#' `grad(K * b_j, x_i, "j", e)` is, for each `i`, `sum_j -2 (x_i - y_j) K_ij
#' (e_i | b_j)`.
#'
#' RKeOps 2.x wrote `grad(F, gradin, opstr, var, index)` (the gradient
#' input second, and `index` the index of the reduction of the gradient
#' formula): that call order is recognised and means the same when `var`
#' is indexed by the other index than `index` (the only case where 2.x
#' returned a gradient); see the README section "Coming from RKeOps 2.x".
#'
#' @param x the LazyTensor `F` whose reduction is differentiated.
#' @param var the variable: a LazyTensor made by `Vi()`, `Vj()` or `Pm()`
#'   that appears in `x`.
#' @param index `"i"` or `"j"`: the index of the reduction `R`.
#' @param gradin the gradient input (see above).
#' @param opstr the reduction: `"Sum"` (default) or `"LogSumExp"`, ...
#' @return A matrix shaped like `var`'s data (one row for a parameter).
#' @examples
#' \donttest{
#' old <- set_rkeops_options(cache_dir = tempfile("rkeops-example-"))
#' X <- matrix(runif(10), 5); Y <- matrix(runif(8), 4)
#' x_i <- Vi(X); y_j <- Vj(Y)
#' grad(sqnorm2(x_i - y_j), x_i, "j")   # 5 x 2: sum_j 2 (x_i - y_j)
#' 2 * (nrow(Y) * X - matrix(colSums(Y), 5, 2, byrow = TRUE))
#' unlink(get_rkeops_cache_dir(), recursive = TRUE)
#' set_rkeops_options(cache_dir = old$cache_dir)
#' }
#' @export
grad <- function(x, var, index, gradin = NULL, opstr = "Sum") {
  if (is.character(index) && length(index) == 1 && !index %in% c("i", "j") &&
      !is.null(reduction_table[[sub("_?reduction$", "", tolower(index))]]) &&
      is.LazyTensor(gradin) && is.character(opstr) && opstr %in% c("i", "j")) {
    # RKeOps 2.x order: grad(F, gradin, opstr, var, index).
    args <- list(gradin = var, opstr = index, var = gradin, index = opstr)
    var <- args$var
    gradin <- args$gradin
    index <- args$index
    opstr <- args$opstr
  }
  if (!is.LazyTensor(x)) lt_abort("grad(): 'x' must be a LazyTensor")
  if (!is.LazyTensor(var) || length(var$vars) != 1 || var$formula != names(var$vars)) {
    lt_abort("grad(): 'var' must be a variable made by Vi(), Vj() or Pm() (not an expression)")
  }
  token <- names(var$vars)
  if (!token %in% names(x$vars)) lt_abort("grad(): 'var' does not appear in the expression 'x'")
  entry <- reduction_table[[sub("_?reduction$", "", tolower(opstr))]]
  if (is.null(entry) || entry[2] != "") {
    lt_abort(sprintf("grad(): 'opstr' must be a reduction without extra argument such as \"Sum\" or \"LogSumExp\", not '%s'",
                     paste(opstr, collapse = " ")))
  }
  tag <- 1L - lt_index_cat(index, "index")
  if (all(is.na(x$n))) lt_abort("grad(): the expression has no i- or j-indexed variable to reduce over")
  built <- lt_canonical(x)
  formula <- paste0(entry[1], "_Reduction(", built$formula, ", ", tag, ")")
  g <- lt_grad_operator(formula, built$args, built$names[match(token, built$tokens)])
  rows <- x$n[tag + 1]
  if (is.na(rows)) rows <- 1
  eta <- lt_gradin(gradin, rows, g$out_dim)
  g$op(c(unname(built$data), list(eta)))
}

.lt_grads <- new.env(parent = emptyenv())

lt_grad_operator <- function(formula, args, var) {
  settings <- lt_settings_key()  # as for the forward operators
  key <- paste0(formula, "|", paste(args, collapse = ";"), "|", var, "|", settings)
  g <- .lt_grads[[key]]
  if (is.null(g)) {
    fwd <- lt_operator(formula, args, settings)
    g <- list(op = keops_grad(fwd, var), out_dim = fwd()$output_dim)
    assign(key, g, envir = .lt_grads)
  }
  g
}

lt_gradin <- function(gradin, rows, cols) {
  if (is.null(gradin)) return(matrix(1, rows, cols))
  if (is.LazyTensor(gradin)) {
    if (length(gradin$vars) != 1 || gradin$vars[[1]]$cat == 2L) {
      lt_abort("grad(): a LazyTensor 'gradin' must be made by Vi() or Vj() (its data is used)")
    }
    gradin <- gradin$vars[[1]]$data
  }
  if (is.numeric(gradin) && length(gradin) == 1) return(matrix(gradin, rows, cols))
  gradin
}
