# Named functions of the formula language for LazyTensors: norms, the
# element-wise functions without an R spelling, indexing and tensor algebra.
# Each one adds one operation to the formula and tracks its dimension, so
# that dimension errors are reported where the expression is built.

#' Functions of the formula language for LazyTensors
#'
#' Each function adds one operation of the formula language
#' (`vignette("formula-language", package = "rkeops")`) to a [LazyTensor] and
#' returns a LazyTensor. Numbers and vectors given as arguments become
#' constants or parameters. Operations are element-wise on vectors of the
#' same dimension, or of dimension 1 (broadcast), unless stated.
#'
#' * Norms and distances (dimension 1): `sqnorm2(x)` = `sum(x^2)`,
#'   `norm2(x)`, `sqdist(x, y)` = `sqnorm2(x - y)`, `weightedsqnorm(x, s)`
#'   (`s` of dimension 1: `s * sqnorm2(x)`; of dimension D: `sum(s * x^2)`; of
#'   dimension D^2: `x' S x`, `S` read row-major), `weightedsqdist(x, y, s)` =
#'   `weightedsqnorm(x - y, s)`; `normalize(x)` = `x / norm2(x)` (0 at 0).
#' * Element-wise: `inv(x)` = `1/x`, `rsqrt(x)` = `1/sqrt(x)` (0 at 0),
#'   `square(x)`, `relu(x)`, `step(x)` (0 for `x < 0`, else 1), `xlogx(x)`
#'   (0 at 0), `sinxdivx(x)` (1 at 0), `clamp(x, a, b)`, `clampint(x, a, b)`
#'   (whole-number bounds), `mod(x, a, b = 0)` = `x - a * floor((x - b) / a)`,
#'   `atan2(y, x)`, `ifelse(x, a, b)` (`a` where `x >= 0`, else `b`).
#' * Vector structure (indices are **0-based**, as everywhere in formulas):
#'   `elem(x, m)` (component `m`), `elemT(x, m, n)` (a vector of `n` zeros with
#'   `x` at position `m`), `extract(x, m, d)` (components `m .. m + d - 1`),
#'   `extractT(x, m, d)` (`x` written at position `m` of `d` zeros),
#'   `concat(x, y)`, `one_hot(x, d)` (a 1 at position `round(x)` of `d` zeros;
#'   `x` of dimension 1).
#' * Tensors, **row-major** (a vector of dimension n*p read as an n x p matrix
#'   has entry `(r, c)` at position `r*p + c`): `matvecmult(m, v)`,
#'   `vecmatmult(v, m)`, `tensorprod(x, y)` (outer product, dimension
#'   `dim x * dim y`).
#'
#' `step()`, `atan2()` and `ifelse()` also exist in R (`stats::step()`,
#' `base::atan2()`, `base::ifelse()`): these versions call R's own function,
#' with the same arguments, whenever no argument is a LazyTensor, so results
#' are identical.
#'
#' @param x,y LazyTensors (or numbers and vectors, which become constants or
#'   parameters).
#' @param s weights: a LazyTensor, a number or a vector.
#' @param a,b bounds (`clamp`, `clampint`), modulus and offset (`mod`), or the
#'   values of `ifelse` where `x >= 0` and elsewhere.
#' @param m,n,d integer positions and dimensions (0-based positions).
#' @param v a vector LazyTensor.
#' @param object,... for `step()` on other objects: passed to
#'   [stats::step()].
#' @param test,yes,no arguments of [base::ifelse()] when `test` is not a
#'   LazyTensor; for a LazyTensor `test`, `yes` where `test >= 0`, else `no`.
#' @return A LazyTensor (or, for other objects, R's own result).
#' @name lazytensor_functions
#' @examples
#' x_i <- Vi(matrix(runif(6), 2)); y_j <- Vj(matrix(runif(9), 3))
#' sqdist(x_i, y_j)
#' concat(elem(x_i, 0), norm2(y_j))
#' ifelse(c(TRUE, FALSE), 1, 2)   # base R, unchanged
NULL

#' @rdname lazytensor_functions
#' @export
sqnorm2 <- function(x) lt_call("SqNorm2", list(x), dim = 1L)

#' @rdname lazytensor_functions
#' @export
norm2 <- function(x) lt_call("Norm2", list(x), dim = 1L)

#' @rdname lazytensor_functions
#' @export
normalize <- function(x) {
  x <- as_lazy(x)
  lt_call("Normalize", list(x), dim = x$dim)
}

#' @rdname lazytensor_functions
#' @export
sqdist <- function(x, y) {
  parts <- list(as_lazy(x), as_lazy(y))
  lt_vso_dim(parts, "sqdist()")
  lt_call("SqDist", parts, dim = 1L)
}

#' @rdname lazytensor_functions
#' @export
weightedsqnorm <- function(x, s) {
  x <- as_lazy(x)
  s <- as_lazy(s, "weight 's'")
  check_weight_dim(s$dim, x$dim, "weightedsqnorm()")
  lt_call("WeightedSqNorm", list(s, x), dim = 1L)
}

#' @rdname lazytensor_functions
#' @export
weightedsqdist <- function(x, y, s) {
  parts <- list(as_lazy(x), as_lazy(y))
  d <- lt_vso_dim(parts, "weightedsqdist()")
  s <- as_lazy(s, "weight 's'")
  check_weight_dim(s$dim, d, "weightedsqdist()")
  lt_call("WeightedSqDist", c(list(s), parts), dim = 1L)
}

check_weight_dim <- function(ds, d, what) {
  if (!ds %in% c(1L, d, d * d)) {
    lt_abort(sprintf("%s: the weights must have dimension 1, %d or %d (for vectors of dimension %d), got %d",
                     what, d, d * d, d, ds), class = "rkeops_dimension_error")
  }
}

#' @rdname lazytensor_functions
#' @export
inv <- function(x) lt_call("Inv", list(x))

#' @rdname lazytensor_functions
#' @export
rsqrt <- function(x) lt_call("Rsqrt", list(x))

#' @rdname lazytensor_functions
#' @export
square <- function(x) lt_call("Square", list(x))

#' @rdname lazytensor_functions
#' @export
relu <- function(x) lt_call("ReLU", list(x))

#' @rdname lazytensor_functions
#' @export
step <- function(object, ...) {
  if (is.LazyTensor(object)) return(lt_call("Step", list(object)))
  stats::step(object, ...)
}

#' @rdname lazytensor_functions
#' @export
xlogx <- function(x) lt_call("XLogX", list(x))

#' @rdname lazytensor_functions
#' @export
sinxdivx <- function(x) lt_call("SinXDivX", list(x))

#' @rdname lazytensor_functions
#' @export
clamp <- function(x, a, b) lt_call("Clamp", list(x, a, b), label = "clamp()")

#' @rdname lazytensor_functions
#' @export
clampint <- function(x, a, b) {
  x <- as_lazy(x)
  lt_call("ClampInt", list(x), extra = as.character(c(lt_int_arg(a, "a"), lt_int_arg(b, "b"))),
          dim = x$dim)
}

#' @rdname lazytensor_functions
#' @export
mod <- function(x, a, b = 0L) lt_call("Mod", list(x, a, b), label = "mod()")

#' @rdname lazytensor_functions
#' @export
atan2 <- function(y, x) {
  if (is.LazyTensor(y) || is.LazyTensor(x)) return(lt_call("Atan2", list(y, x), label = "atan2()"))
  base::atan2(y, x)
}

#' @rdname lazytensor_functions
#' @export
ifelse <- function(test, yes, no) {
  if (is.LazyTensor(test)) return(lt_call("IfElse", list(test, yes, no), label = "ifelse()"))
  base::ifelse(test, yes, no)
}

#' @rdname lazytensor_functions
#' @export
elem <- function(x, m) {
  x <- as_lazy(x)
  lt_call("Elem", list(x), extra = as.character(lt_int_arg(m, "m", 0, x$dim - 1)), dim = 1L)
}

#' @rdname lazytensor_functions
#' @export
elemT <- function(x, m, n) {
  x <- as_lazy(x)
  if (x$dim != 1L) lt_abort(sprintf("elemT(): 'x' must have dimension 1, got %d", x$dim),
                            class = "rkeops_dimension_error")
  n <- lt_int_arg(n, "n", 1)
  m <- lt_int_arg(m, "m", 0, n - 1)
  lt_call("ElemT", list(x), extra = as.character(c(n, m)), dim = n)
}

#' @rdname lazytensor_functions
#' @export
extract <- function(x, m, d) {
  x <- as_lazy(x)
  m <- lt_int_arg(m, "m", 0, x$dim - 1)
  d <- lt_int_arg(d, "d", 1, x$dim - m)
  lt_call("Extract", list(x), extra = as.character(c(m, d)), dim = d)
}

#' @rdname lazytensor_functions
#' @export
extractT <- function(x, m, d) {
  x <- as_lazy(x)
  m <- lt_int_arg(m, "m", 0)
  d <- lt_int_arg(d, "d", m + x$dim)
  lt_call("ExtractT", list(x), extra = as.character(c(m, d)), dim = d)
}

#' @rdname lazytensor_functions
#' @export
concat <- function(x, y) {
  parts <- list(as_lazy(x), as_lazy(y))
  lt_call("Concat", parts, dim = parts[[1]]$dim + parts[[2]]$dim)
}

#' @rdname lazytensor_functions
#' @export
one_hot <- function(x, d) {
  x <- as_lazy(x)
  if (x$dim != 1L) lt_abort(sprintf("one_hot(): 'x' must have dimension 1, got %d", x$dim),
                            class = "rkeops_dimension_error")
  d <- lt_int_arg(d, "d", 1)
  lt_call("OneHot", list(x), extra = as.character(d), dim = d)
}

#' @rdname lazytensor_functions
#' @export
matvecmult <- function(m, v) {
  m <- as_lazy(m)
  v <- as_lazy(v)
  check_matrix_vector("matvecmult", m, v, sprintf("an n x %d matrix", v$dim))
  lt_call("MatVecMult", list(m, v), dim = m$dim %/% v$dim)
}

#' @rdname lazytensor_functions
#' @export
vecmatmult <- function(v, m) {
  v <- as_lazy(v)
  m <- as_lazy(m)
  check_matrix_vector("vecmatmult", m, v, sprintf("a %d x p matrix", v$dim))
  lt_call("VecMatMult", list(v, m), dim = m$dim %/% v$dim)
}

# The matrix operand of matvecmult()/vecmatmult() holds a whole number of
# rows (or columns) of the vector's dimension.
check_matrix_vector <- function(fn, m, v, shape) {
  if (m$dim %% v$dim != 0L) {
    lt_abort(sprintf(paste("%s(): the matrix (dimension %d) must be a multiple of the vector's",
                           "dimension %d (%s, row-major)"), fn, m$dim, v$dim, shape),
             class = "rkeops_dimension_error")
  }
}

#' @rdname lazytensor_functions
#' @export
tensorprod <- function(x, y) {
  parts <- list(as_lazy(x), as_lazy(y))
  lt_call("TensorProd", parts, dim = parts[[1]]$dim * parts[[2]]$dim)
}
