// Finding or building an operator: session registry -> cache directory ->
// generate + compile. One entry per key under the cache directory:
//   <cache>/<key>/operator.cpp   generated source (kept for debugging)
//   <cache>/<key>/operator.so    the compiled operator
//   <cache>/<key>/compile.log    compiler output; command.txt its command
//   <cache>/<key>.lock           held while the entry is being built
#pragma once
#include <memory>
#include <string>

#include "abi_types.h"
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

}  // namespace rkeops
