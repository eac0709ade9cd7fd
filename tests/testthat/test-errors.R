# Errors are classed conditions with messages a user can act on: formula
# errors point at the offending text, argument and input errors name the
# argument. R keeps working after every one of them.

xy_args <- c("x = Vi(3)", "y = Vj(3)")

# Checks a formula error: class, message, `position` field, and the last two
# lines of the message (the formula, then carets under the offending text).
expect_formula_error <- function(formula, regexp, position, caret, args = xy_args) {
  expect_error(keops_kernel(formula, args), class = "rkeops_formula_error", regexp = regexp)
  e <- catch_err(keops_kernel(formula, args))
  expect_s3_class(e, c("rkeops_formula_error", "rkeops_error", "error"), exact = FALSE)
  expect_identical(as.integer(e$position), as.integer(position))
  msg <- conditionMessage(e)
  expect_match(msg, sprintf("at position %d", position), fixed = TRUE)
  lines <- strsplit(msg, "\n", fixed = TRUE)[[1]]
  n <- length(lines)
  expect_identical(lines[n - 1], paste0("  ", formula))
  expect_identical(lines[n], paste0("  ", strrep(" ", position), caret))
  invisible(e)
}

# A valid call used after errors: R (and the engine) must still work.
sanity_op <- get_op("Sum_Reduction(SqNorm2(x - y), 0)", c("x = Vi(0,3)", "y = Vj(1,3)"))
expect_still_works <- function() {
  x <- matrix(c(1, 2, 3, 4, 5, 6, 7, 8, 9), 3, byrow = TRUE)
  y <- matrix(c(3, 4, 5, 6, 7, 8), 2, byrow = TRUE)
  expect_identical(sanity_op(list(x, y)), matrix(c(87, 15, 51), 3, 1))
}

test_that("unknown operation: suggestion, position and caret", {
  f <- "Sum_Reduction(Sqnorm2(x - y), 0)"
  e <- expect_formula_error(f, "unknown operation 'Sqnorm2' at position 14 \\(did you mean 'SqNorm2'\\?\\)",
                            14, "^^^^^^^")
  expect_match(conditionMessage(e), "^unknown operation 'Sqnorm2' at position 14 \\(did you mean 'SqNorm2'\\?\\)\n")
  expect_formula_error("Sum_Reduction(exp(x - y), 0)", "unknown operation 'exp'.*did you mean 'Exp'",
                       14, "^^^")
  expect_still_works()
})

test_that("undeclared variable: the message lists the declared names", {
  expect_formula_error("Sum_Reduction(SqNorm2(x - z), 0)",
                       "unknown variable 'z' at position 26 \\(declared arguments: x, y\\)", 26, "^")
  expect_formula_error("Sum_Reduction(SqNorm2(x - y) * w, 0)",
                       "unknown variable 'w'.*\\(declared arguments: b, x, y\\)",
                       31, "^", args = c("x = Vi(3)", "y = Vj(3)", "b = Vj(1)"))
  expect_still_works()
})

test_that("dimension mismatch names both operands and their dimensions", {
  e <- expect_formula_error("Sum_Reduction(x + y, 0)",
                            "dimension mismatch in '\\+': 'x' has dimension 3 but 'y' has dimension 2",
                            14, "^^^^^", args = c("x = Vi(3)", "y = Vj(2)"))
  expect_formula_error("Sum_Reduction(Exp(x) * SqNorm2(y - x), 0)",
                       "dimension mismatch in '-': 'y' has dimension 2 but 'x' has dimension 3",
                       31, "^^^^^", args = c("x = Vi(3)", "y = Vj(2)"))
  expect_formula_error("Sum_Reduction((x | y), 0)",
                       "dimension mismatch in '\\(x\\|y\\)': 'x' has dimension 3 but 'y' has dimension 2",
                       14, "^^^^^^^",
                       args = c("x = Vi(3)", "y = Vj(2)"))
  expect_still_works()
})

test_that("syntax errors: parentheses, operands, characters, commas", {
  expect_formula_error("Sum_Reduction(SqNorm2(x - y, 0)",
                       "unbalanced '\\(': 'Sum_Reduction\\(' is never closed at position 0", 0,
                       strrep("^", 14))
  expect_formula_error("Sum_Reduction(SqNorm2(x - y)), 0)",
                       "unexpected ',' after a complete expression at position 29", 29, "^")
  expect_formula_error("Sum_Reduction(SqNorm2(x - ), 0)",
                       "expected an operand but found '\\)' at position 26", 26, "^")
  expect_formula_error("Sum_Reduction(SqNorm2(x * * y), 0)", "expected an operand", 26, "^")
  expect_formula_error("Sum_Reduction(SqNorm2(x $ y), 0)",
                       "unexpected character '\\$' at position 24", 24, "^")
  expect_formula_error("Sum_Reduction(x^2, 0)",
                       "'\\^' is not an operator \\(use '\\*\\*' or Pow\\(x, n\\)\\) at position 15", 15, "^")
  expect_formula_error("Sum_Reduction(SqNorm2(x - y), 0,)",
                       "trailing ',' in the arguments of 'Sum_Reduction' at position 31", 31, "^")
  # (the caret is under the trailing comma itself)
  expect_formula_error("Sum_Reduction(SqDist(x, y,), 0)", "trailing ',' in the arguments of 'SqDist'", 25, "^")
  expect_formula_error("", "the formula is empty at position 0", 0, "^")
  expect_still_works()
})

test_that("the top level must be a reduction with axis 0 or 1", {
  expect_formula_error("SqNorm2(x - y)", "the formula must be a reduction, such as Sum_Reduction\\(F, 0\\)",
                       0, strrep("^", 14))
  expect_formula_error("Sum_Reduction(SqNorm2(x - y), 2)",
                       "the axis of 'Sum_Reduction' must be 0 .* or 1 .* at position 30", 30, "^")
  expect_still_works()
})

test_that("decimal exponents, division by the literal 0, nested reductions", {
  expect_formula_error("Sum_Reduction(x**0.5, 0)",
                       "the exponent of '\\*\\*' must be an integer constant", 17, "^^^")
  expect_formula_error("Sum_Reduction(Pow(x, 0.5), 0)",
                       "the exponent of 'Pow' must be an integer constant, not the decimal number '0.5'",
                       21, "^^^")
  expect_formula_error("Sum_Reduction(x/0, 0)", "division by the constant 0 at position 14", 14, "^^^")
  expect_formula_error("Sum_Reduction(Exp(Sum_Reduction(x, 0)), 0)",
                       "a reduction cannot be used inside a formula \\(only at the top level\\)",
                       18, strrep("^", 13))
  expect_formula_error("Sum_Reduction(Sum_Reduction(x, 0), 0)",
                       "a reduction cannot be used inside a formula", 14, strrep("^", 13))
  expect_still_works()
})

test_that("inline variables: one-argument form and inconsistent declarations", {
  expect_formula_error("Sum_Reduction(Vi(3), 0)", "'Vi' needs a position and a dimension, as in Vi\\(0, 3\\)",
                       14, "^^")
  expect_formula_error("Sum_Reduction(Vi(0,2), 0)",
                       "position 0 is argument 'x' of category Vi and dimension 3, but here it is used as Vi of dimension 2",
                       14, strrep("^", 7))
})

test_that("formula and args must be strings", {
  expect_error(keops_kernel(c("a", "b"), xy_args), class = "rkeops_formula_error",
               regexp = "'formula' must be a single string")
  expect_error(keops_kernel(NA_character_, xy_args), class = "rkeops_formula_error",
               regexp = "'formula' must be a single string")
  expect_error(keops_kernel("Sum_Reduction(x, 0)", 3), class = "rkeops_argument_error",
               regexp = "'args' must be a character vector")
})

test_that("argument declaration errors", {
  decl_error <- function(args, regexp, formula = "Sum_Reduction(x, 0)") {
    expect_error(keops_kernel(formula, args), class = "rkeops_argument_error",
                 regexp = paste0("^invalid argument declaration in 'args': ", regexp))
  }
  decl_error("x = Vi3)", "argument 1 \\('x = Vi3\\)'\\): expected the form 'name = Vi\\(dim\\)'")
  decl_error(c("y = Vj(3)", "x Vi(3)"), "argument 2 \\('x Vi\\(3\\)'\\): no '='; expected the form")
  decl_error(c("x = Vi(3)", "x = Vj(3)"),
             "argument 2 \\('x = Vj\\(3\\)'\\): the name 'x' is declared twice \\(also argument 1\\)")
  decl_error(c("x = Vi(0,3)", "y = Vj(3)"), "use either \\(dim\\) or \\(pos, dim\\) for all arguments, not a mix")
  decl_error("Exp = Vi(3)", "argument 1 \\('Exp = Vi\\(3\\)'\\): 'Exp' is the name of an operation",
             formula = "Sum_Reduction(Exp, 0)")
  decl_error("x = Vk(3)", "argument 1 \\('x = Vk\\(3\\)'\\): unknown category 'Vk' \\(use Vi, Vj or Pm\\)")
  decl_error("x = Vi(0)", "argument 1 \\('x = Vi\\(0\\)'\\): the dimension must be between 1 and 10000")
  decl_error("x = Vi(10001)", "argument 1 \\('x = Vi\\(10001\\)'\\): the dimension must be between 1 and 10000")
  decl_error(c("x = Vi(0,3)", "y = Vj(0,3)"), "argument 2 .*: position 0 is already taken by argument 1")
  decl_error("1x = Vi(3)", "argument 1 \\('1x = Vi\\(3\\)'\\): '1x' is not a valid name")
  e <- catch_err(keops_kernel("Sum_Reduction(x, 0)", c("x = Vi(3)", "x = Vj(3)")))
  expect_s3_class(e, c("rkeops_argument_error", "rkeops_error"), exact = FALSE)
  expect_still_works()
})

# ---- call-time errors ---------------------------------------------------------

gauss <- get_op("Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)",
                c("x = Vi(3)", "y = Vj(3)", "b = Vj(6)", "s = Pm(1)"))
d <- seed_data(M = 10, N = 15)
good <- list(d$x, d$y, d$b, d$s)
good_ref <- ref_gauss_conv(d$x, d$y, d$b, d$s)
expect_gauss_works <- function() {
  expect_close(gauss(good, precision = "float64"), good_ref, TOL64)
}
input_error <- function(expr, regexp, fixed = FALSE) {
  if (fixed) regexp <- gsub("([][().*+?^$|{}\\\\])", "\\\\\\1", regexp)
  expect_error(expr, class = "rkeops_input_error", regexp = regexp)
}

test_that("input not a list, wrong number of inputs", {
  input_error(gauss(d$x),
              "the input must be a list of 4 matrices or vectors, one per argument (x, y, b, s), not matrix",
              fixed = TRUE)
  input_error(gauss(as.data.frame(d$x)), "the input must be a list of 4 .*, not a data frame")
  expected <- "input 1 ('x' = Vi(3)), input 2 ('y' = Vj(3)), input 3 ('b' = Vj(6)), input 4 ('s' = Pm(1))"
  input_error(gauss(good[1:3]), paste0("the operator expects 4 inputs (", expected, "), got 3"), fixed = TRUE)
  input_error(gauss(c(good, 1)), paste0("the operator expects 4 inputs (", expected, "), got 5"), fixed = TRUE)
  input_error(gauss(list()), "expects 4 inputs .* got 0")
  expect_gauss_works()
})

test_that("non-numeric and complex inputs", {
  bad <- good
  bad[[1]] <- matrix("a", 10, 3)
  input_error(gauss(bad), "^input 1 \\('x' = Vi\\(3\\)\\) must be a numeric matrix or vector, not a character matrix$")
  bad <- good
  bad[[4]] <- "0.2"
  input_error(gauss(bad), "input 4 ('s' = Pm(1)) must be a numeric matrix or vector, not character", fixed = TRUE)
  bad <- good
  bad[[2]] <- d$y + 0i
  input_error(gauss(bad), "input 2 ('y' = Vj(3)) must be a numeric matrix or vector, not a complex one",
              fixed = TRUE)
  bad <- good
  bad[[3]] <- data.frame(a = letters[1:15], b = 1)
  input_error(gauss(bad), "input 3 \\('b' = Vj\\(6\\)\\) is a data frame with non-numeric columns \\(a\\)")
  expect_gauss_works()
})

test_that("wrong inner dimension names the argument and the expected columns", {
  bad <- good
  bad[[1]] <- d$x[, 1:2]
  input_error(gauss(bad), paste("input 1 ('x' = Vi(3)) must have 3 columns (its declared dimension), got 2;",
                                "points are rows (use inner_dim = \"row\" if they are columns)"), fixed = TRUE)
  bad <- good
  bad[[3]] <- d$b[, 1:5]
  input_error(gauss(bad), "input 3 ('b' = Vj(6)) must have 6 columns (its declared dimension), got 5",
              fixed = TRUE)
  # in "row" orientation, the inner dimension is the number of rows
  input_error(gauss(list(d$x, t(d$y), t(d$b), d$s), inner_dim = "row"),
              "input 1 ('x' = Vi(3)) must have 3 rows (its declared dimension), got 10; with inner_dim = \"row\", points are columns",
              fixed = TRUE)
  # a vector is only accepted for a dimension-1 argument
  bad <- good
  bad[[2]] <- as.vector(d$y)
  input_error(gauss(bad), "input 2 ('y' = Vj(3)) must be a matrix with 3 columns, got a vector of length 45",
              fixed = TRUE)
  bad[[2]] <- array(0, c(15, 3, 1))
  input_error(gauss(bad), "input 2 ('y' = Vj(3)) must be a matrix, not an array with 3 dimensions", fixed = TRUE)
  expect_gauss_works()
})

test_that("inconsistent numbers of points name both inputs", {
  bad <- good
  bad[[3]] <- d$b[1:14, ]
  input_error(gauss(bad), paste("all Vj inputs must have the same number of points:",
                                "input 2 ('y' = Vj(3)) has 15 but input 3 ('b' = Vj(6)) has 14"), fixed = TRUE)
  op <- get_op("Sum_Reduction(x * u - y, 0)", c("x = Vi(3)", "u = Vi(1)", "y = Vj(3)"))
  input_error(op(list(d$x, 1:9, d$y)),
              "all Vi inputs must have the same number of points: input 1 ('x' = Vi(3)) has 10 but input 2 ('u' = Vi(1)) has 9",
              fixed = TRUE)
  expect_close(op(list(d$x, 1:10, d$y), precision = "float64"),
               15 * d$x * (1:10) - matrix(colSums(d$y), 10, 3, byrow = TRUE), TOL64)
})

test_that("wrong parameter length", {
  bad <- good
  bad[[4]] <- c(0.2, 0.3)
  input_error(gauss(bad), "input 4 ('s' = Pm(1)) must have 1 value, got 2", fixed = TRUE)
  bad[[4]] <- numeric()
  input_error(gauss(bad), "input 4 ('s' = Pm(1)) must have 1 value, got 0", fixed = TRUE)
  op <- get_op("Sum_Reduction(x * q, 0)", c("x = Vi(3)", "q = Pm(3)"))
  input_error(op(list(d$x, 1:2)), "input 2 ('q' = Pm(3)) must have 3 values, got 2", fixed = TRUE)
  expect_close(op(list(d$x, 1:3), precision = "float64"), sweep(d$x, 2, 1:3, "*"), TOL64)
})

test_that("named lists: unknown, partial, duplicated and missing names", {
  input_error(gauss(list(x = d$x, y = d$y, b = d$b, t = 0.2)),
              "unknown input name 't'; the operator's arguments are: x, y, b, s", fixed = TRUE)
  input_error(gauss(list(x = d$x, y = d$y, B = d$b, t = 0.2)), "unknown input names 'B', 't'")
  input_error(gauss(list(x = d$x, d$y, d$b, d$s)),
              "the input list names some elements but not all: name every element or none", fixed = TRUE)
  input_error(gauss(list(x = d$x, y = d$y, x = d$b, s = 0.2)), "input name 'x' is given twice", fixed = TRUE)
  input_error(gauss(list(x = d$x, y = d$y, s = 0.2)), "missing input 'b'", fixed = TRUE)
  expect_gauss_works()
})

test_that("a bad inner_dim value", {
  msg <- "'inner_dim' must be \"col\" (points are rows, the default) or \"row\" (points are columns)"
  input_error(gauss(good, inner_dim = "foo"), msg, fixed = TRUE)
  input_error(gauss(good, inner_dim = 2), msg, fixed = TRUE)
  input_error(gauss(good, inner_dim = c("col", "row")), msg, fixed = TRUE)
  input_error(gauss(good, inner_dim = NA), msg, fixed = TRUE)
  expect_gauss_works()
})

test_that("the GPU backend stops with a message pointing to use_cpu() when there is no GPU", {
  skip_if(length(rkeops:::gpu_devices()$names) > 0, "an NVIDIA GPU is present")
  old <- list(rkeops.backend = getOption("rkeops.backend"), rkeops.device = getOption("rkeops.device"))
  on.exit(options(old), add = TRUE)
  expect_warning(use_gpu(), class = "rkeops_gpu_warning")
  expect_identical(get_rkeops_options("backend"), "GPU")
  expect_error(gauss(good), class = "rkeops_gpu_error",
               regexp = "no NVIDIA GPU on this machine .*\n  use use_cpu\\(\\) to run")
  e <- catch_err(gauss(good))
  expect_s3_class(e, "rkeops_error")
  use_cpu()
  expect_identical(get_rkeops_options("backend"), "CPU")
  expect_gauss_works()
})

test_that("a compiler that does not run gives rkeops_compile_error with the command", {
  old <- getOption("rkeops.compiler")
  on.exit(options(rkeops.compiler = old), add = TRUE)
  set_rkeops_options(compiler = "false")
  formula <- "Sum_Reduction(x * 7 - y, 0)"  # never compiled elsewhere
  expect_error(keops_kernel(formula, xy_args), class = "rkeops_compile_error",
               regexp = "the C\\+\\+ compiler 'false' was not found or does not run")
  e <- catch_err(keops_kernel(formula, xy_args))
  expect_s3_class(e, "rkeops_error")
  expect_identical(e$command, "false --version")
  expect_match(conditionMessage(e), "command: false --version", fixed = TRUE)
  expect_match(conditionMessage(e), "hint: run check_rkeops()", fixed = TRUE)
  set_rkeops_options(compiler = NULL)
  op <- keops_kernel(formula, xy_args)
  x <- rand_mat(4, 3, 1)
  y <- rand_mat(5, 3, 2)
  expect_close(op(list(x, y), precision = "float64"),
               35 * x - matrix(colSums(y), 4, 3, byrow = TRUE), TOL64)
})

test_that("a compiler that fails on the source gives the command, its output and the generated source", {
  skip_if(.Platform$OS.type != "unix", "the fake compiler is a POSIX shell script")
  fake <- tempfile("fake-cxx-")
  writeLines(c("#!/bin/sh",
               "if [ \"$1\" = \"--version\" ]; then echo 'fakecxx 1.0'; exit 0; fi",
               "echo 'operator.cpp:1:1: error: this compiler always fails' >&2",
               "exit 1"), fake)
  Sys.chmod(fake, "0755")
  old <- getOption("rkeops.compiler")
  on.exit({
    options(rkeops.compiler = old)
    unlink(fake)
  }, add = TRUE)
  set_rkeops_options(compiler = fake)
  formula <- "Sum_Reduction(x * 9 - y, 0)"  # never compiled elsewhere
  e <- catch_err(keops_kernel(formula, xy_args))
  expect_s3_class(e, c("rkeops_compile_error", "rkeops_error"), exact = FALSE)
  msg <- conditionMessage(e)
  expect_match(e$command, fake, fixed = TRUE)
  expect_match(msg, paste0("command: ", e$command), fixed = TRUE)
  expect_match(e$compiler_output, "this compiler always fails", fixed = TRUE)
  expect_match(msg, "compiler output:\n    operator.cpp:1:1: error: this compiler always fails", fixed = TRUE)
  expect_match(msg, "generated source: ", fixed = TRUE)
  expect_true(file.exists(e$source))
  expect_match(msg, e$source, fixed = TRUE)
  src <- readLines(e$source)
  expect_true(any(grepl("rkeops_run", src, fixed = TRUE)))
  # with the real compiler again, the same formula compiles and is right
  set_rkeops_options(compiler = NULL)
  op <- keops_kernel(formula, xy_args)
  x <- rand_mat(4, 3, 3)
  y <- rand_mat(5, 3, 4)
  expect_close(op(list(x, y), precision = "float64"),
               45 * x - matrix(colSums(y), 4, 3, byrow = TRUE), TOL64)
})

test_that("errors inherit rkeops_error and can be caught as such", {
  caught <- tryCatch(keops_kernel("Sum_Reduction(x +, 0)", xy_args), rkeops_error = function(e) "caught")
  expect_identical(caught, "caught")
  caught <- tryCatch(gauss(list()), rkeops_error = function(e) class(e)[1])
  expect_identical(caught, "rkeops_input_error")
  expect_gauss_works()
})
