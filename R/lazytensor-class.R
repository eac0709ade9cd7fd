# LazyTensor objects: a formula fragment plus the variables it uses. No
# formula logic lives here beyond string assembly and dimension tracking: a
# reduction (R/lazytensor-reductions.R) turns the fragment into a formula
# string and argument declarations and hands them to keops_kernel().
#
# A LazyTensor is a list with class "LazyTensor":
#   formula  the fragment; each variable appears as its token (lt_token())
#   dim      the dimension of the fragment (an integer >= 1)
#   vars     named list (names = tokens) of leaves: list(cat = 0/1/2 (Vi, Vj,
#            Pm), dim, n = number of points (NA for Pm), data, label)
#   n        c(i = <points of the i-variables>, j = ...), NA when absent

#' LazyTensors: symbolic matrices in plain R syntax
#'
#' A `LazyTensor` stands for a symbolic M x N matrix (or a vector, or a
#' parameter) whose entries are given by a formula in the rows `x_i` of
#' i-indexed data and `y_j` of j-indexed data. Arithmetic, mathematical
#' functions and the functions listed in [lazytensor_functions] build the
#' formula; nothing is computed until a reduction such as
#' `sum(K, index = "j")` (see [lazytensor_reductions]), which compiles the
#' formula with [keops_kernel()] (once per session and formula: later
#' reductions of the same expression on new data of the same shapes reuse the
#' operator) and runs it. Precision, backend, cache and errors are those of
#' `keops_kernel()`.
#'
#' * `Vi(x)` (= `LazyTensor(x, "i")`): `x` is a matrix with one row per
#'   point `x_i` (M rows, points as rows; a plain vector is M points of
#'   dimension 1; a numeric data frame is converted with `as.matrix()`).
#' * `Vj(x)` (= `LazyTensor(x, "j")`): the same for the points `y_j` (N rows).
#' * `Pm(x)` (= `LazyTensor(x)` for a vector): a parameter vector, the same for
#'   every pair `(i, j)`.
#'
#' Numbers combined with a LazyTensor (`2 * x_i`, `x_i - c(1, 0, 0)`,
#' `exp(-D / s)`) become parameters of the formula (hidden `Pm` arguments),
#' so that a loop over values of `s` reuses one operator; R integers (`2L`)
#' become integer constants of the formula, and so do whole-number exponents
#' (`x^2` is `Square(x)`, see [lazytensor_ops]).
#'
#' The print method shows the formula as it will be given to `keops_kernel()`
#' (variables named `v0`, `v1`, ... in order of appearance), the variables
#' with their category and dimensions, and the dimension of the expression.
#'
#' @param x a numeric matrix, vector or data frame (a LazyTensor for the
#'   `is.*` functions).
#' @param index `"i"` or `"j"`: which index the rows of `x` follow; `NA`
#'   (default) for a parameter (then `x` must be a vector).
#' @param is_complex accepted for RKeOps 2.x compatibility; complex
#'   LazyTensors are not supported, so it must be `FALSE`.
#' @return `LazyTensor()`, `Vi()`, `Vj()`, `Pm()`: a LazyTensor. The `is.*`
#'   functions: `TRUE` or `FALSE`. `is.LazyVector()`: a LazyTensor made of
#'   parameters and constants only (no i or j variable); `is.LazyParameter()`:
#'   such a LazyTensor of dimension 1; `is.LazyMatrix()`: a LazyTensor with at
#'   least one i- or j-indexed variable. `is.ComplexLazyTensor()` is always
#'   `FALSE` (no complex LazyTensors in this version).
#' @seealso [lazytensor_reductions], [lazytensor_functions], [grad()],
#'   `vignette("lazytensor", package = "rkeops")`.
#' @examples
#' \donttest{
#' old <- set_rkeops_options(cache_dir = tempfile("rkeops-example-"))
#' X <- matrix(runif(30), 10); Y <- matrix(runif(45), 15); B <- matrix(runif(15), 15)
#' x_i <- Vi(X); y_j <- Vj(Y); b_j <- Vj(B)
#' K <- exp(-sqnorm2(x_i - y_j) / 0.5)   # symbolic 10 x 15 matrix
#' K
#' res <- sum(K * b_j, index = "j")      # 10 x 1: sum over j
#' max(abs(res - exp(-as.matrix(dist(rbind(X, Y)))[1:10, 11:25]^2 / 0.5) %*% B))
#' unlink(get_rkeops_cache_dir(), recursive = TRUE)
#' set_rkeops_options(cache_dir = old$cache_dir)
#' }
#' @name LazyTensor
#' @export
LazyTensor <- function(x, index = NA, is_complex = FALSE) {
  if (!identical(is_complex, FALSE)) {
    lt_abort("complex LazyTensors (is_complex = TRUE) are not supported in this version of rkeops")
  }
  if (is.null(index) || (length(index) == 1 && is.na(index))) {
    if (is.matrix(x) || is.data.frame(x)) {
      lt_abort(c("'index' is missing: a matrix becomes a LazyTensor indexed by \"i\" or \"j\"",
                 "  use LazyTensor(x, \"i\") (= Vi(x)) or LazyTensor(x, \"j\") (= Vj(x)); Pm() takes a vector"))
    }
    return(lt_leaf(x, 2L, lt_label(substitute(x))))
  }
  lt_leaf(x, lt_index_cat(index, "index"), lt_label(substitute(x)))
}

#' @rdname LazyTensor
#' @export
Vi <- function(x, is_complex = FALSE) {
  if (!identical(is_complex, FALSE)) LazyTensor(x, "i", is_complex)
  lt_leaf(x, 0L, lt_label(substitute(x)))
}

#' @rdname LazyTensor
#' @export
Vj <- function(x, is_complex = FALSE) {
  if (!identical(is_complex, FALSE)) LazyTensor(x, "j", is_complex)
  lt_leaf(x, 1L, lt_label(substitute(x)))
}

#' @rdname LazyTensor
#' @export
Pm <- function(x, is_complex = FALSE) {
  if (!identical(is_complex, FALSE)) LazyTensor(x, NA, is_complex)
  lt_leaf(x, 2L, lt_label(substitute(x)))
}

#' @rdname LazyTensor
#' @export
is.LazyTensor <- function(x) inherits(x, "LazyTensor")

#' @rdname LazyTensor
#' @export
is.ComplexLazyTensor <- function(x) FALSE

#' @rdname LazyTensor
#' @export
is.LazyVector <- function(x) is.LazyTensor(x) && all(is.na(x$n))

#' @rdname LazyTensor
#' @export
is.LazyParameter <- function(x) is.LazyVector(x) && x$dim == 1L

#' @rdname LazyTensor
#' @export
is.LazyMatrix <- function(x) is.LazyTensor(x) && !all(is.na(x$n))

# ---- building blocks ----------------------------------------------------------

lt_abort <- function(message, class = NULL) {
  rkeops_abort(message, class = c(class, "rkeops_lazytensor_error"))
}

# "i" -> 0 (Vi), "j" -> 1 (Vj).
lt_index_cat <- function(index, what) {
  if (identical(index, "i")) return(0L)
  if (identical(index, "j")) return(1L)
  lt_abort(sprintf("'%s' must be \"i\" or \"j\", not %s", what,
                   if (is.character(index) && length(index) == 1) paste0("\"", index, "\"")
                   else deparse(index)[1]))
}

# The user's name for the data, when it is a plain symbol (for print).
lt_label <- function(expr) if (is.symbol(expr)) as.character(expr) else ""

# Every leaf gets a token unique in the session, so that leaves can be told
# apart when expressions are combined; reductions rename the tokens
# canonically (v0, v1, ...), so the token never reaches the operator cache.
.lt_counter <- new.env(parent = emptyenv())
.lt_counter$n <- 0L
lt_token <- function() {
  n <- .lt_counter$n + 1L
  if (n == .Machine$integer.max) n <- 1L  # tokens only need to differ within an expression
  .lt_counter$n <- n
  paste0("LT", n, "_")
}

lt_leaf <- function(x, cat, label = "") {
  what <- c("Vi", "Vj", "Pm")[cat + 1]
  if (is.LazyTensor(x)) lt_abort(sprintf("%s(): 'x' is already a LazyTensor", what))
  if (is.data.frame(x) || !(is.numeric(x) || is.logical(x)) || is.complex(x)) {
    x <- as_numeric_input(x, sprintf("the data of %s()", what))  # R/inputs.R: same rules as operators
  }
  if (!is.double(x)) storage.mode(x) <- "double"
  if (cat == 2L) {
    if (is.matrix(x) && nrow(x) != 1 && ncol(x) != 1) {
      lt_abort(sprintf(paste("Pm(): a parameter is a vector, not a %d x %d matrix;",
                             "use Vi() or Vj() for points, or as.vector()"), nrow(x), ncol(x)))
    }
    x <- as.vector(x)
    if (length(x) == 0) lt_abort("Pm(): a parameter needs at least one value")
    dim <- length(x)
    n <- NA_real_
  } else if (is.null(dim(x))) {
    dim <- 1L  # a plain vector: one point of dimension 1 per value
    n <- length(x)
  } else {
    if (length(dim(x)) != 2) lt_abort(sprintf("%s(): 'x' must be a matrix, not an array with %d dimensions",
                                              what, length(dim(x))))
    if (ncol(x) == 0) lt_abort(sprintf("%s(): 'x' has no column: points need a dimension of at least 1", what))
    dim <- ncol(x)
    n <- nrow(x)
  }
  token <- lt_token()
  vars <- list(list(cat = cat, dim = as.integer(dim), n = n, data = x, label = label))
  names(vars) <- token
  ns <- c(i = NA_real_, j = NA_real_)
  if (cat < 2L) ns[cat + 1] <- n
  lt_new(token, dim, vars, ns)
}

# A number or vector next to a LazyTensor: an R integer becomes an integer
# constant of the formula, anything else a parameter. (Doubles are never
# constants: a loop whose values cross a whole number would otherwise switch
# between two operators.)
as_lazy <- function(x, what = "operand") {
  if (is.LazyTensor(x)) return(x)
  if (!(is.numeric(x) || is.logical(x)) || is.complex(x) || is.matrix(x) || is.data.frame(x) ||
      length(x) == 0) {
    lt_abort(sprintf(paste("the %s must be a LazyTensor, a number or a numeric vector (a parameter),",
                           "not %s; turn a matrix into a LazyTensor with Vi() or Vj() first"),
                     what, if (is.matrix(x)) "a matrix" else class(x)[1]))
  }
  if (is.integer(x) && length(x) == 1 && !is.na(x)) return(lt_constant(x))
  lt_leaf(x, 2L)
}

is_whole <- function(x) {
  is.finite(x) && x == round(x) && abs(x) < 2^31
}

lt_constant <- function(x) {
  x <- as.integer(round(x))
  f <- if (x < 0) sprintf("(%d)", x) else as.character(x)
  lt_new(f, 1L, list(), c(i = NA_real_, j = NA_real_))
}

# Combines the variables and point counts of several LazyTensors; two
# i-variables (j-variables) with different numbers of points cannot meet.
lt_combine <- function(parts, formula, dim) {
  vars <- parts[[1]]$vars
  ns <- parts[[1]]$n
  for (p in parts[-1]) {
    pv <- p$vars
    if (length(pv)) {
      new <- is.na(match(names(pv), names(vars)))
      if (any(new)) vars <- c(vars, pv[new])
    }
    pn <- p$n
    both <- !is.na(ns) & !is.na(pn)
    if (any(ns[both] != pn[both])) lt_points_error(ns, pn, both)
    absent <- is.na(ns)
    ns[absent] <- pn[absent]
  }
  lt_new(formula, dim, vars, ns)
}

lt_points_error <- function(ns, pn, both) {
  side <- which(both & ns != pn)[1]
  lt_abort(sprintf(paste("cannot combine LazyTensors whose %s-indexed variables have different",
                         "numbers of points (%.0f and %.0f): every %s(x) of an expression must have",
                         "the same number of rows"),
                   c("i", "j")[side], ns[side], pn[side], c("Vi", "Vj")[side]))
}

# class<- on a list is several times cheaper than structure(), and
# expressions are rebuilt on every iteration of a user's loop.
lt_new <- function(formula, dim, vars, n) {
  if (!is.integer(dim)) dim <- as.integer(dim)
  x <- list(formula = formula, dim = dim, vars = vars, n = n)
  class(x) <- "LazyTensor"
  x
}

# Output dimension of a vectorised operation (dims equal, or 1 broadcast).
lt_vso_dim <- function(parts, op) {
  if (length(parts) == 2) {  # the common case, without vapply()
    d1 <- parts[[1]]$dim
    d2 <- parts[[2]]$dim
    if (d1 == d2 || d2 == 1L) return(d1)
    if (d1 == 1L) return(d2)
  }
  dims <- vapply(parts, function(p) p$dim, integer(1))
  big <- unique(dims[dims > 1L])
  if (length(big) > 1) {
    lt_abort(sprintf(paste("%s needs operands of the same dimension, or of dimension 1; got dimensions %s"),
                     op, paste(dims, collapse = " and ")), class = "rkeops_dimension_error")
  }
  if (length(big)) big else 1L
}

# f(parts): the formula "Name(a, b, ..., extra)" with dimension `dim`
# (default: the vectorised rule).
lt_call <- function(name, parts, extra = character(), dim = NULL, label = name) {
  if (length(parts) == 1) {  # the common case, without lapply()/vapply()
    x <- as_lazy(parts[[1]])
    f <- paste0(name, "(", paste(c(x$formula, extra), collapse = ", "), ")")
    return(lt_new(f, if (is.null(dim)) x$dim else dim, x$vars, x$n))
  }
  parts <- lapply(parts, as_lazy)
  if (is.null(dim)) dim <- lt_vso_dim(parts, label)
  f <- paste0(name, "(", paste(c(vapply(parts, `[[`, "", "formula"), extra), collapse = ", "), ")")
  lt_combine(parts, f, dim)
}

# Infix "a op b", parenthesised.
lt_infix <- function(op, a, b, dim = NULL, label = sprintf("'%s'", op)) {
  # The most frequent node of all: written without helper calls where it can.
  if (!inherits(a, "LazyTensor")) a <- as_lazy(a)
  if (!inherits(b, "LazyTensor")) b <- as_lazy(b)
  if (is.null(dim)) {
    da <- a$dim
    db <- b$dim
    dim <- if (da == db || db == 1L) da else if (da == 1L) db else lt_vso_dim(list(a, b), label)
  }
  f <- paste0("(", a$formula, " ", op, " ", b$formula, ")")
  vars <- a$vars
  bv <- b$vars
  if (length(bv)) {
    new <- is.na(match(names(bv), names(vars)))
    if (any(new)) vars <- c(vars, bv[new])
  }
  ns <- a$n
  pn <- b$n
  both <- !is.na(ns) & !is.na(pn)
  if (any(ns[both] != pn[both])) lt_points_error(ns, pn, both)
  absent <- is.na(ns)
  ns[absent] <- pn[absent]
  x <- list(formula = f, dim = dim, vars = vars, n = ns)
  class(x) <- "LazyTensor"
  x
}

# An integer argument of an operation (Elem's index, K, ...).
lt_int_arg <- function(value, what, min = -Inf, max = Inf) {
  ok <- is.numeric(value) && length(value) == 1 && is_whole(value) && value >= min && value <= max
  if (!ok) {
    range <- if (is.finite(min) && is.finite(max)) sprintf(" in %s..%s", min, max)
             else if (is.finite(min)) sprintf(" >= %s", min) else ""
    lt_abort(sprintf("'%s' must be a whole number%s, got %s", what, range,
                     paste(format(value), collapse = ", ")))
  }
  as.integer(value)
}

# ---- printing -------------------------------------------------------------------

#' @export
print.LazyTensor <- function(x, ...) {
  built <- lt_canonical(x)
  kind <- if (!is.na(x$n[1]) && !is.na(x$n[2])) {
    sprintf("symbolic %.0f x %.0f matrix", x$n[1], x$n[2])
  } else if (!is.na(x$n[1])) {
    sprintf("symbolic vector indexed by i (%.0f points)", x$n[1])
  } else if (!is.na(x$n[2])) {
    sprintf("symbolic vector indexed by j (%.0f points)", x$n[2])
  } else {
    "symbolic parameter"
  }
  cat(sprintf("LazyTensor: %s of dimension %d\n", kind, x$dim))
  cat("  formula:   ", built$formula, "\n", sep = "")
  if (length(x$vars)) {
    cat("  variables:\n")
    for (k in seq_along(x$vars)) {
      v <- x$vars[[k]]
      shape <- if (v$cat == 2L) sprintf("vector of length %d", v$dim)
               else sprintf("%.0f x %d (%.0f points of dimension %d)", v$n, v$dim, v$n, v$dim)
      cat(sprintf("    %-14s %s%s\n", built$args[k], shape,
                  if (nzchar(v$label)) paste0("  from '", v$label, "'") else ""))
    }
  }
  invisible(x)
}

#' @export
format.LazyTensor <- function(x, ...) lt_canonical(x)$formula

# The fragment with canonical names, the declarations and the data, in the
# order the variables appear (that order is the same each time an expression
# is built the same way, so the memo of R/lazytensor-reductions.R hits).
lt_canonical <- function(x, extra = list()) {
  vars <- x$vars
  for (e in extra) {
    new <- e$vars[!names(e$vars) %in% names(vars)]
    if (length(new)) vars <- c(vars, new)
  }
  tokens <- names(vars)
  canon <- paste0("v", seq_along(tokens) - 1L)
  rename <- function(f) {
    for (k in seq_along(tokens)) f <- gsub(tokens[k], canon[k], f, fixed = TRUE)
    f
  }
  cats <- vapply(vars, `[[`, 0L, "cat")
  dims <- vapply(vars, `[[`, 0L, "dim")
  list(formula = rename(x$formula), extra = vapply(extra, function(e) rename(e$formula), ""),
       args = paste0(canon, " = ", c("Vi", "Vj", "Pm")[cats + 1L], "(", dims, ")"),
       names = canon, tokens = tokens, data = lapply(vars, `[[`, "data"), cats = cats)
}
