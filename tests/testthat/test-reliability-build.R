# Reliability of the build layer (issue 12): a damaged cached object, an
# interrupted or killed compile, a lock held by a stopped process, option
# values that try to run commands, a full or read-only cache disk, a
# compute node without a compiler, and compilers that are not compilers.
# Crash and hang cases run in child R processes (callr) with time limits.
# Every formula here is used nowhere else in the suite.

skip_on_cran()
skip_if_not_installed("callr")

linux <- Sys.info()[["sysname"]] == "Linux"
args3 <- c("x = Vi(3)", "y = Vj(3)")
xr <- rand_mat(7, 3, 1201)
yr <- rand_mat(11, 3, 1202)
# Sum_Reduction(SqNorm2(x - y) * k, 0)
ref_k <- function(k) k * rowSums(ref_sqdist(xr, yr))
formula_k <- function(k) sprintf("Sum_Reduction(SqNorm2(x - y) * %s, 0)", k)

# Runs `fun` in a new R process with this library path; an error (a crash
# included) comes back as a callr error, a hang as a timeout.
in_child <- function(fun, args = list(), timeout = 60, env = character()) {
  callr::r(fun, args = args, libpath = .libPaths(), timeout = timeout,
           env = c(callr::rcmd_safe_env(), env))
}

# A compiler wrapper that records its pid and the pid of a child it waits
# for (SLOW_CXX_SECONDS, default 60, then runs g++): a compile that lasts as
# long as a test needs, with a process group of two processes. With
# SLOW_CXX_RELEASE set, it records its pid only and waits (30 s at most)
# for that file to exist instead.
slow_cxx <- function(dir) {
  path <- file.path(dir, "slow-cxx")
  writeLines(c(
    "#!/bin/sh",
    "if [ \"$1\" = \"--version\" ]; then exec g++ --version; fi",
    "echo $$ >> \"$SLOW_CXX_PIDFILE\"",
    "if [ -n \"$SLOW_CXX_RELEASE\" ]; then",
    "  n=0; while [ ! -e \"$SLOW_CXX_RELEASE\" ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n+1)); done",
    "  exec g++ \"$@\"",
    "fi",
    "sleep \"${SLOW_CXX_SECONDS:-60}\" &",
    "echo $! >> \"$SLOW_CXX_PIDFILE\"",
    "wait $!",
    "exec g++ \"$@\""), path)
  Sys.chmod(path, "0755")
  path
}

# Waits until `file` has `n` lines (the wrapper's pids); returns them.
wait_for_pids <- function(file, n = 2, seconds = 30) {
  t0 <- Sys.time()
  while (difftime(Sys.time(), t0, units = "secs") < seconds) {
    if (file.exists(file)) {
      pids <- suppressWarnings(as.integer(readLines(file, warn = FALSE)))
      if (sum(!is.na(pids)) >= n) return(pids[!is.na(pids)])
    }
    Sys.sleep(0.05)
  }
  stop("the compiler wrapper did not start within ", seconds, " s")
}

# Whether any of these processes still exists (zombies included).
any_alive <- function(pids) any(file.exists(file.path("/proc", pids)))

wait_until_dead <- function(pids, seconds = 10) {
  t0 <- Sys.time()
  while (any_alive(pids) && difftime(Sys.time(), t0, units = "secs") < seconds) Sys.sleep(0.05)
  !any_alive(pids)
}

temporaries <- function(dir) {
  list.files(dir, pattern = "\\.tmp[0-9]+$", recursive = TRUE, all.files = TRUE, include.dirs = TRUE)
}

# Mounts a tmpfs of `size` at a new directory (root only); NULL if it cannot.
mount_tmpfs <- function(size) {
  if (!linux || Sys.which("mount") == "") return(NULL)
  dir <- tempfile("rkeops-tmpfs-")
  dir.create(dir)
  ok <- suppressWarnings(system2("mount", c("-t", "tmpfs", "-o", paste0("size=", size), "tmpfs", dir),
                                 stdout = FALSE, stderr = FALSE)) == 0
  if (!ok) {
    unlink(dir, recursive = TRUE)
    return(NULL)
  }
  dir
}

unmount <- function(dir) {
  system2("umount", dir, stdout = FALSE, stderr = FALSE)
  unlink(dir, recursive = TRUE)
}

# ---- item 2: a damaged object with an intact header -------------------------

test_that("a cached object damaged behind an intact header is detected by its checksum and rebuilt", {
  local_clean_options()
  cache <- tempfile("rkeops-damaged-")
  on.exit(unlink(cache, recursive = TRUE), add = TRUE)
  set_rkeops_options(cache_dir = cache)
  op <- with_precision("float64", keops_kernel(formula_k(3), args3))
  entry <- file.path(cache, cache_entries(cache))
  so <- file.path(entry, "operator.so")
  expect_true(file.exists(paste0(so, ".sum")))
  good <- readBin(so, "raw", file.size(so))
  damage <- list(
    zeroed = c(good[1:4096], raw(length(good) - 4096)),
    middle = {
      bad <- good
      mid <- length(good) %/% 2
      set.seed(12)
      bad[mid + 0:255] <- as.raw(sample(0:255, 256, replace = TRUE))
      bad
    })
  for (kind in names(damage)) {
    # A new inode: this process has the good object mapped.
    tmp <- paste0(so, ".damaged")
    writeBin(damage[[kind]], tmp)
    expect_true(file.rename(tmp, so))
    expect_equal(file.size(so), length(good))
    out <- in_child(function(cache, formula, args, x, y) {
      library(rkeops)
      set_rkeops_options(cache_dir = cache, precision = "float64")
      seen <- NULL
      op <- withCallingHandlers(keops_kernel(formula, args), warning = function(w) {
        seen <<- w
        invokeRestart("muffleWarning")
      })
      list(class = class(seen), message = conditionMessage(seen), res = op(list(x, y)))
    }, list(cache = cache, formula = formula_k(3), args = args3, x = xr, y = yr))
    expect_identical(out$class[1], "rkeops_cache_warning")
    expect_match(out$message, "operator.so' cannot be loaded: it is damaged (its checksum", fixed = TRUE)
    expect_match(out$message, "it was removed and rebuilt", fixed = TRUE)
    expect_close(out$res, ref_k(3), TOL64)
    rebuilt <- readBin(so, "raw", file.size(so))
    expect_false(identical(rebuilt, damage[[kind]]))
  }
  expect_close(with_precision("float64", op(list(xr, yr))), ref_k(3), TOL64)
})

# ---- item 6: interrupts and lock waits --------------------------------------

test_that("SIGINT during a compile interrupts it at once, kills the compiler and leaves no temporary", {
  skip_if(!linux, "the test reads /proc to see that the compiler is gone")
  work <- tempfile("rkeops-int-")
  dir.create(work)
  on.exit(unlink(work, recursive = TRUE), add = TRUE)
  cxx <- slow_cxx(work)
  pidfile <- file.path(work, "pids")
  cache <- file.path(work, "cache")
  p <- callr::r_bg(function(cache, cxx, formula, args) {
    library(rkeops)
    set_rkeops_options(cache_dir = cache, compiler = cxx)
    what <- tryCatch({
      keops_kernel(formula, args)
      "compiled"
    }, interrupt = function(e) "interrupt", error = function(e) paste("error:", conditionMessage(e)))
    list(what = what)
  }, args = list(cache = cache, cxx = cxx, formula = formula_k(5), args = args3),
  libpath = .libPaths(), env = c(callr::rcmd_safe_env(), SLOW_CXX_PIDFILE = pidfile))
  on.exit(p$kill(), add = TRUE)
  pids <- wait_for_pids(pidfile)
  Sys.sleep(0.2)
  expect_true(tools::pskill(p$get_pid(), tools::SIGINT))
  p$wait(15000)
  expect_false(p$is_alive())
  res <- p$get_result()
  # (without the fix the SIGINT is ignored and the wrapper sleeps 60 s: the
  # process is still alive above)
  expect_identical(res$what, "interrupt")
  expect_true(wait_until_dead(pids, 2))
  expect_length(temporaries(cache), 0)
  entry <- file.path(cache, cache_entries(cache))
  expect_false(file.exists(file.path(entry, "operator.so")))
})

test_that("a lock held by a stopped process: the waiter says so and gives up; killing the holder leaves no compiler, and the next compile removes its temporaries", {
  skip_if(!linux, "the test reads /proc to see that the compiler is gone")
  local_clean_options()
  work <- tempfile("rkeops-lock-")
  dir.create(work)
  on.exit(unlink(work, recursive = TRUE), add = TRUE)
  cxx <- slow_cxx(work)
  pidfile <- file.path(work, "pids")
  cache <- file.path(work, "cache")
  holder <- callr::r_bg(function(cache, cxx, formula, args) {
    library(rkeops)
    set_rkeops_options(cache_dir = cache, compiler = cxx, precision = "float64")
    keops_kernel(formula, args)
  }, args = list(cache = cache, cxx = cxx, formula = formula_k(7), args = args3),
  libpath = .libPaths(), env = c(callr::rcmd_safe_env(), SLOW_CXX_PIDFILE = pidfile))
  on.exit(holder$kill(), add = TRUE)
  pids <- wait_for_pids(pidfile)
  expect_true(tools::pskill(holder$get_pid(), tools::SIGSTOP))
  out <- in_child(function(cache, cxx, formula, args) {
    library(rkeops)
    set_rkeops_options(cache_dir = cache, compiler = cxx, precision = "float64")
    msgs <- character()
    t0 <- Sys.time()
    err <- withCallingHandlers(
      tryCatch({
        keops_kernel(formula, args)
        NULL
      }, error = function(e) e),
      message = function(m) {
        msgs <<- c(msgs, conditionMessage(m))
        invokeRestart("muffleMessage")
      })
    list(messages = msgs, class = class(err), message = conditionMessage(err),
         seconds = as.numeric(difftime(Sys.time(), t0, units = "secs")))
  }, list(cache = cache, cxx = cxx, formula = formula_k(7), args = args3),
  env = c(RKEOPS_LOCK_TIMEOUT = "1.5"))
  # a waiter with the default time limit is interrupted by SIGINT
  err_file <- file.path(work, "waiter-stderr")
  waiter <- callr::r_bg(function(cache, cxx, formula, args) {
    library(rkeops)
    set_rkeops_options(cache_dir = cache, compiler = cxx, precision = "float64")
    tryCatch({
      keops_kernel(formula, args)
      "compiled"
    }, interrupt = function(e) "interrupt", error = function(e) conditionMessage(e))
  }, args = list(cache = cache, cxx = cxx, formula = formula_k(7), args = args3),
  libpath = .libPaths(), stderr = err_file)
  on.exit(waiter$kill(), add = TRUE)
  t0 <- Sys.time()
  while (!any(grepl("rkeops: waiting for", readLines(err_file, warn = FALSE), fixed = TRUE)) &&
         difftime(Sys.time(), t0, units = "secs") < 30) Sys.sleep(0.05)
  expect_true(tools::pskill(waiter$get_pid(), tools::SIGINT))
  waiter$wait(10000)
  expect_false(waiter$is_alive())
  expect_identical(waiter$get_result(), "interrupt")
  holder_pid <- holder$get_pid()
  expect_length(out$messages, 1)
  expect_match(out$messages, sprintf("rkeops: waiting for another process (pid %d on ", holder_pid),
               fixed = TRUE)
  expect_match(out$messages, "that is compiling this operator", fixed = TRUE)
  expect_match(out$messages, "giving up after 1.5 s (environment variable RKEOPS_LOCK_TIMEOUT)",
               fixed = TRUE)
  expect_identical(out$class[1:2], c("rkeops_lock_error", "rkeops_error"))
  expect_match(out$message, "gave up after waiting 1.5 s for another process (pid", fixed = TRUE)
  expect_gte(out$seconds, 1.5)
  # kill -9 of the holder (stopped, in the middle of its compile): its
  # compiler dies with it.
  holder$kill()
  expect_true(wait_until_dead(pids, 5))
  entry <- file.path(cache, cache_entries(cache))
  left <- temporaries(cache)
  expect_true(length(left) >= 1)  # the compiler's TMPDIR of the killed build
  # a temporary of a process long gone, as a power loss leaves it
  dead_pid <- 4194000L
  while (file.exists(file.path("/proc", dead_pid))) dead_pid <- dead_pid + 1L
  fake <- file.path(entry, paste0("operator.so.tmp", dead_pid))
  writeLines("half an object", fake)
  set_rkeops_options(cache_dir = cache, compiler = cxx)
  # the killed holder's locks went with it (its compiler's guardian keeps no
  # copy of them): no wait, no message
  msgs <- character()
  op <- withCallingHandlers(
    with_envvars(c(SLOW_CXX_PIDFILE = pidfile, SLOW_CXX_SECONDS = "0"),
                 with_precision("float64", keops_kernel(formula_k(7), args3))),
    message = function(m) {
      msgs <<- c(msgs, conditionMessage(m))
      invokeRestart("muffleMessage")
    })
  expect_length(msgs, 0)
  expect_close(with_precision("float64", op(list(xr, yr))), ref_k(7), TOL64)
  expect_length(temporaries(cache), 0)
  expect_false(file.exists(fake))
})

# ---- item 8: no option value runs a command ---------------------------------

test_that("compile_flags, compiler and cuda_arch (options and environment) never run a command", {
  local_clean_options()
  work <- tempfile("rkeops-inject-")
  dir.create(work)
  on.exit(unlink(work, recursive = TRUE), add = TRUE)
  set_rkeops_options(cache_dir = file.path(work, "cache"))
  m <- function(i) file.path(work, paste0("pwned", i))
  hostile_flags <- paste("-O0", sprintf("`touch %s`", m(1)), sprintf("$(touch %s)", m(2)),
                         sprintf("; touch %s", m(3)), sprintf("| touch %s", m(4)),
                         sprintf("&& touch %s", m(5)), sprintf("\ntouch %s", m(6)))
  e <- catch_err(with_envvars(c(RKEOPS_COMPILE_FLAGS = NA), {
    set_rkeops_options(compile_flags = hostile_flags)
    keops_kernel(formula_k(11), args3)
  }))
  expect_s3_class(e, "rkeops_compile_error")
  expect_match(conditionMessage(e), "compilation of the operator failed", fixed = TRUE)
  # the command shown quotes each odd argument, as a shell would need
  expect_match(e$command, sprintf("'$(touch' '%s)'", m(2)), fixed = TRUE)
  set_rkeops_options(compile_flags = NULL)
  e <- catch_err(with_envvars(c(RKEOPS_COMPILE_FLAGS = hostile_flags),
                              keops_kernel(formula_k(12), args3)))
  expect_s3_class(e, "rkeops_compile_error")
  for (cxx in c(sprintf("g++; touch %s", m(7)), sprintf("$(touch %s)", m(8)),
                sprintf("`touch %s`", m(9)))) {
    e <- catch_err({
      set_rkeops_options(compiler = cxx)
      keops_kernel(formula_k(13), args3)
    })
    expect_s3_class(e, "rkeops_compile_error")
    expect_match(conditionMessage(e), sprintf("the C++ compiler '%s' was not found or does not run", cxx),
                 fixed = TRUE)
  }
  set_rkeops_options(compiler = NULL)
  # words: g++ and its arguments "&&", "touch", ... (input files it cannot find)
  e <- catch_err(with_envvars(c(RKEOPS_COMPILER = sprintf("g++ && touch %s | touch %s\ntouch %s",
                                                          m(10), m(11), m(12))),
                              keops_kernel(formula_k(13), args3)))
  expect_s3_class(e, "rkeops_compile_error")
  expect_match(e$compiler_output, "cannot find &&", fixed = TRUE)
  # cuda_arch is checked before nvcc runs (a fake nvcc when there is none)
  nvcc_dir <- file.path(work, "cuda", "bin")
  dir.create(nvcc_dir, recursive = TRUE)
  writeLines(c("#!/bin/sh",
               "if [ \"$1\" = \"--version\" ]; then echo 'Cuda compilation tools, release 12.0, V12.0.0'; exit 0; fi",
               "echo 'fake nvcc: no CUDA here' >&2", "exit 1"), file.path(nvcc_dir, "nvcc"))
  Sys.chmod(file.path(nvcc_dir, "nvcc"), "0755")
  with_envvars(c(CUDA_HOME = if (nzchar(rkeops:::find_nvcc())) NA else file.path(work, "cuda")), {
    op <- keops_kernel(formula_k(14), args3)
    for (arch in c(sprintf("80;touch %s", m(13)), sprintf("80,$(touch %s)", m(14)),
                   sprintf("80:`touch %s`", m(15)), "80 86")) {
      set_rkeops_options(cuda_arch = arch)
      e <- catch_err(rkeops:::gpu_compile_operator(op, backend = "GPU"))
      expect_s3_class(e, "rkeops_option_error")
      expect_match(conditionMessage(e), paste("option 'cuda_arch' (or RKEOPS_CUDA_ARCH) must be",
                                              "\"native\" or a comma-separated list"), fixed = TRUE)
      expect_match(conditionMessage(e), arch, fixed = TRUE)
    }
    set_rkeops_options(cuda_arch = NULL)
    e <- with_envvars(c(RKEOPS_CUDA_ARCH = sprintf("75|touch %s", m(16))),
                      catch_err(rkeops:::gpu_compile_operator(op, backend = "GPU")))
    expect_s3_class(e, "rkeops_option_error")
  })
  # valid forms: one argument per architecture
  expect_identical(rkeops:::rk_nvcc_arch_flags("sm_80,90a"),
                   paste("-gencode=arch=compute_80,code=sm_80 -gencode=arch=compute_90a,code=sm_90a",
                         "-gencode=arch=compute_90a,code=compute_90a"))
  expect_false(any(file.exists(m(1:16))))
})

# ---- item 10: a full cache disk ---------------------------------------------

# Compiles formula_k(k) with the cache on a tmpfs of `size`; returns the
# warning and the operator's source path and result.
compile_on_small_disk <- function(size, k) {
  disk <- mount_tmpfs(size)
  if (is.null(disk)) return(NULL)
  on.exit(unmount(disk), add = TRUE)
  local_clean_options()
  set_rkeops_options(cache_dir = file.path(disk, "cache"), precision = "float64")
  w <- NULL
  op <- withCallingHandlers(keops_kernel(formula_k(k), args3), warning = function(cond) {
    w <<- cond
    invokeRestart("muffleWarning")
  })
  list(disk = disk, warning = w, source = op()$source_file, res = op(list(xr, yr)),
       temporaries = temporaries(disk))
}

test_that("a full cache disk, at the source or at the compiler's output, falls back to the session directory", {
  # 4 KB: the source cannot be written; 64 KB: the source fits, the
  # compiler's temporaries and output do not.
  for (case in list(list(size = "4k", k = 17), list(size = "64k", k = 19))) {
    out <- compile_on_small_disk(case$size, case$k)
    skip_if(is.null(out), "a small tmpfs cannot be mounted here (needs root on Linux)")
    expect_s3_class(out$warning, "rkeops_cache_warning")
    msg <- conditionMessage(out$warning)
    expect_match(msg, sprintf("the disk holding '%s/cache", out$disk), fixed = TRUE)
    expect_match(msg, "is full (", fixed = TRUE)
    expect_match(msg, "for this session instead", fixed = TRUE)
    expect_true(startsWith(out$source, file.path(tempdir(), "rkeops-cache")))
    expect_close(out$res, ref_k(case$k), TOL64)
    expect_length(out$temporaries, 0)
  }
})

# ---- item 12: clean_rkeops() -----------------------------------------------

test_that("clean_rkeops() waits for a compile in progress, which succeeds, then removes it", {
  skip_if(!linux, "the compile is slowed by a shell wrapper")
  local_clean_options()
  work <- tempfile("rkeops-clean-")
  dir.create(work)
  on.exit(unlink(work, recursive = TRUE), add = TRUE)
  cxx <- slow_cxx(work)
  pidfile <- file.path(work, "pids")
  release <- file.path(work, "release")
  cache <- file.path(work, "cache")
  p <- callr::r_bg(function(cache, cxx, formula, args, x, y) {
    library(rkeops)
    set_rkeops_options(cache_dir = cache, compiler = cxx, precision = "float64")
    op <- keops_kernel(formula, args)
    op(list(x, y))
  }, args = list(cache = cache, cxx = cxx, formula = formula_k(23), args = args3, x = xr, y = yr),
  libpath = .libPaths(),
  env = c(callr::rcmd_safe_env(), SLOW_CXX_PIDFILE = pidfile, SLOW_CXX_RELEASE = release))
  on.exit(p$kill(), add = TRUE)
  wait_for_pids(pidfile, n = 1)
  set_rkeops_options(cache_dir = cache)
  msgs <- character()
  # the compile goes on once clean_rkeops() says it waits for it
  with_envvars(c(RKEOPS_LOCK_TIMEOUT = "60"), withCallingHandlers(clean_rkeops(), message = function(m) {
    msgs <<- c(msgs, conditionMessage(m))
    file.create(release)
    invokeRestart("muffleMessage")
  }))
  expect_match(msgs[1], "rkeops: waiting for another process that is compiling an operator in this cache",
               fixed = TRUE)
  expect_match(msgs[2], sprintf("rkeops: removed 1 compiled operator from %s", normalizePath(cache)),
               fixed = TRUE)
  p$wait(30000)
  expect_close(p$get_result(), ref_k(23), TOL64)
  expect_length(cache_entries(cache), 0)
})

test_that("clean_rkeops() on a read-only cache fails and says that nothing was removed", {
  local_clean_options()
  disk <- mount_tmpfs("1m")
  skip_if(is.null(disk), "a tmpfs cannot be mounted here (needs root on Linux)")
  on.exit(unmount(disk), add = TRUE)
  cache <- file.path(disk, "cache")
  entry <- file.path(cache, strrep("ab", 16))
  dir.create(entry, recursive = TRUE)
  writeLines("an object", file.path(entry, "operator.so"))
  expect_identical(system2("mount", c("-o", "remount,ro", disk)), 0L)
  set_rkeops_options(cache_dir = cache)
  e <- catch_err(clean_rkeops())
  expect_s3_class(e, "rkeops_cache_error")
  expect_match(conditionMessage(e), "1 entry of the rkeops cache", fixed = TRUE)
  expect_match(conditionMessage(e), "Read-only file system); nothing was removed", fixed = TRUE)
  expect_true(dir.exists(entry))
})

# ---- items 13 and 17: no compiler on the node, compilers that are not -------

test_that("a compiler path with a space works; without it, cached operators still load and new ones say 'not found'", {
  local_clean_options()
  work <- tempfile("rkeops-nocxx-")
  dir.create(file.path(work, "my compilers"), recursive = TRUE)
  on.exit(unlink(work, recursive = TRUE), add = TRUE)
  cxx <- file.path(work, "my compilers", "my g++")
  writeLines(c("#!/bin/sh", "exec g++ \"$@\""), cxx)
  Sys.chmod(cxx, "0755")
  cache <- file.path(work, "cache")
  set_rkeops_options(cache_dir = cache, compiler = cxx)
  op <- with_precision("float64", keops_kernel(formula_k(29), args3))
  expect_close(with_precision("float64", op(list(xr, yr))), ref_k(29), TOL64)
  cmd <- readLines(file.path(cache, cache_entries(cache), "command.txt"))
  expect_true(startsWith(cmd, sprintf("'%s' ", cxx)))
  unlink(cxx)
  out <- in_child(function(cache, cxx, f_cached, f_new, args, x, y) {
    library(rkeops)
    set_rkeops_options(cache_dir = cache, compiler = cxx, precision = "float64")
    op <- keops_kernel(f_cached, args)
    e <- tryCatch(keops_kernel(f_new, args), error = function(e) e)
    list(res = op(list(x, y)), class = class(e), message = conditionMessage(e))
  }, list(cache = cache, cxx = cxx, f_cached = formula_k(29), f_new = formula_k(31), args = args3,
          x = xr, y = yr))
  expect_close(out$res, ref_k(29), TOL64)
  expect_identical(out$class[1], "rkeops_compile_error")
  expect_match(out$message, sprintf("the C++ compiler '%s' was not found or does not run", cxx),
               fixed = TRUE)
})

test_that("a 'compiler' that exits 0 without an object is reported as such", {
  local_clean_options()
  skip_if(!file.exists("/bin/true"), "no /bin/true")
  set_rkeops_options(compiler = "/bin/true")
  e <- catch_err(keops_kernel(formula_k(37), args3))
  expect_s3_class(e, "rkeops_compile_error")
  expect_match(conditionMessage(e), "the compiler exited with status 0 but produced no object file",
               fixed = TRUE)
  expect_match(conditionMessage(e), "'/bin/true' does not behave as a C++ compiler", fixed = TRUE)
})
