// What tools/gpu-check.sh asked for and what the driver found.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace gpucheck {

struct Settings {
  std::string include_dir, work_dir;  // inst/include; build products and the operator cache
  std::string cxx = "g++";            // builds the CPU and the emulation operators
  std::string nvcc, nvcc_release;     // "" when there is none
  std::string arch = "native";        // CUDA architectures of the GPU run
  std::string tag = "dev";            // identifies the sources (part of the cache key)
  bool emulation = true;              // no GPU: the emulation target stands for it
  int block = 192;                    // threads per block
  int device = 0;
  int jobs = 0;                       // parallel compilations (0: one per CPU)
  int cpu_threads = 1;                // threads of the CPU backend
  bool large = true;                  // time the Gaussian at 1e6 and 1e7 (GPU only)
  double large_budget = 40;           // seconds per large run, then it stops and extrapolates
  // M = N of the large runs; --large-sizes also runs them in emulation mode
  // (small sizes there: it is how that code path is tested without a GPU).
  std::vector<std::int64_t> large_sizes = {1000000, 10000000};
  bool large_sizes_given = false;
};

}  // namespace gpucheck
