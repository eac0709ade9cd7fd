# Classed conditions. Every error rkeops raises has class c(<kind>,
# "rkeops_error", "error", "condition") so that callers can catch precisely,
# and a message a user can act on.

rkeops_abort <- function(message, class = NULL, ...) {
  cond <- structure(
    class = c(class, "rkeops_error", "error", "condition"),
    list(message = paste(message, collapse = "\n"), call = NULL, ...)
  )
  stop(cond)
}

rkeops_warn <- function(message, class = NULL) {
  cond <- structure(
    class = c(class, "rkeops_warning", "warning", "condition"),
    list(message = message, call = NULL)
  )
  warning(cond)
}

# Calls an engine function (src/bridge.cpp) and turns its error list into a
# classed R condition.
core_call <- function(fun, ...) {
  res <- fun(...)
  if (is.list(res) && !is.null(res$error)) core_abort(res)
  res
}

core_abort <- function(res) {
  kind <- res$error
  msg <- res$message
  if (identical(kind, "rkeops_compile_error")) {
    log <- trimws(res$log %||% "")
    if (nchar(log) > 4000) log <- paste0(substr(log, 1, 4000), "\n[... see the full log]")
    msg <- c(
      msg,
      paste0("  command: ", res$command),
      if (nzchar(res$source %||% "")) paste0("  generated source: ", res$source),
      if (nzchar(log)) c("  compiler output:", paste0("    ", strsplit(log, "\n")[[1]])),
      paste0("  hint: ", compile_hint(log, res$command))
    )
  }
  if (identical(kind, "rkeops_argument_error")) {
    msg <- paste0("invalid argument declaration in 'args': ", msg)
  }
  rkeops_abort(msg, class = kind,
               position = res$position, command = res$command,
               compiler_output = res$log, source = res$source)
}

compile_hint <- function(log, command) {
  if (grepl("No space left", log, fixed = TRUE)) {
    return("the disk holding the cache is full: free space or set RKEOPS_CACHE_DIR elsewhere")
  }
  if (grepl("not found|No such file or directory", log) && !grepl("\\.h", log)) {
    return(paste("the compiler could not be run: install a C++17 compiler",
                 "(Debian: apt-get install g++) or set the option rkeops.compiler"))
  }
  if (grepl("cuda", log, ignore.case = TRUE)) {
    return("CUDA headers or nvcc are missing: install the CUDA toolkit or use_cpu()")
  }
  "run check_rkeops() to see the compiler rkeops uses and test it on a tiny formula"
}

`%||%` <- function(a, b) if (is.null(a)) b else a
