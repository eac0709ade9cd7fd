#include "build/nvcc.h"

#include <sstream>

#include "build/build_errors.h"
#include "build/files.h"
#include "build/process.h"
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
  // The arch value comes from an option: a ':' in it must not hide the rest
  // from nvcc_arch_args' check, so a field that is no "key=" of ours belongs
  // to the arch value before it. nvcc=<version> comes last (free text).
  bool in_arch = false;
  while (std::getline(in, field, ':')) {
    const auto eq = field.find('=');
    const std::string k = field.substr(0, eq), v = eq == std::string::npos ? "" : field.substr(eq + 1);
    if (k == "nvcc") break;
    if (k == "block") {
      b.block = std::atoi(v.c_str());
      in_arch = false;
    } else if (k == "arch") {
      b.arch = v;
      in_arch = true;
    } else if (in_arch) {
      b.arch += ":" + field;
    }
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

std::vector<std::string> nvcc_arch_args(const std::string& arch) {
  if (arch.empty() || arch == "native") return {"-arch=native"};
  auto bad = [&]() {
    throw OptionError("option 'cuda_arch' (or RKEOPS_CUDA_ARCH) must be \"native\" or a comma-separated "
                      "list of compute capabilities such as \"75,80,90\", got '" + arch + "'");
  };
  std::stringstream in(arch);
  std::string a, last;
  std::vector<std::string> flags;
  while (std::getline(in, a, ',')) {
    if (a.rfind("sm_", 0) == 0 || a.rfind("compute_", 0) == 0) a = a.substr(a.find('_') + 1);
    std::size_t digits = 0;
    while (digits < a.size() && a[digits] >= '0' && a[digits] <= '9') ++digits;
    const bool suffix_ok = digits == a.size() || (digits + 1 == a.size() && a[digits] >= 'a' && a[digits] <= 'z');
    if (digits == 0 || digits > 4 || !suffix_ok) bad();
    flags.push_back("-gencode=arch=compute_" + a + ",code=sm_" + a);
    last = a;
  }
  if (last.empty()) bad();
  flags.push_back("-gencode=arch=compute_" + last + ",code=compute_" + last);
  return flags;
}

std::string nvcc_arch_flags(const std::string& arch) { return display_command(nvcc_arch_args(arch)); }

std::vector<std::string> operator_compile_args(const OperatorRequest& req, const std::string& source,
                                               const std::string& object) {
  const GpuBackend b = parse_backend(req.backend);
  if (!b.gpu || b.emulation) return compile_args(req.toolchain, source, object);
  const Toolchain& tc = req.toolchain;
  std::vector<std::string> args = find_compiler(tc.cxx);
  if (args.empty()) throw_compiler_not_found(tc.cxx, "no such executable file, nor on the PATH");
  for (const char* a : {"-O3", "-std=c++17", "-Xcompiler", "-fPIC", "-shared", "--cudart", "static",
                        "--expt-relaxed-constexpr", "-diag-suppress", "177", "-x", "cu"})
    args.push_back(a);
  for (auto& f : nvcc_arch_args(b.arch)) args.push_back(f);
  args.push_back("-I" + tc.include_dir);
  args.push_back("-o");
  args.push_back(object);
  args.push_back(source);
  return args;
}

}  // namespace rkeops
