# Run by R CMD check. `make test` runs the same suite through
# tools/run-tests.R, which prints a final "N passed, N failed" line.
library(testthat)

# Compiled operators go to a temporary cache, never to the user's home.
cache_dir <- tempfile("rkeops-tests-")
Sys.setenv(RKEOPS_CACHE_DIR = cache_dir)
library(rkeops)

test_check("rkeops")
unlink(cache_dir, recursive = TRUE)
