// GPU backends of the build layer. The backend of an OperatorRequest (part
// of the cache key) is one of
//   "cpu"                                  the CPU operator (cpu_kernel.h)
//   "gpu_emulation:block=<B>"              the GPU kernel source compiled by the
//                                          C++ compiler (toolchain.cxx), blocks
//                                          run as loops (gpu_kernel.h)
//   "cuda:block=<B>:arch=<A>[:nvcc=<version>]"
//                                          the GPU kernel compiled by nvcc
//                                          (toolchain.cxx is then nvcc's path);
//                                          A = "native" or a comma-separated
//                                          list of compute capabilities, e.g.
//                                          "75,80,86,90"
#pragma once
#include <string>
#include <vector>

#include "build/operator_cache.h"

namespace rkeops {

struct GpuBackend {
  bool gpu = false, emulation = false;
  int block = 192;
  std::string arch = "native";
};

// Parses a backend string; throws Error for an unknown one.
GpuBackend parse_backend(const std::string& backend);

// The generated source of the request's backend.
std::string generate_operator_source(const OperatorRequest& req, const CodegenOptions& co);

// The compile command of the request's backend, an argument vector (no
// shell, build/process.h).
std::vector<std::string> operator_compile_args(const OperatorRequest& req, const std::string& source,
                                               const std::string& object);

// nvcc's architecture flags for "native" or "75,80,...": one cubin per
// architecture, plus PTX of the last one (for newer GPUs, JIT-compiled).
// Each architecture must be digits, optionally prefixed by sm_ or compute_
// and followed by one letter (90a); anything else throws OptionError naming
// the option cuda_arch.
std::vector<std::string> nvcc_arch_args(const std::string& arch);
std::string nvcc_arch_flags(const std::string& arch);  // joined by spaces

}  // namespace rkeops
