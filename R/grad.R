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
#' is a single row: the gradient summed over all pairs. With
#' `eta = matrix(1, M, 1)` and a one-column output, this is the ordinary
#' gradient of `sum(op(input))`. With `inner_dim = "row"`, `eta` is given
#' transposed like the other inputs (one column per output row) and the
#' result is transposed too.
#'
#' The extra input is declared as `eta` (or `eta1`, `eta2`, ... if the name
#' is taken), so a named input list can name it:
#' `g(list(x = x, y = y, eta = eta))`. The new operator keeps `op`'s
#' `sum_scheme`, precision and compile settings (those `op` was made with,
#' not the options in effect when `keops_grad()` is called).
#'
#' @section Which reductions can be differentiated:
#' * `Sum_Reduction`, `LogSumExp_Reduction`, `LogSumExpWeight_Reduction` and
#'   `SumSoftMaxWeight_Reduction`. For the last three, the gradient needs the
#'   forward result: the gradient operator computes it first, on the same
#'   inputs (it is not an input you supply).
#' * `ArgMin_Reduction`, `ArgMax_Reduction`, `ArgKMin_Reduction` and
#'   `Zero_Reduction`: the gradient is zero (a matrix of zeros of the right
#'   shape).
#' * `Min_Reduction`, `Max_Reduction`, `Min_ArgMin_Reduction`,
#'   `Max_ArgMax_Reduction`, `KMin_Reduction` and `KMin_ArgKMin_Reduction`
#'   are not differentiable: `keops_grad()` raises an error of class
#'   `rkeops_formula_error`.
#' * `Max_SumShiftExp_Reduction` and `Max_SumShiftExpWeight_Reduction` return
#'   the raw state `[m, s]`; differentiate `LogSumExp_Reduction` (or
#'   `LogSumExpWeight_Reduction`) instead, or write
#'   `Grad_WithSavedForward(R, v, e, r)` in a formula.
#'
#' Every operation of this version's formula language is differentiable;
#' piecewise and integer-valued operations (`Sign`, `Step`, `Floor`,
#' `Round`, comparisons, `OneHot`, `ArgMin`, `ArgMax`) have a zero
#' derivative, and `Abs`, `ReLU`, `ClampInt`, `Clamp`, `Max`, `Min`, `Mod`,
#' `IfElse` use the derivative of the active piece. As in KeOps,
#' `Rsqrt(0) = 0`, so `Sqrt`, `Norm2` and `Normalize` have a zero derivative
#' at 0 (e.g. coinciding points contribute nothing to the gradient of
#' `Norm2(x - y)`).
#'
#' @section Higher orders and gradients in formulas:
#' Gradients compose: `keops_grad(keops_grad(op, "x"), "y")` is a
#' Hessian-vector product; its inputs are `op`'s, then `eta` (for the first
#' gradient), then `eta1` (shaped like `x`). Differentiate with respect to a
#' parameter last (the gradient for a parameter is already summed over all
#' rows), and only once through the log-sum-exp family.
#'
#' The same computations can be written in a formula given to
#' [keops_kernel()]:
#' * `Grad(Sum_Reduction(F, 0), x, eta)` is what `keops_grad(op, "x")`
#'   builds: `eta` is declared like the output (a `Vi` for axis 0, a `Vj` for
#'   axis 1) with the output's dimension. `GradFromPos(R, x, p)` declares it
#'   itself at position `p`, and `GradFromInd(R, k, p)` also selects the
#'   variable by its position `k`.
#' * `Grad(F, x, e)` inside a reduction is the vector-Jacobian product of the
#'   formula `F` (`e` of the dimension of `F`, or 1 to broadcast), and
#'   `Diff(F, x, u)` the directional derivative (`u` of the dimension of
#'   `x`); `Diff(Sum_Reduction(F, t), x, u)` is the directional derivative of
#'   a sum reduction, with the rows of the reduction.
#' * `GradMatrix(F, x)` (the Jacobian, row-major), `Divergence(F, x)` and
#'   `Laplacian(F, x)`.
#'
#' @param op an operator from [keops_kernel()] (or [keops_grad()]).
#' @param operator the same as `op`, under its RKeOps 1.x / 2.x name:
#'   `keops_grad(operator = op, var = "x")` works too.
#' @param var the variable to differentiate with respect to: its name, or its
#'   0-based position in the argument list (also works for a variable written
#'   inline in the formula, such as `Var(2, 1, 2)`).
#' @return An operator (see [keops_kernel()]) whose inputs are those of `op`
#'   followed by `eta`.
#' @examples
#' \donttest{
#' old <- set_rkeops_options(cache_dir = tempfile("rkeops-example-"))
#' op <- keops_kernel("Sum_Reduction(SqNorm2(x - y), 0)", c("x = Vi(2)", "y = Vj(2)"))
#' gx <- keops_grad(op, "x")          # or keops_grad(op, 0)
#' x <- matrix(runif(10), 5); y <- matrix(runif(8), 4); eta <- matrix(1, 5, 1)
#' gx(list(x, y, eta))                # 5 x 2: sum_j 2 (x_i - y_j)
#' 2 * (nrow(y) * x - matrix(colSums(y), 5, 2, byrow = TRUE))
#' gx(list(eta = eta, y = y, x = x))  # named inputs, in any order
#' unlink(get_rkeops_cache_dir(), recursive = TRUE)
#' set_rkeops_options(cache_dir = old$cache_dir)
#' }
#' @export
keops_grad <- function(op, var, operator) {
  if (!missing(operator)) {
    if (!missing(op)) {
      rkeops_abort("give the operator as 'op' or as 'operator' (the RKeOps 2.x name), not both",
                   class = "rkeops_argument_error")
    }
    op <- operator
  }
  if (missing(op) || !inherits(op, "rkeops_operator")) {
    rkeops_abort("'op' must be an operator created by keops_kernel() or keops_grad()",
                 class = "rkeops_argument_error")
  }
  if (missing(var)) {
    rkeops_abort("'var' is missing: give the name or 0-based position of the variable to differentiate",
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
  # The gradient keeps op's precision and compile settings, whatever the
  # options are now.
  new_operator(sprintf("Grad(%s, %s, %s)", d$formula, v, eta), decls, d$sum_scheme %||% "block_sum",
               environment(op)$state$settings)
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
