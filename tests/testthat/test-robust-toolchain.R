# Toolchain faults beyond test-errors.R: a compiler that claims success but
# leaves an unusable object is a compile error showing the command, the
# compiler's output and the generated source (not a cache fault, which would
# send the work to another directory), and R goes on working afterwards.

test_that("a compiler that exits 0 with a broken object gives rkeops_compile_error; R goes on", {
  skip_if(.Platform$OS.type != "unix", "the fake compiler is a POSIX shell script")
  local_clean_options()
  set_rkeops_options(precision = "float64", cache_dir = tempfile("rkeops-badcxx-"))
  on.exit(unlink(get_rkeops_cache_dir(), recursive = TRUE), add = TRUE, after = FALSE)
  before <- get_op("Sum_Reduction(SqNorm2(x - y) - 5, 0)", c("x = Vi(2)", "y = Vj(2)"))
  fake <- tempfile("fake-cxx-")
  writeLines(c("#!/bin/sh",
               "if [ \"$1\" = \"--version\" ]; then echo 'brokencxx 2.0'; exit 0; fi",
               "out=''",
               "while [ $# -gt 0 ]; do if [ \"$1\" = \"-o\" ]; then out=\"$2\"; fi; shift; done",
               "echo 'brokencxx: wrote an object, trust me'",
               "echo 'not an object' > \"$out\"",
               "exit 0"), fake)
  Sys.chmod(fake, "0755")
  on.exit(unlink(fake), add = TRUE)
  set_rkeops_options(compiler = fake)
  formula <- "Sum_Reduction(SqNorm2(x - y) * 29, 0)"  # used nowhere else
  args <- c("x = Vi(2)", "y = Vj(2)")
  warned <- NULL
  e <- withCallingHandlers(catch_err(keops_kernel(formula, args)), warning = function(w) {
    warned <<- w
    invokeRestart("muffleWarning")
  })
  expect_null(warned)  # no "cache directory cannot be used" detour
  expect_s3_class(e, c("rkeops_compile_error", "rkeops_error"), exact = FALSE)
  msg <- conditionMessage(e)
  expect_match(msg, "^the compiler exited without error, but its output '.*operator.so' cannot be loaded: it is not a shared object")
  expect_match(msg, paste0("command: ", e$command), fixed = TRUE)
  expect_match(e$command, fake, fixed = TRUE)
  expect_match(msg, "compiler output:\n    brokencxx: wrote an object, trust me", fixed = TRUE)
  expect_match(msg, paste0("generated source: ", e$source), fixed = TRUE)
  expect_true(file.exists(e$source))
  expect_true(startsWith(e$source, get_rkeops_cache_dir()))
  # the broken object was not left in the cache
  expect_false(file.exists(file.path(dirname(e$source), "operator.so")))
  # R goes on: an operator loaded before still works, and the real compiler
  # builds the same formula
  set_rkeops_options(compiler = NULL)
  x <- rand_mat(5, 2, 961)
  y <- rand_mat(4, 2, 962)
  expect_close(before(list(x, y)), rowSums(ref_sqdist(x, y) - 5), TOL64)
  op <- keops_kernel(formula, args)
  expect_close(op(list(x, y)), 29 * rowSums(ref_sqdist(x, y)), TOL64)
})
