# Faults of the cache: a directory that cannot be created or written falls
# back to a per-session directory with a warning, and the work goes on.

test_that("an unusable cache directory falls back to a session directory with a warning", {
  local_clean_options()
  # A path below a regular file cannot be created, even by root.
  blocker <- tempfile("rkeops-not-a-dir-")
  writeLines("x", blocker)
  on.exit(unlink(blocker), add = TRUE)
  set_rkeops_options(cache_dir = file.path(blocker, "cache"))
  formula <- "Sum_Reduction(SqNorm2(x - y) + 0.25, 0)"  # used by no other test
  args <- c("x = Vi(2)", "y = Vj(2)")
  expect_warning(op <- keops_kernel(formula, args), class = "rkeops_cache_warning",
                 regexp = "cannot be used.*for this session instead")
  expect_true(startsWith(op()$source_file, file.path(tempdir(), "rkeops-cache")))
  x <- rand_mat(9, 2, 1)
  y <- rand_mat(13, 2, 2)
  expect_close(op(list(x, y)), rowSums(ref_sqdist(x, y) + 0.25), TOL32)
})
