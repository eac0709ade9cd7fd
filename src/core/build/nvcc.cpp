#include "build/nvcc.h"

#include <sstream>

#include "build/files.h"
#include "build/toolchain.h"
#include "codegen/gpu_codegen.h"
#include "formula/errors.h"

namespace rkeops {

GpuBackend parse_backend(const std::string& backend) {
  GpuBackend b;
  std::stringstream in(backend);
  std::string head, field;
  std::getline(in, head, ':');
  if (head == "cpu") return b;
  if (head != "gpu_emulation" && head != "cuda")
    throw Error("unknown backend '" + backend + "'");
  b.gpu = true;
  b.emulation = head == "gpu_emulation";
  while (std::getline(in, field, ':')) {
    const auto eq = field.find('=');
    const std::string k = field.substr(0, eq), v = eq == std::string::npos ? "" : field.substr(eq + 1);
    if (k == "block") b.block = std::atoi(v.c_str());
    else if (k == "arch") b.arch = v;
  }
  if (b.block < 1 || b.block > 1024) throw Error("the GPU block size must be between 1 and 1024");
  return b;
}

std::string generate_operator_source(const OperatorRequest& req, const CodegenOptions& co) {
  const GpuBackend b = parse_backend(req.backend);
  if (!b.gpu) return generate_cpu_source(*req.program, co);
  GpuCodegenOptions g;
  g.block = b.block;
  g.emulation = b.emulation;
  return generate_gpu_source(*req.program, co, g);
}

std::string nvcc_arch_flags(const std::string& arch) {
  if (arch.empty() || arch == "native") return "-arch=native";
  std::stringstream in(arch);
  std::string a, last, flags;
  while (std::getline(in, a, ',')) {
    if (a.rfind("sm_", 0) == 0 || a.rfind("compute_", 0) == 0) a = a.substr(a.find('_') + 1);
    if (a.empty()) continue;
    flags += " -gencode=arch=compute_" + a + ",code=sm_" + a;
    last = a;
  }
  if (last.empty()) return "-arch=native";
  flags += " -gencode=arch=compute_" + last + ",code=compute_" + last;
  return flags.substr(1);
}

std::string operator_compile_command(const OperatorRequest& req, const std::string& source,
                                     const std::string& object) {
  const GpuBackend b = parse_backend(req.backend);
  if (!b.gpu || b.emulation) return compile_command(req.toolchain, source, object);
  const Toolchain& tc = req.toolchain;
  return shell_quote(tc.cxx) + " -O3 -std=c++17 -Xcompiler -fPIC -shared --cudart static " +
         "--expt-relaxed-constexpr -diag-suppress 177 -x cu " + nvcc_arch_flags(b.arch) + " -I" +
         shell_quote(tc.include_dir) + " -o " + shell_quote(object) + " " + shell_quote(source);
}

}  // namespace rkeops
