# Arithmetic, comparisons and mathematical functions on LazyTensors, through
# R's group generics (Ops, Math): base R functions keep their own behaviour on
# every other object, since nothing is masked.

#' Arithmetic and mathematical functions on LazyTensors
#'
#' The usual R operators and functions build formulas when one operand is a
#' [LazyTensor]; on any other object they are R's own (these are methods of
#' the group generics `Ops` and `Math`, nothing of base R is replaced).
#' Operations are element-wise on the vectors `x_i`, `y_j` (operands of the
#' same dimension, or one of dimension 1, which is broadcast).
#'
#' * `+ - * /`, unary `-`, comparisons `< > <= >= == !=` (1 where true, 0
#'   where false), `x %% m` (`Mod(x, m, 0)`), `x %/% m` (`Floor(x / m)`).
#' * `x | y`: the scalar product `(x|y)` of two vectors of the same dimension
#'   (dimension 1), as in RKeOps 2.x. Write it in parentheses, `(x | y)`:
#'   `|` binds more loosely than `+` or `*` in R too.
#' * `x^p`: `Square(x)` for `p = 2`, `Sqrt(x)` for `0.5`, `Rsqrt(x)` for
#'   `-0.5`, `Pow(x, p)` for another whole number, and `Powf(x, p)` (`x^p`
#'   for `x > 0`) for any other number or a LazyTensor `p`.
#' * `Math`: `exp`, `log` (natural, or with `base`), `log2`, `log10`, `log1p`,
#'   `expm1`, `sqrt`, `abs`, `sign`, `sin`, `cos`, `tan`, `asin`, `acos`,
#'   `atan`, `sinh`, `cosh`, `tanh`, `floor`, `ceiling`, `trunc`,
#'   `round(x, digits = 0)` (halves away from zero, as C).
#'
#' `&` and `!` have no formula counterpart: they stop with an error.
#'
#' @param e1,e2 operands: LazyTensors, numbers or numeric vectors (parameters).
#' @param x a LazyTensor.
#' @param ... further arguments: `base` of `log()`, `digits` of `round()`.
#' @return A LazyTensor.
#' @name lazytensor_ops
#' @examples
#' x_i <- Vi(matrix(runif(6), 2)); y_j <- Vj(matrix(runif(9), 3))
#' exp(-(x_i - y_j)^2 / 2)
#' (x_i | y_j)
#' exp(1); sum(1:3)   # base R, unchanged
NULL

#' @rdname lazytensor_ops
#' @export
Ops.LazyTensor <- function(e1, e2) {
  op <- .Generic
  if (missing(e2)) {
    if (op == "-") {
      x <- as_lazy(e1)
      return(lt_combine(list(x), paste0("(-", x$formula, ")"), x$dim))
    }
    if (op == "+") return(e1)
    lt_abort(sprintf("'%s' has no meaning for a LazyTensor (no boolean operations in formulas)", op))
  }
  switch(op,
    "+" = , "-" = , "*" = , "/" = lt_infix(op, e1, e2),
    "<" = , ">" = , "<=" = , ">=" = , "==" = , "!=" = lt_infix(op, e1, e2),
    "^" = lt_power(e1, e2),
    "|" = lt_scalprod(e1, e2),
    "%%" = lt_call("Mod", list(e1, e2, 0L), label = "'%%'"),
    "%/%" = floor(e1 / e2),
    lt_abort(sprintf(paste("'%s' has no meaning for LazyTensors; comparisons give 0/1 LazyTensors,",
                           "combine them with * and + instead of & and |"), op))
  )
}

lt_scalprod <- function(a, b) {
  a <- as_lazy(a, "left operand of '|'")
  b <- as_lazy(b, "right operand of '|'")
  if (a$dim != b$dim) {
    lt_abort(sprintf("the scalar product (x | y) needs two vectors of the same dimension, got %d and %d",
                     a$dim, b$dim), class = "rkeops_dimension_error")
  }
  lt_infix("|", a, b, dim = 1L)
}

lt_power <- function(x, p) {
  if (is.numeric(p) && length(p) == 1 && !is.LazyTensor(p) && is.LazyTensor(x)) {
    if (p == 2) return(lt_call("Square", list(x)))
    if (p == 0.5) return(lt_call("Sqrt", list(x)))
    if (p == -0.5) return(lt_call("Rsqrt", list(x)))
    if (p == 1) return(x)
    if (is_whole(p)) return(lt_call("Pow", list(x), extra = as.character(as.integer(p)), dim = x$dim))
  }
  lt_call("Powf", list(x, p), label = "'^'")
}

#' @rdname lazytensor_ops
#' @export
Math.LazyTensor <- function(x, ...) {
  extra <- list(...)
  unary <- c(exp = "Exp", sqrt = "Sqrt", abs = "Abs", sign = "Sign", sin = "Sin", cos = "Cos",
             asin = "Asin", acos = "Acos", atan = "Atan", floor = "Floor")
  op <- .Generic
  if (op %in% names(unary)) return(lt_call(unary[[op]], list(x)))
  switch(op,
    log = {
      res <- lt_call("Log", list(x))
      base <- if (length(extra)) extra[[1]] else NULL
      if (is.null(base)) res else res / log(base)
    },
    log2 = lt_call("Log", list(x)) / log(2),
    log10 = lt_call("Log", list(x)) / log(10),
    log1p = lt_call("Log", list(x + 1L)),
    expm1 = lt_call("Exp", list(x)) - 1L,
    tan = lt_call("Sin", list(x)) / lt_call("Cos", list(x)),
    sinh = (exp(x) - exp(-x)) / 2L,
    cosh = (exp(x) + exp(-x)) / 2L,
    tanh = {
      e <- exp(2L * x)
      (e - 1L) / (e + 1L)
    },
    ceiling = -floor(-x),
    trunc = sign(x) * floor(abs(x)),
    round = {
      digits <- if (length(extra)) extra[[1]] else 0
      lt_call("Round", list(x), extra = as.character(lt_int_arg(digits, "digits", min = 0)), dim = x$dim)
    },
    lt_abort(sprintf("%s() is not available for LazyTensors", op))
  )
}
