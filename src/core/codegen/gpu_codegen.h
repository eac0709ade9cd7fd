// GPU code generation: the same `Formula` struct as the CPU operator
// (cpu_codegen.cpp), driven by inst/include/rkeops/gpu_kernel.h, for nvcc
// (a real CUDA kernel) or for the emulation target (the same kernel source
// compiled by the C++ compiler, each block's threads run as loops).
#pragma once
#include <string>

#include "codegen/cpu_codegen.h"
#include "formula/program.h"

namespace rkeops {

struct GpuCodegenOptions {
  int block = 192;         // threads per block (= reduced-side rows per tile)
  bool emulation = false;  // for the C++ compiler (else nvcc)
};

// Threads per block actually used: `requested`, lowered (by multiples of 32,
// at least 32) so that the shared tile fits in 48 KiB on a real GPU.
int gpu_block_size(const Program& p, DType dtype, int requested, bool emulation);

std::string generate_gpu_source(const Program& p, const CodegenOptions& opt,
                                const GpuCodegenOptions& gpu);

}  // namespace rkeops
