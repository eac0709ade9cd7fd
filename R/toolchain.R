# The compiler and flags operators are built with: what configure recorded at
# installation (inst/rkeops-toolchain.dcf), overridable by options, and
# re-checked when first used (the engine runs `<cxx> --version`).

recorded_toolchain <- function() {
  path <- system.file("rkeops-toolchain.dcf", package = "rkeops")
  rec <- if (nzchar(path)) as.list(read.dcf(path)[1, ]) else list()
  field <- function(name, default) {
    v <- rec[[name]]
    if (is.null(v) || is.na(v)) default else trimws(v)
  }
  list(
    cxx = field("CXX", "g++"),
    std_flags = field("CXXSTD", "-std=gnu++17"),
    pic_flags = field("CXXPICFLAGS", "-fpic"),
    openmp_flags = field("OPENMP_FLAGS", "-fopenmp"),
    nvcc = field("NVCC", ""),
    nvcc_version = field("NVCC_VERSION", "")
  )
}

# What the engine needs to build an operator (see Toolchain in
# src/core/build/toolchain.h).
current_toolchain <- function() {
  rec <- recorded_toolchain()
  list(
    cxx = get_option("compiler") %||% rec$cxx,
    std_flags = rec$std_flags,
    pic_flags = rec$pic_flags,
    openmp_flags = rec$openmp_flags,
    opt_flags = get_option("compile_flags"),
    include_dir = system.file("include", package = "rkeops")
  )
}
