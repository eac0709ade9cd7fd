// Builds the operators of the cases (in parallel, through the core's cache),
// runs each case on the GPU (or the emulation target) and on the CPU backend,
// compares them and reports a row per case (tools/gpu-check.sh).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "build/operator_cache.h"
#include "check_cases.h"
#include "check_report.h"
#include "check_settings.h"
#include "formula/program.h"

namespace gpucheck {

class Runner {
 public:
  Runner(const Settings& st, Report& rep) : st_(st), rep_(rep) {}
  // CUDA operators compiled for `arch` and loaded, never run (no GPU).
  void add_nvcc_checks(const std::vector<Case>& cases, const std::string& arch);
  // Compiles every operator the cases (and the large runs) need.
  void compile_all(const std::vector<Case>& cases, bool large);
  void nvcc_check_rows();
  void run_case(const Case& c);
  // The Gaussian convolution at M = N = 1e6 and 1e7 on the GPU, each run
  // stopped after st.large_budget seconds (then the rate is extrapolated).
  void large_gaussians();

 private:
  enum class Target { Cpu, Gpu, CudaCheck };
  struct Build {
    std::string what;
    rkeops::OperatorRequest req;
    std::shared_ptr<const rkeops::LoadedOperator> op;
    std::string error;
  };
  const rkeops::Program* program(const std::string& formula, const std::vector<std::string>& args,
                                 std::string* error);
  Build* build(const std::string& formula, const std::vector<std::string>& args, rkeops::DType dtype,
               Target target);

  const Settings& st_;
  Report& rep_;
  std::string check_arch_;
  std::map<std::string, std::unique_ptr<rkeops::Program>> programs_;
  std::map<std::string, std::string> program_errors_;
  std::map<std::string, std::unique_ptr<Build>> builds_;
  std::vector<std::pair<std::string, Build*>> nvcc_checks_;
};

}  // namespace gpucheck
