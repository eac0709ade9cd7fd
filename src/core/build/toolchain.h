// Which compiler builds operators, with which flags, and what identifies the
// build for the cache (compiler version, host CPU). Commands are argument
// vectors, run without a shell (build/process.h).
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace rkeops {

struct Toolchain {
  std::string cxx = "g++";               // as R is configured (R CMD config CXX17)
  std::string std_flags = "-std=gnu++17";
  std::string pic_flags = "-fpic";
  std::string openmp_flags = "-fopenmp"; // may be empty: generated code guards _OPENMP
  std::string opt_flags = "-O3 -march=native";
  std::string include_dir;               // the package's inst/include, installed
};

// The compiler's program (an absolute path) and its leading arguments:
// `cxx` as one word when it names an executable file (a path may hold
// spaces), else its white-space separated words ("ccache g++", or R's
// "g++ -std=gnu++17"), the first one looked up on the PATH. Empty when the
// program is not found.
std::vector<std::string> find_compiler(const std::string& cxx);

// First line of `cxx --version`, run now (cached per session while the
// compiler's file does not change); throws CompileError with a hint when the
// compiler is missing or does not run. `poll` as for run_process (a
// wrapper script may hang).
std::string compiler_identity(const std::string& cxx, const std::function<void()>& poll = nullptr);

// The compiler identity that goes into cache keys, without running the
// compiler when it is known: from this session, or from the record kept in
// `<cache_dir>/compilers/` (valid while the compiler's file has the same
// size, time and inode). When the compiler is missing, the recorded
// identity is used, so a node without a compiler loads the operators that
// are already in the cache; only a compile then fails ("not found"). Throws
// as compiler_identity when there is neither a compiler nor a record.
std::string compiler_key_identity(const std::string& cxx, const std::string& cache_dir,
                                  const std::function<void()>& poll = nullptr);

// Identifies the host CPU's model and instruction set: objects built with
// -march=native on one kind of node must not be loaded on another.
const std::string& host_cpu_identity();

// The compile command. Flags are split on white space, with no quoting and no
// expansion of any kind. Throws CompileError when the compiler is missing.
std::vector<std::string> compile_args(const Toolchain& tc, const std::string& source,
                                      const std::string& object);

// The CompileError for a compiler that is missing or does not run.
[[noreturn]] void throw_compiler_not_found(const std::string& cxx, const std::string& why);

}  // namespace rkeops
