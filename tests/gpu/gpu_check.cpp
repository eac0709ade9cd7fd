// GPU verification without R (issue #18), driven by tools/gpu-check.sh: the
// operators of a fixed list (check_cases.cpp) are generated, compiled and run
// through the package's own core (src/core: codegen, build/operator_cache,
// runtime/run_operator), on the GPU (nvcc) or, without one, on the emulation
// target (the same kernel source compiled by the C++ compiler), and on the
// CPU backend with the same data; the results are compared (check_compare.h)
// and a table is printed and written to --out. With a GPU, the Gaussian
// convolution is also timed at M = N = 1e6 and 1e7.
//
//   gpu_check --include DIR --work DIR [--mode auto|gpu|emulation] [--nvcc PATH]
//             [--cxx CXX] [--arch native|75,80,...] [--device D] [--out FILE]
//             [--tag TEXT] [--no-large] [--large-budget SECONDS] [--large-sizes 1e6,1e7] [--jobs J]
//             [--only SUBSTRING]
//
// Exit status: 0 all passed, 1 something failed, 2 the check could not run
// (GPU asked for but none usable, no nvcc, bad arguments).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <thread>

#include "build/files.h"
#include "build/process.h"
#include "check_compare.h"
#include "check_report.h"
#include "check_runner.h"
#include "runtime/gpu_devices.h"

namespace {

using namespace gpucheck;

int usage(const char* why) {
  std::fprintf(stderr, "gpu_check: %s\n(see the usage at the top of tests/gpu/gpu_check.cpp)\n", why);
  return 2;
}

// First line of `nvcc --version` that names the release, "" if nvcc does not run.
std::string nvcc_release(const std::string& nvcc) {
  const std::string out = rkeops::capture_process({rkeops::find_program(nvcc), "--version"});
  std::size_t pos = out.find("release");
  if (pos == std::string::npos) return out.empty() ? "" : "unknown";
  std::size_t a = out.rfind('\n', pos), b = out.find('\n', pos);
  return out.substr(a == std::string::npos ? 0 : a + 1, b == std::string::npos ? std::string::npos : b - a - 1);
}

// The oldest architecture nvcc can compile for (one cubin is enough to
// check that the CUDA source compiles).
std::string oldest_arch(const std::string& nvcc) {
  const std::string out = rkeops::capture_process({rkeops::find_program(nvcc), "--list-gpu-arch"});
  int best = 0;
  for (std::size_t p = out.find("compute_"); p != std::string::npos; p = out.find("compute_", p + 1)) {
    const int a = std::atoi(out.c_str() + p + 8);
    if (a > 0 && (best == 0 || a < best)) best = a;
  }
  return std::to_string(best > 0 ? best : 75);
}

}  // namespace

int main(int argc, char** argv) {
  Settings st;
  std::string mode = "auto", out_path, only;
  for (int k = 1; k < argc; ++k) {
    const std::string a = argv[k];
    auto value = [&]() -> std::string { return k + 1 < argc ? argv[++k] : ""; };
    if (a == "--include") st.include_dir = value();
    else if (a == "--work") st.work_dir = value();
    else if (a == "--mode") mode = value();
    else if (a == "--nvcc") st.nvcc = value();
    else if (a == "--cxx") st.cxx = value();
    else if (a == "--arch") st.arch = value();
    else if (a == "--device") st.device = std::atoi(value().c_str());
    else if (a == "--out") out_path = value();
    else if (a == "--tag") st.tag = value();
    else if (a == "--no-large") st.large = false;
    else if (a == "--large-budget") st.large_budget = std::atof(value().c_str());
    else if (a == "--large-sizes") {
      st.large_sizes.clear();
      st.large_sizes_given = true;
      const std::string v = value();
      for (std::size_t p = 0; p < v.size();) {
        std::size_t q = v.find(',', p);
        if (q == std::string::npos) q = v.size();
        const double n = std::atof(v.substr(p, q - p).c_str());
        if (n < 16) return usage("--large-sizes takes sizes of at least 16, comma-separated");
        st.large_sizes.push_back(static_cast<std::int64_t>(n));
        p = q + 1;
      }
    } else if (a == "--jobs") st.jobs = std::atoi(value().c_str());
    else if (a == "--only") only = value();
    else return usage(("unknown argument '" + a + "'").c_str());
  }
  if (st.include_dir.empty() || st.work_dir.empty()) return usage("--include and --work are required");
  if (mode != "auto" && mode != "gpu" && mode != "emulation") return usage("--mode is auto, gpu or emulation");
  if (st.jobs < 1) st.jobs = std::max(1u, std::thread::hardware_concurrency());
  st.cpu_threads = std::max(1u, std::thread::hardware_concurrency());

  Report rep(out_path);
  // What is there: a GPU (through the driver library), nvcc.
  const rkeops::GpuDevices devs = rkeops::list_gpu_devices();
  const bool have_gpu = st.device >= 0 && static_cast<std::size_t>(st.device) < devs.names.size();
  st.nvcc_release = st.nvcc.empty() ? "" : nvcc_release(st.nvcc);
  const bool have_nvcc = !st.nvcc_release.empty();
  const std::string no_gpu_why =
      devs.problem.empty() ? "GPU device " + std::to_string(st.device) + " does not exist (" +
                                 std::to_string(devs.names.size()) + " visible)"
                           : devs.problem;
  const std::string no_nvcc_why =
      st.nvcc.empty() ? "nvcc was not found" : "nvcc '" + st.nvcc + "' does not run";
  if (mode == "gpu" && !have_gpu) {
    rep.setup_failure("gpu-check: a GPU run was asked for (--gpu), but there is no usable GPU: " + no_gpu_why);
    rep.finish();
    return 2;
  }
  if (mode == "gpu" && !have_nvcc) {
    rep.setup_failure("gpu-check: a GPU run was asked for (--gpu), but " + no_nvcc_why +
                      "; install the CUDA toolkit or set NVCC / CUDA_HOME");
    rep.finish();
    return 2;
  }
  st.emulation = mode == "emulation" || !have_gpu || !have_nvcc;
  st.block = st.emulation ? 32 : 192;

  rep.header(st, st.emulation ? (mode == "emulation" ? "asked for (--emulation)"
                                                     : (!have_gpu ? no_gpu_why : no_nvcc_why))
                              : "",
             have_gpu ? devs.names[st.device] : "");
  if (st.emulation && !have_nvcc)
    rep.line("NOTE: " + no_nvcc_why + ": the CUDA source is NOT compile-checked in this run.");

  std::vector<Case> cases = make_cases(st.emulation, st.block);
  if (!only.empty())
    cases.erase(std::remove_if(cases.begin(), cases.end(),
                               [&](const Case& c) { return c.name.find(only) == std::string::npos; }),
                cases.end());
  Runner run(st, rep);
  // Without a GPU, nvcc still compiles (one architecture) and the loader
  // still loads three CUDA operators (a sum in float32, the K-min family in
  // float64, the largest parameter block), so that the CUDA path cannot rot.
  std::vector<Case> cuda_only;
  if (st.emulation && have_nvcc) {
    const std::string arch = oldest_arch(st.nvcc);
    for (const Case& c : make_cases(true, 192)) {
      const bool f32 = c.dtype == rkeops::DType::Float32;
      if ((c.name == "Sum ax0" && f32) || (c.name == "KMin_ArgKMin ax1" && !f32) ||
          (c.name == "Gaussian SqDist D=128" && !f32))
        cuda_only.push_back(c);
    }
    run.add_nvcc_checks(cuda_only, arch);
  }
  // --only skips the large runs, unless --large-sizes asks for them.
  const bool large = st.large && (st.emulation || only.empty() ? st.large_sizes_given : true);
  run.compile_all(cases, large);
  run.nvcc_check_rows();
  {  // the comparison rules themselves, on made-up outputs
    Row r;
    r.name = "self-test of the comparison rules";
    r.precision = "-";
    r.size = "-";
    r.note = self_test_compare();
    rep.row(r, r.note.empty());
  }
  for (const Case& c : cases) run.run_case(c);
  if (large) run.large_gaussians();
  else if (st.emulation)
    rep.line("SKIPPED: the Gaussian timings at M = N = 1e6 and 1e7 (they need a real GPU).");
  else
    rep.line("SKIPPED: the Gaussian timings at M = N = 1e6 and 1e7 (--no-large or --only).");
  return rep.finish() ? 0 : 1;
}
