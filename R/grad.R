#' Gradient of a kernel operator
#'
#' `keops_grad(op, var)` returns a new operator that computes the gradient
#' of `op`'s reduction with respect to one of its arguments, as a
#' vector-Jacobian product (the RKeOps 1.x behaviour, spec section 5.7).
#'
#' The new operator takes the original inputs followed by one extra input,
#' the gradient input `eta`: a matrix with one row per output row of `op`
#' (M rows for an axis-0 reduction, N rows for axis 1) and as many columns
#' as `op`'s output. Its result is
#' \deqn{\sum_{\text{output rows } r} \eta_r^\top \, \partial\, \mathrm{op}_r / \partial\, \mathrm{var}}{sum_r eta_r' d op_r / d var}
#' arranged like `var`: one row per point of `var` (M rows for a `Vi`, N
#' rows for a `Vj`) and `dim(var)` columns. For a parameter (`Pm`) the result
#' is a single row: the gradient summed over all pairs.
#'
#' The extra input is declared as `eta` (or `eta1`, `eta2`, ... if the name
#' is taken), so a named input list can name it. Gradients compose:
#' `keops_grad(keops_grad(op, "x"), "y")` is a Hessian-vector product. The
#' same can be written directly in a formula as
#' `Grad(Sum_Reduction(F, 0), x, eta)`, with `eta` declared as a `Vi`.
#'
#' @param op an operator from [keops_kernel()] (or [keops_grad()]).
#' @param var the variable to differentiate with respect to: its name, or its
#'   0-based position in the argument list.
#' @return An operator (see [keops_kernel()]).
#' @examples
#' \donttest{
#' old <- set_rkeops_options(cache_dir = tempfile("rkeops-example-"))
#' op <- keops_kernel("Sum_Reduction(SqNorm2(x - y), 0)", c("x = Vi(2)", "y = Vj(2)"))
#' gx <- keops_grad(op, "x")          # or keops_grad(op, 0)
#' x <- matrix(runif(10), 5); y <- matrix(runif(8), 4); eta <- matrix(1, 5, 1)
#' gx(list(x, y, eta))                # 5 x 2: sum_j 2 (x_i - y_j)
#' 2 * (nrow(y) * x - matrix(colSums(y), 5, 2, byrow = TRUE))
#' unlink(get_rkeops_cache_dir(), recursive = TRUE)
#' set_rkeops_options(cache_dir = old$cache_dir)
#' }
#' @export
keops_grad <- function(op, var) {
  if (!inherits(op, "rkeops_operator")) {
    rkeops_abort("'op' must be an operator created by keops_kernel() or keops_grad()",
                 class = "rkeops_argument_error")
  }
  d <- op()
  table <- d$args_info
  k <- grad_variable_row(table, var)
  name <- table$name
  eta <- "eta"
  i <- 0
  while (eta %in% name) {
    i <- i + 1
    eta <- paste0("eta", i)
  }
  p <- nrow(table)  # positions are 0..p-1: the gradient input goes last
  cats <- category_names[table$cat + 1]
  # Explicit positions for every declaration: inline variables of the
  # formula keep their places.
  named <- nzchar(name)
  decls <- sprintf("%s = %s(%d, %d)", name[named], cats[named], table$pos[named], table$dim[named])
  decls <- c(decls, sprintf("%s = %s(%d, %d)", eta, category_names[d$axis + 1], p, d$output_dim))
  v <- sprintf("Var(%d, %d, %d)", table$pos[k], table$dim[k], table$cat[k])
  keops_kernel(sprintf("Grad(%s, %s, %s)", d$formula, v, eta), decls, sum_scheme = d$sum_scheme %||% "block_sum")
}

grad_variable_row <- function(table, var) {
  if (is.character(var) && length(var) == 1 && !is.na(var)) {
    k <- match(var, table$name)
    if (is.na(k)) {
      rkeops_abort(sprintf("'%s' is not an argument of the operator; its arguments are: %s", var,
                           paste(table$name[nzchar(table$name)], collapse = ", ")),
                   class = "rkeops_argument_error")
    }
    return(k)
  }
  if (is.numeric(var) && length(var) == 1 && !is.na(var) && var == round(var)) {
    k <- match(var, table$pos)
    if (is.na(k)) {
      rkeops_abort(sprintf("position %s is not an argument of the operator (positions are 0 to %d)",
                           format(var), nrow(table) - 1), class = "rkeops_argument_error")
    }
    return(k)
  }
  rkeops_abort("'var' must be an argument name or a 0-based position", class = "rkeops_argument_error")
}
