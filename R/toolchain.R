# The compiler and flags operators are built with: what configure recorded at
# installation (inst/rkeops-toolchain.dcf), overridable by options, and
# re-checked when first used (the engine runs `<cxx> --version`).

# Both are read once per session (system.file() and read.dcf() took a
# quarter of a small call's time): the installed package does not change
# under a running session.
.toolchain <- new.env(parent = emptyenv())

recorded_toolchain <- function() {
  if (is.null(.toolchain$recorded)) .toolchain$recorded <- read_recorded_toolchain()
  .toolchain$recorded
}

include_dir <- function() {
  if (is.null(.toolchain$include)) .toolchain$include <- system.file("include", package = "rkeops")
  .toolchain$include
}

read_recorded_toolchain <- function() {
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
    opt_flags = paste(get_option("compile_flags"), simd_flags(get_option("simd"))),
    include_dir = include_dir()
  )
}

# Flags that force a narrower SIMD path than the machine's own (the vector
# width in inst/include/rkeops/simd.h follows RK_VBYTES).
simd_flags <- function(simd) {
  x86 <- R.version$arch %in% c("x86_64", "i386", "i686")
  switch(simd,
    native = "",
    avx2 = if (x86) "-mno-avx512f -DRK_VBYTES=32" else "-DRK_VBYTES=32",
    generic = if (x86) "-mno-avx512f -mno-avx2 -mno-avx -mno-fma -DRK_VBYTES=16" else "-DRK_VBYTES=16"
  )
}
