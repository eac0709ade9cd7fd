// Which compiler builds operators, with which flags, and what identifies the
// build for the cache (compiler version, host CPU).
#pragma once
#include <string>

namespace rkeops {

struct Toolchain {
  std::string cxx = "g++";               // as R is configured (R CMD config CXX17)
  std::string std_flags = "-std=gnu++17";
  std::string pic_flags = "-fpic";
  std::string openmp_flags = "-fopenmp"; // may be empty: generated code guards _OPENMP
  std::string opt_flags = "-O3 -march=native";
  std::string include_dir;               // the package's inst/include, installed
};

// First line of `cxx --version`, cached per compiler for the session; throws
// CompileError with a hint when the compiler cannot be run.
const std::string& compiler_identity(const std::string& cxx);

// Identifies the host CPU's model and instruction set: objects built with
// -march=native on one kind of node must not be loaded on another.
const std::string& host_cpu_identity();

std::string compile_command(const Toolchain& tc, const std::string& source,
                            const std::string& object);

}  // namespace rkeops
