#include "codegen/gpu_codegen.h"

#include <set>
#include <sstream>

#include "formula/errors.h"

namespace rkeops {

namespace {

// Scalar slots of the reduced side: each (position, coordinate) of a
// variable of the other category the formula reads.
int reduced_slots(const Program& p) {
  std::set<std::pair<long long, long long>> seen;
  int n = 0;
  std::vector<int> roots = {p.formula};
  if (p.weight >= 0) roots.push_back(p.weight);
  for (int id : p.graph.topological(roots)) {
    const Node& nd = p.graph[id];
    if (nd.op != Op::Var) continue;
    const int cat = static_cast<int>(nd.ints[1]);
    if (cat == kPm || cat == p.tag) continue;
    if (seen.insert({nd.ints[0], 0}).second) n += nd.dim;
  }
  return n;
}

}  // namespace

int gpu_block_size(const Program& p, DType dtype, int requested, bool emulation) {
  int b = requested < 1 ? 192 : requested;
  if (emulation) return b;
  const int bytes = dtype == DType::Float32 ? 4 : 8;
  const int nc = reduced_slots(p) > 0 ? reduced_slots(p) : 1;
  b = b / 32 * 32;
  if (b < 32) b = 32;
  if (b > 1024) b = 1024;
  while (b > 32 && b * nc * bytes > 48 * 1024) b -= 32;
  if (b * nc * bytes > 48 * 1024)
    throw Error("this formula reads " + std::to_string(nc) +
                " values per reduced-side point: too many for the GPU kernel's shared-memory tile");
  return b;
}

std::string generate_gpu_source(const Program& p, const CodegenOptions& opt,
                                const GpuCodegenOptions& gpu) {
  std::string comment;
  std::string formula = generate_formula_struct(p, opt, &comment);
  const int block = gpu_block_size(p, opt.dtype, gpu.block, gpu.emulation);
  std::ostringstream s;
  s << comment << "// GPU operator (" << (gpu.emulation ? "emulation target" : "CUDA")
    << "), " << block << " threads per block\n"
    << "#define RK_BLOCK " << block << "\n"
    << "#include <rkeops/gpu_kernel.h>\n\n"
    << formula << "extern \"C\" {\n"
    << "int rkeops_abi_version(void) { return RKEOPS_ABI_VERSION; }\n"
    << "const char* rkeops_key(void) { return \"" << opt.key << "\"; }\n"
    << "int rkeops_dtype(void) { return " << (opt.dtype == DType::Float32 ? 0 : 1) << "; }\n"
    << "int rkeops_gpu_block(void) { return " << block << "; }\n"
    << "int rkeops_run(const rkeops_call* call, char* err, size_t errlen) {\n"
    << "  return rk::run_gpu<Formula, " << p.out_cols << ">(call, err, errlen);\n}\n}\n";
  return s.str();
}

}  // namespace rkeops
