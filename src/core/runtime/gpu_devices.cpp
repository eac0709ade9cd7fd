#include "runtime/gpu_devices.h"

#include <dlfcn.h>

namespace rkeops {

GpuDevices list_gpu_devices() {
  GpuDevices out;
  void* h = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!h) h = ::dlopen("libcuda.so", RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    out.problem = "no NVIDIA driver (libcuda.so.1 cannot be loaded)";
    return out;
  }
  using init_fn = int (*)(unsigned);
  using count_fn = int (*)(int*);
  using get_fn = int (*)(int*, int);
  using name_fn = int (*)(char*, int, int);
  auto cu_init = reinterpret_cast<init_fn>(::dlsym(h, "cuInit"));
  auto cu_count = reinterpret_cast<count_fn>(::dlsym(h, "cuDeviceGetCount"));
  auto cu_get = reinterpret_cast<get_fn>(::dlsym(h, "cuDeviceGet"));
  auto cu_name = reinterpret_cast<name_fn>(::dlsym(h, "cuDeviceGetName"));
  if (!cu_init || !cu_count || !cu_get || !cu_name) {
    out.problem = "the NVIDIA driver library lacks the expected functions";
  } else if (int e = cu_init(0)) {
    out.problem = "the NVIDIA driver failed to initialise (CUresult " + std::to_string(e) + ")";
  } else {
    int n = 0;
    if (cu_count(&n) != 0) n = 0;
    for (int k = 0; k < n; ++k) {
      int dev = 0;
      char name[256] = {0};
      if (cu_get(&dev, k) != 0 || cu_name(name, sizeof name - 1, dev) != 0)
        out.names.push_back("GPU " + std::to_string(k));
      else
        out.names.push_back(name);
    }
    if (n == 0) out.problem = "the NVIDIA driver reports no GPU";
  }
  // The driver stays loaded: unloading libcuda after cuInit is not supported.
  return out;
}

}  // namespace rkeops
