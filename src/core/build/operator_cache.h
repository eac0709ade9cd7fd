// Finding or building an operator: session registry -> cache directory ->
// generate + compile. One entry per key under the cache directory:
//   <cache>/<key>/operator.cpp   generated source (kept for debugging)
//   <cache>/<key>/operator.so    the compiled operator
//   <cache>/<key>/operator.so.sum  its size and checksum, checked before dlopen
//   <cache>/<key>/compile.log    compiler output; command.txt its command
//   <cache>/<key>.lock           held (exclusive) while the entry is being built
//   <cache>/.lock                held shared by every build, exclusive by
//                                clean_cache(): never removed
//   <cache>/compilers/           compiler identities (build/toolchain.h)
// Temporaries are named <name>.tmp<pid> (the compiler's own, TMPDIR, too:
// build.tmp<pid>/); those of dead processes are removed by the next build.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "abi_types.h"
#include "build/files.h"
#include "build/toolchain.h"
#include "codegen/cpu_codegen.h"
#include "formula/program.h"

namespace rkeops {

struct OperatorRequest {
  const Program* program = nullptr;
  DType dtype = DType::Float32;
  SumScheme sum_scheme = SumScheme::Block;  // only used by sum-type reductions
  std::string backend = "cpu";
  std::string package_version;
  std::string cache_dir;
  Toolchain toolchain;
  // Called while the compiler runs and while waiting for a lock (R checks
  // for Ctrl-C there and may throw; the compiler is then killed and the
  // temporaries removed), and with the message that a lock is awaited.
  std::function<void()> poll;
  std::function<void(const std::string&)> notify;
  double lock_timeout = 600;  // seconds, then LockTimeoutError
};

struct LoadedOperator {
  std::string key, dir, object_path, source_path, log_path, command;
  DType dtype = DType::Float32;
  double compile_seconds = 0;    // 0 when it was found in the cache
  void* handle = nullptr;
  rkeops_run_fn run = nullptr;
};

// The cache key: every input that changes the object's bytes or its meaning.
std::string operator_key(const OperatorRequest& req);

// Returns the loaded operator, compiling it if needed. `compiled_now` tells
// whether this call compiled it; `note` receives a message for the user when
// something was repaired (a damaged entry rebuilt).
std::shared_ptr<const LoadedOperator> get_operator(const OperatorRequest& req, bool* compiled_now,
                                                   std::string* note);

// Forget loaded operators (the objects stay mapped: R may still hold them).
void forget_loaded_operators();

// Removes every entry of the cache under its exclusive lock (so no build is
// running), except the lock file itself. Counts what was really removed.
struct CleanResult {
  int removed = 0;       // operator entries (32-hex directories) removed
  int failed = 0;        // entries (of any kind) that could not be removed
  std::string problem;   // why the first failure failed
};
CleanResult clean_cache(const std::string& cache_dir, const LockWait& wait);

}  // namespace rkeops
