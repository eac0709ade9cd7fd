// Emits a `Formula` struct for inst/include/rkeops/cpu_kernel.h: the variable
// slots of each side, and `eval`, the formula as straight-line code over one
// value type T (a SIMD vector in the main loop, a scalar in the tail), one
// statement per DAG node and component, so shared subexpressions are computed
// once.
#include "codegen/cpu_codegen.h"

#include <cstdio>
#include <map>
#include <sstream>
#include <utility>
#include <vector>

#include "formula/errors.h"

namespace rkeops {

const char* dtype_name(DType t) { return t == DType::Float32 ? "float32" : "float64"; }

namespace {

std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  std::string s = buf;
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

struct Slots {
  std::vector<std::pair<int, int>> row, col, prm;  // {position, coordinate}
  std::map<int, int> first;                        // position -> first slot on its side
};

class CpuEmitter {
 public:
  CpuEmitter(const Program& p, const CodegenOptions& o) : p_(p), o_(o) {}

  std::string emit() {
    const Graph& g = p_.graph;
    std::vector<int> order = g.topological({p_.formula});
    // Assign slots to the variables the formula reads, side by side.
    for (int id : order) {
      const Node& n = g[id];
      if (n.op != Op::Var) continue;
      int pos = static_cast<int>(n.ints[0]), cat = static_cast<int>(n.ints[1]);
      auto& side = cat == kPm ? slots_.prm : (cat == p_.tag ? slots_.row : slots_.col);
      slots_.first[pos] = static_cast<int>(side.size());
      for (int k = 0; k < n.dim; ++k) side.push_back({pos, k});
    }
    std::ostringstream body;
    for (int id : order) emit_node(body, id);
    int root = p_.formula;
    for (int k = 0; k < g.dim(root); ++k)
      body << "    out[" << k << "] = " << comp(root, k) << ";\n";

    std::ostringstream s;
    const char* real = o_.dtype == DType::Float32 ? "float" : "double";
    s << "// rkeops operator (generated code: do not edit)\n"
      << "// " << reduction_name(p_.reduction) << ", axis " << p_.tag << ", " << dtype_name(o_.dtype)
      << "\n// " << p_.canonical << "\n"
      << "#include <rkeops/cpu_kernel.h>\n\n"
      << "namespace {\n\nstruct Formula {\n"
      << "  using real = " << real << ";\n"
      << "  static constexpr int ROW_CAT = " << p_.tag << ";\n"
      << "  static constexpr int NROW = " << slots_.row.size() << ", NCOL = " << slots_.col.size()
      << ", NPRM = " << slots_.prm.size() << ";\n"
      << "  static constexpr int DIM = " << g.dim(root) << ";\n"
      << "  using Red = rk::SumReduction<real, DIM>;\n";
    slot_table(s, "row_slot", slots_.row);
    slot_table(s, "col_slot", slots_.col);
    slot_table(s, "prm_slot", slots_.prm);
    s << "  template <class T>\n"
      << "  static inline __attribute__((always_inline)) void eval(const T* __restrict row, "
         "const T* __restrict col, const T* __restrict prm, T* __restrict out) {\n"
      << "    (void)row; (void)col; (void)prm;\n"
      << body.str() << "  }\n};\n\n}  // namespace\n\n"
      << "extern \"C\" {\n"
      << "int rkeops_abi_version(void) { return RKEOPS_ABI_VERSION; }\n"
      << "const char* rkeops_key(void) { return \"" << o_.key << "\"; }\n"
      << "int rkeops_dtype(void) { return " << (o_.dtype == DType::Float32 ? 0 : 1) << "; }\n"
      << "int rkeops_run(const rkeops_call* call, char* err, size_t errlen) {\n"
      << "  return rk::run_cpu<Formula>(call, err, errlen);\n}\n}\n";
    return s.str();
  }

 private:
  const Program& p_;
  const CodegenOptions& o_;
  Slots slots_;

  static void slot_table(std::ostringstream& s, const char* name,
                         const std::vector<std::pair<int, int>>& v) {
    s << "  static constexpr int " << name << "[" << (v.empty() ? 1 : v.size()) << "][2] = {";
    if (v.empty()) s << "{0, 0}";
    for (std::size_t k = 0; k < v.size(); ++k)
      s << (k ? ", " : "") << "{" << v[k].first << ", " << v[k].second << "}";
    s << "};\n";
  }

  // Name of component k of node id (dimension-1 nodes broadcast).
  std::string comp(int id, int k) const {
    const Node& n = p_.graph[id];
    if (n.op == Op::Zero) return "T{}";
    return "v" + std::to_string(id) + "_" + std::to_string(n.dim == 1 ? 0 : k);
  }

  void emit_node(std::ostringstream& b, int id) {
    const Node& n = p_.graph[id];
    auto def = [&](int k, const std::string& expr) {
      b << "    const T v" << id << "_" << k << " = " << expr << ";\n";
    };
    auto a = [&](int k) { return comp(n.kids[0], k); };
    auto c = [&](int k) { return comp(n.kids[1], k); };
    switch (n.op) {
      case Op::Zero:
        return;
      case Op::Var: {
        int pos = static_cast<int>(n.ints[0]), cat = static_cast<int>(n.ints[1]);
        const char* side = cat == kPm ? "prm" : (cat == p_.tag ? "row" : "col");
        int first = slots_.first.at(pos);
        for (int k = 0; k < n.dim; ++k) def(k, std::string(side) + "[" + std::to_string(first + k) + "]");
        return;
      }
      case Op::Const:
        def(0, "T{} + static_cast<real>(" + num(n.value) + ")");
        return;
      case Op::Add:
      case Op::Sub:
      case Op::Mul:
      case Op::Div: {
        const char* sym = n.op == Op::Add ? " + " : n.op == Op::Sub ? " - " : n.op == Op::Mul ? " * " : " / ";
        for (int k = 0; k < n.dim; ++k) def(k, a(k) + sym + c(k));
        return;
      }
      case Op::Neg:
        for (int k = 0; k < n.dim; ++k) def(k, "-" + a(k));
        return;
      case Op::Inv:
        for (int k = 0; k < n.dim; ++k) def(k, "static_cast<real>(1) / " + a(k));
        return;
      case Op::Square:
        for (int k = 0; k < n.dim; ++k) def(k, a(k) + " * " + a(k));
        return;
      case Op::Exp:
        for (int k = 0; k < n.dim; ++k) def(k, "rk::exp(" + a(k) + ")");
        return;
      case Op::Pow:
        for (int k = 0; k < n.dim; ++k)
          def(k, "rk::powi<" + std::to_string(n.ints[0]) + ">(" + a(k) + ")");
        return;
      case Op::Sum:
      case Op::SqNorm2:
      case Op::Scalprod: {
        int d = p_.graph.dim(n.kids[0]);
        std::string e;
        for (int k = 0; k < d; ++k) {
          std::string t = n.op == Op::Sum       ? a(k)
                          : n.op == Op::SqNorm2 ? a(k) + " * " + a(k)
                                                : a(k) + " * " + c(k);
          e += (k ? " + " : "") + t;
        }
        def(0, e);
        return;
      }
    }
    throw Error(std::string("internal error: no CPU code for operation ") + op_name(n.op));
  }
};

}  // namespace

std::string generate_cpu_source(const Program& p, const CodegenOptions& opt) {
  return CpuEmitter(p, opt).emit();
}

}  // namespace rkeops
