# Run the testthat suite against the INSTALLED rkeops (make test puts it in
# ./.rlib and sets R_LIBS), with a fresh temporary operator cache.
# Prints per-file progress and every failure in full, then, as its very last
# line, "N passed, N failed" (", N skipped" is added when tests were skipped).
# N passed  = expectations that succeeded;
# N failed  = failed expectations + tests that stopped with an error
#             (including errors at the top level of a test file);
# N skipped = skipped tests.
# Exits with status 1 if anything failed or if no expectation ran at all.

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", grep("^--file=", args, value = TRUE))
root <- if (length(script) == 1L) {
  normalizePath(file.path(dirname(script), ".."))
} else {
  getwd()
}
test_path <- file.path(root, "tests", "testthat")

suppressPackageStartupMessages(library(testthat))

# A private cache for this run; it must not exist yet (the package creates it
# on first compile) and is removed at the end.
cache_dir <- tempfile("rkeops-test-cache-")
Sys.setenv(RKEOPS_CACHE_DIR = cache_dir)
if (!nzchar(Sys.getenv("NOT_CRAN"))) Sys.setenv(NOT_CRAN = "true")

# Tests must never write to the user's real cache (CRAN archived the original
# RKeOps for that): note whether it exists before the run.
user_cache <- tools::R_user_dir("rkeops", "cache")
user_cache_existed <- dir.exists(user_cache)

reporter <- ProgressReporter$new(show_praise = FALSE, max_failures = Inf)
results <- tryCatch(
  test_dir(
    test_path,
    package = "rkeops",
    load_package = "installed",
    reporter = reporter,
    stop_on_failure = FALSE,
    stop_on_warning = FALSE
  ),
  error = function(e) {
    message("\nThe test run itself failed: ", conditionMessage(e))
    NULL
  }
)

count_results <- function(results) {
  n <- c(passed = 0L, failed = 0L, skipped = 0L)
  for (test in results) {
    for (e in test$results) {
      if (inherits(e, "expectation_success")) {
        n[["passed"]] <- n[["passed"]] + 1L
      } else if (inherits(e, c("expectation_failure", "expectation_error"))) {
        n[["failed"]] <- n[["failed"]] + 1L
      } else if (inherits(e, "expectation_skip")) {
        n[["skipped"]] <- n[["skipped"]] + 1L
      }
    }
  }
  n
}
n <- count_results(results)
if (is.null(results)) n[["failed"]] <- n[["failed"]] + 1L

unlink(cache_dir, recursive = TRUE)

if (!user_cache_existed && dir.exists(user_cache)) {
  message("\nFAILURE: the tests created the user cache ", user_cache,
          " (tests must use RKEOPS_CACHE_DIR); removing it.")
  unlink(user_cache, recursive = TRUE)
  n[["failed"]] <- n[["failed"]] + 1L
}
if (n[["passed"]] + n[["failed"]] == 0L) {
  message("\nFAILURE: no test ran (looked in ", test_path, ").")
}

summary_line <- sprintf("%d passed, %d failed", n[["passed"]], n[["failed"]])
if (n[["skipped"]] > 0L) {
  summary_line <- sprintf("%s, %d skipped", summary_line, n[["skipped"]])
}
cat("\n", summary_line, "\n", sep = "")
quit(status = if (n[["failed"]] > 0L || n[["passed"]] + n[["failed"]] == 0L) 1L else 0L)
