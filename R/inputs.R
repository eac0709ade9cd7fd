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
check_inputs <- function(input, table, points_as_columns, out_cat = 0) {
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
    cat <- table$cat[k]
    dim <- table$dim[k]
    if (is.null(dim(input[[k]])) && is.atomic(input[[k]]) && length(input[[k]]) > .Machine$integer.max &&
        !(cat != out_cat && cat < 2 && dim == 1)) {
      # Checked before any conversion (a long vector would be copied first).
      # Only the reduced side may have more than 2^31 - 1 points: the output
      # is an R matrix, with one row per point of the other side.
      rkeops_abort(sprintf(paste("%s has %.0f values: more points than an R matrix can hold (2^31 - 1);",
                                 "only the reduced side (%s) may be a longer vector"),
                           what, length(input[[k]]), category_names[2 - out_cat]),
                   class = "rkeops_input_error")
    }
    x <- as_numeric_input(input[[k]], what)
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
        rkeops_abort(sprintf("%s must be a matrix with %d %s, got a vector of length %.0f", what, dim,
                             if (points_as_columns) "rows" else "columns", length(x)),
                     class = "rkeops_input_error")
      }
      # A plain vector of points of dimension 1 is passed as it is (no copy),
      # so it may be a long vector: more than 2^31 - 1 points.
      npts <- length(x)
    } else {
      npts <- check_matrix_input(x, dim, what, points_as_columns)
    }
    side <- cat + 1
    if (is.na(rows[side])) {
      rows[side] <- npts
      first[side] <- k
    } else if (rows[side] != npts) {
      rkeops_abort(sprintf("all %s inputs must have the same number of points: %s has %.0f but %s has %.0f",
                           category_names[side], describe_arg(table, first[side]), rows[side],
                           what, npts),
                   class = "rkeops_input_error")
    }
    input[[k]] <- x
  }
  rows[is.na(rows)] <- 1  # no Vi (Vj) argument: M (N) = 1, as in KeOps
  list(values = input, M = rows[1], N = rows[2])
}

# A Vi/Vj matrix: its inner dimension must be the declared one; returns its
# number of points.
check_matrix_input <- function(x, dim, what, points_as_columns) {
  if (length(dim(x)) != 2) {
    rkeops_abort(sprintf("%s must be a matrix, not an array with %d dimensions", what, length(dim(x))),
                 class = "rkeops_input_error")
  }
  inner <- if (points_as_columns) nrow(x) else ncol(x)
  if (inner != dim) {
    rkeops_abort(sprintf(paste("%s must have %d %s (its declared dimension), got %d;",
                               "%s"),
                         what, dim, if (points_as_columns) "rows" else "columns", inner,
                         if (points_as_columns) "with inner_dim = \"row\", points are columns"
                         else "points are rows (use inner_dim = \"row\" if they are columns)"),
                 class = "rkeops_input_error")
  }
  if (points_as_columns) ncol(x) else nrow(x)
}

# inner_dim: "col" (points are rows, default) or "row" (points are columns);
# RKeOps 1.x spelled them 1 and 0.
points_are_columns <- function(inner_dim) {
  if (identical(inner_dim, "col") || identical(inner_dim, 1) || identical(inner_dim, 1L)) return(FALSE)
  if (identical(inner_dim, "row") || identical(inner_dim, 0) || identical(inner_dim, 0L)) return(TRUE)
  rkeops_abort("'inner_dim' must be \"col\" (points are rows, the default) or \"row\" (points are columns)",
               class = "rkeops_input_error")
}

# The memory a call needs besides its inputs: the result (twice with
# inner_dim = "row": it is transposed), and the float32 copies or the
# transposes of the Vi/Vj inputs. Checked before anything is allocated, so
# that a call too large for this machine is a clear error naming what does
# not fit and its size (rkeops_memory_error), not an allocation failure
# halfway.
check_call_memory <- function(rows, cols, values, cats, dims, points_as_columns, precision,
                              available = available_memory) {
  if (rows > .Machine$integer.max) {
    rkeops_abort(sprintf("the result would have %.0f rows, more than an R matrix can hold (2^31 - 1)", rows),
                 class = "rkeops_input_error")
  }
  result <- 8 * rows * cols
  copies <- 0
  for (k in seq_along(values)) {
    if (cats[k] == 2) next
    len <- as.numeric(length(values[[k]]))
    if (precision == "float32") copies <- copies + 4 * len
    else if (points_as_columns && dims[k] > 1) copies <- copies + 8 * len
  }
  need <- result * (1 + points_as_columns) + copies
  if (need < 2^28) return(invisible(need))  # 256 MB: not worth reading /proc/meminfo
  avail <- available()
  if (!is.na(avail) && need > avail) {
    rkeops_abort(memory_refusal_message(rows, cols, result, copies, points_as_columns, precision, need, avail),
                 class = "rkeops_memory_error", bytes = need, available = avail)
  }
  invisible(need)
}

# Says what does not fit: the result (and its transpose), or the copies of
# the inputs, whichever is larger, with every part's size.
memory_refusal_message <- function(rows, cols, result, copies, points_as_columns, precision, need, avail) {
  what_copies <- if (precision == "float32") "the float32 copies of the Vi/Vj inputs"
                 else "the transposed copies of the Vi/Vj inputs"
  the_result <- sprintf("the result is a %.0f x %d matrix of %s", rows, as.integer(cols), format_gb(result))
  outputs <- result * (1 + points_as_columns)
  if (outputs >= copies) {
    others <- c(if (points_as_columns) "its transpose", if (copies > 0) paste(what_copies, format_gb(copies)))
    head <- sprintf("not enough memory: %s%s, more than the %s of memory available", the_result,
                    if (length(others)) sprintf(" (%s in all with %s)", format_gb(need),
                                                paste(others, collapse = " and ")) else "",
                    format_gb(avail))
    hint <- "  compute it in blocks of rows, or reduce the output dimension"
  } else {
    head <- sprintf(paste("not enough memory: %s need %s (%s in all with the result, a %.0f x %d matrix",
                          "of %s%s), more than the %s of memory available"),
                    what_copies, format_gb(copies), format_gb(need), rows, as.integer(cols),
                    format_gb(result), if (points_as_columns) ", and its transpose" else "", format_gb(avail))
    hint <- if (precision == "float32") {
      paste("  compute in float64 (op(input, precision = \"float64\")): with points as rows the inputs",
            "are then read in place, without a copy; or split the inputs into blocks")
    } else {
      "  give points as rows (inner_dim = \"col\"): the inputs are then read in place, without a copy"
    }
  }
  c(head, hint)
}

format_gb <- function(bytes) sprintf("%.3g GB", bytes / 1e9)

# Bytes of memory this process can still get: MemAvailable + SwapFree of
# /proc/meminfo, or less under a cgroup memory limit (containers, Slurm
# jobs: going over it gets R killed); Linux only. NA elsewhere, where only
# the allocation itself tells (and its failure is caught in src/bridge.cpp).
available_memory <- function(meminfo = "/proc/meminfo") {
  lines <- read_lines_quietly(meminfo)
  kb <- function(key) {
    l <- grep(paste0("^", key, ":"), lines, value = TRUE)
    if (length(l) != 1) return(NA_real_)
    as.numeric(sub("^[^:]+:[[:space:]]*([0-9]+).*$", "\\1", l)) * 1024
  }
  avail <- kb("MemAvailable")
  if (is.na(avail)) return(NA_real_)
  swap <- kb("SwapFree")
  avail <- avail + if (is.na(swap)) 0 else swap
  min(avail, cgroup_memory_left(), na.rm = TRUE)
}

# limit - usage of this process's memory cgroup (v2, else v1), NA if none.
cgroup_memory_left <- function(proc_cgroup = "/proc/self/cgroup", root = "/sys/fs/cgroup") {
  cg <- read_lines_quietly(proc_cgroup)
  number <- function(path) suppressWarnings(as.numeric(read_lines_quietly(path)[1]))
  v2 <- sub("^0::", "", grep("^0::", cg, value = TRUE))
  if (length(v2) == 1) {
    dir <- file.path(root, v2)
    left <- number(file.path(dir, "memory.max")) - number(file.path(dir, "memory.current"))
    if (!is.na(left)) return(max(left, 0))
  }
  v1 <- sub("^[0-9]+:([^:]*,)?memory(,[^:]*)?:", "", grep("^[0-9]+:([^:]*,)?memory(,[^:]*)?:", cg, value = TRUE))
  if (length(v1) == 1) {
    dir <- file.path(root, "memory", v1)
    limit <- number(file.path(dir, "memory.limit_in_bytes"))
    if (!is.na(limit) && limit < 2^60) {
      left <- limit - number(file.path(dir, "memory.usage_in_bytes"))
      if (!is.na(left)) return(max(left, 0))
    }
  }
  NA_real_
}

read_lines_quietly <- function(path) {
  tryCatch(readLines(path, warn = FALSE), error = function(e) character(), warning = function(w) character())
}
