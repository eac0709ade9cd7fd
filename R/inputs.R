# Call-time checks: the list given to an operator, argument by argument,
# against the declarations. Messages name the argument (name and position)
# and say what was expected.

category_names <- c("Vi", "Vj", "Pm")

describe_arg <- function(table, k) {
  name <- table$name[k]
  decl <- sprintf("%s(%d)", category_names[table$cat[k] + 1], table$dim[k])
  if (nzchar(name)) sprintf("input %d ('%s' = %s)", k, name, decl) else sprintf("input %d (%s)", k, decl)
}

# Puts a named list in declaration order.
order_inputs <- function(input, table) {
  nms <- names(input)
  if (is.null(nms) || all(nms == "")) return(input)
  declared <- table$name
  if (any(nms == "")) {
    rkeops_abort("the input list names some elements but not all: name every element or none",
                 class = "rkeops_input_error")
  }
  unknown <- setdiff(nms, declared)
  if (length(unknown)) {
    rkeops_abort(sprintf("unknown input name%s %s; the operator's arguments are: %s",
                         if (length(unknown) > 1) "s" else "",
                         paste0("'", unknown, "'", collapse = ", "),
                         paste(declared[nzchar(declared)], collapse = ", ")),
                 class = "rkeops_input_error")
  }
  dup <- unique(nms[duplicated(nms)])
  if (length(dup)) {
    rkeops_abort(sprintf("input name '%s' is given twice", dup[1]), class = "rkeops_input_error")
  }
  missing <- setdiff(declared[nzchar(declared)], nms)
  if (length(missing)) {
    rkeops_abort(sprintf("missing input%s %s", if (length(missing) > 1) "s" else "",
                         paste0("'", missing, "'", collapse = ", ")),
                 class = "rkeops_input_error")
  }
  input[declared]
}

# One input as a double matrix with points as rows (or a vector for Pm).
as_numeric_input <- function(x, what) {
  if (is.data.frame(x)) {
    ok <- vapply(x, function(col) is.numeric(col) || is.logical(col), logical(1))
    if (!all(ok)) {
      rkeops_abort(sprintf("%s is a data frame with non-numeric columns (%s)", what,
                           paste(names(x)[!ok], collapse = ", ")), class = "rkeops_input_error")
    }
    x <- as.matrix(x)
  }
  if (is.complex(x) || !(is.numeric(x) || is.logical(x))) {
    rkeops_abort(sprintf("%s must be a numeric matrix or vector, not %s", what,
                         if (is.complex(x)) "a complex one" else if (is.matrix(x)) paste("a", typeof(x), "matrix") else class(x)[1]),
                 class = "rkeops_input_error")
  }
  if (!is.double(x)) storage.mode(x) <- "double"
  x
}

# Returns list(values = <list of double arrays, position order>, M, N).
check_inputs <- function(input, table, points_as_columns) {
  n <- nrow(table)
  if (!is.list(input) || is.data.frame(input)) {
    rkeops_abort(sprintf(paste("the input must be a list of %d matrices or vectors, one per argument",
                               "(%s), not %s"),
                         n, paste(table$name, collapse = ", "),
                         if (is.data.frame(input)) "a data frame" else class(input)[1]),
                 class = "rkeops_input_error")
  }
  input <- order_inputs(input, table)
  if (length(input) != n) {
    rkeops_abort(sprintf("the operator expects %d input%s (%s), got %d", n, if (n > 1) "s" else "",
                         paste(vapply(seq_len(n), function(k) describe_arg(table, k), ""), collapse = ", "),
                         length(input)),
                 class = "rkeops_input_error")
  }
  rows <- c(NA_real_, NA_real_)
  first <- c(NA_integer_, NA_integer_)
  for (k in seq_len(n)) {
    what <- describe_arg(table, k)
    x <- as_numeric_input(input[[k]], what)
    cat <- table$cat[k]
    dim <- table$dim[k]
    if (cat == 2) {
      if (length(x) != dim) {
        rkeops_abort(sprintf("%s must have %d value%s, got %d", what, dim, if (dim > 1) "s" else "",
                             length(x)), class = "rkeops_input_error")
      }
      input[[k]] <- as.vector(x)
      next
    }
    if (is.null(dim(x))) {
      if (dim != 1) {
        rkeops_abort(sprintf("%s must be a matrix with %d %s, got a vector of length %d", what, dim,
                             if (points_as_columns) "rows" else "columns", length(x)),
                     class = "rkeops_input_error")
      }
      x <- matrix(x, ncol = 1)
      if (points_as_columns) x <- t(x)
    }
    if (length(dim(x)) != 2) {
      rkeops_abort(sprintf("%s must be a matrix, not an array with %d dimensions", what, length(dim(x))),
                   class = "rkeops_input_error")
    }
    inner <- if (points_as_columns) nrow(x) else ncol(x)
    npts <- if (points_as_columns) ncol(x) else nrow(x)
    if (inner != dim) {
      rkeops_abort(sprintf(paste("%s must have %d %s (its declared dimension), got %d;",
                                 "%s"),
                           what, dim, if (points_as_columns) "rows" else "columns", inner,
                           if (points_as_columns) "with inner_dim = \"row\", points are columns"
                           else "points are rows (use inner_dim = \"row\" if they are columns)"),
                   class = "rkeops_input_error")
    }
    side <- cat + 1
    if (is.na(rows[side])) {
      rows[side] <- npts
      first[side] <- k
    } else if (rows[side] != npts) {
      rkeops_abort(sprintf("all %s inputs must have the same number of points: %s has %d but %s has %d",
                           category_names[side], describe_arg(table, first[side]), rows[side],
                           what, npts),
                   class = "rkeops_input_error")
    }
    input[[k]] <- x
  }
  rows[is.na(rows)] <- 1  # no Vi (Vj) argument: M (N) = 1, as in KeOps
  list(values = input, M = rows[1], N = rows[2])
}

# inner_dim: "col" (points are rows, default) or "row" (points are columns);
# RKeOps 1.x spelled them 1 and 0.
points_are_columns <- function(inner_dim) {
  if (identical(inner_dim, "col") || identical(inner_dim, 1) || identical(inner_dim, 1L)) return(FALSE)
  if (identical(inner_dim, "row") || identical(inner_dim, 0) || identical(inner_dim, 0L)) return(TRUE)
  rkeops_abort("'inner_dim' must be \"col\" (points are rows, the default) or \"row\" (points are columns)",
               class = "rkeops_input_error")
}
