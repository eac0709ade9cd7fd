// NVIDIA GPUs visible to this process, found through the CUDA driver
// (libcuda.so.1, dlopen'ed: no link-time dependency on CUDA). Respects
// CUDA_VISIBLE_DEVICES, as the driver does.
#pragma once
#include <string>
#include <vector>

namespace rkeops {

struct GpuDevices {
  std::vector<std::string> names;  // by device number
  std::string problem;             // why none was found ("" if the driver answered)
};

GpuDevices list_gpu_devices();

}  // namespace rkeops
