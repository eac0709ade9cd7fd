// Emits a `Formula` struct for inst/include/rkeops/cpu_kernel.h: the variable
// slots of each side, and `eval`, the formula as straight-line code over one
// value type T (a SIMD vector in the main loop, a scalar in the tail), one
// statement per DAG node and component, so shared subexpressions are computed
// once.
#include "codegen/cpu_codegen.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <utility>
#include <vector>

#include "formula/errors.h"

namespace rkeops {

const char* dtype_name(DType t) { return t == DType::Float32 ? "float32" : "float64"; }

const char* sum_scheme_name(SumScheme s) {
  switch (s) {
    case SumScheme::Block: return "block_sum";
    case SumScheme::Direct: return "direct_sum";
    case SumScheme::Kahan: return "kahan_scheme";
  }
  return "?";
}

SumScheme parse_sum_scheme(const std::string& s) {
  if (s == "block_sum") return SumScheme::Block;
  if (s == "direct_sum") return SumScheme::Direct;
  if (s == "kahan_scheme") return SumScheme::Kahan;
  throw Error("unknown sum_scheme '" + s + "' (use \"block_sum\", \"direct_sum\" or \"kahan_scheme\")");
}

namespace {

// A double constant as C++ source that compiles everywhere (g++, clang++,
// nvcc) and means exactly `v`: %.17g round-trips every finite double; the
// IEEE infinities and NaN, which have no literal (printf writes "inf" and
// "nan", undeclared names), are compiler builtins, as the reductions' own
// headers use them (reductions.h). A folded NaN (Log(-1), 0 * 1e999) is
// written as the quiet NaN: its sign and payload carry no meaning.
std::string num(double v) {
  if (std::isnan(v)) return "__builtin_nan(\"\")";
  if (std::isinf(v)) return v > 0 ? "__builtin_inf()" : "(-__builtin_inf())";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  std::string s = buf;
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

struct Slots {
  std::vector<std::pair<int, int>> row, col, prm;  // {position, coordinate}
  std::map<int, int> first;                        // position -> first slot on its side
};

class CpuEmitter {
 public:
  CpuEmitter(const Program& p, const CodegenOptions& o) : p_(p), o_(o) {}

  // The `Formula` struct (inside an anonymous namespace), shared by the CPU
  // and GPU drivers.
  std::string formula_struct() {
    const Graph& g = p_.graph;
    std::vector<int> roots = {p_.formula};
    if (p_.weight >= 0) roots.push_back(p_.weight);
    std::vector<int> order = g.topological(roots);
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
    // out = F, then the weight G (if any).
    const int DF = g.dim(p_.formula), DG = p_.weight >= 0 ? g.dim(p_.weight) : 0;
    for (int k = 0; k < DF; ++k)
      body << "    out[" << k << "] = " << comp(p_.formula, k) << ";\n";
    for (int k = 0; k < DG; ++k)
      body << "    out[" << DF + k << "] = " << comp(p_.weight, k) << ";\n";

    std::ostringstream s;
    const char* real = o_.dtype == DType::Float32 ? "float" : "double";
    s << "namespace {\n\nstruct Formula {\n"
      << "  using real = " << real << ";\n"
      << "  static constexpr int ROW_CAT = " << p_.tag << ";\n"
      << "  static constexpr int NROW = " << slots_.row.size() << ", NCOL = " << slots_.col.size()
      << ", NPRM = " << slots_.prm.size() << ";\n"
      << "  static constexpr int DF = " << DF << ", DG = " << DG << ", DIM = DF + DG;\n"
      << "  using Red = " << reduction_type() << ";\n";
    slot_table(s, "row_slot", slots_.row);
    slot_table(s, "col_slot", slots_.col);
    slot_table(s, "prm_slot", slots_.prm);
    s << "  template <class T>\n"
      << "  static inline RK_HD __attribute__((always_inline)) void eval(const T* __restrict row, "
         "const T* __restrict col, const T* __restrict prm, T* __restrict out) {\n"
      << "    (void)row; (void)col; (void)prm;\n"
      << body.str() << "  }\n};\n\n}  // namespace\n\n";
    return s.str();
  }

  std::string header_comment() const {
    return "// rkeops operator (generated code: do not edit)\n// " +
           std::string(reduction_name(p_.reduction)) + ", axis " + std::to_string(p_.tag) + ", " +
           dtype_name(o_.dtype) +
           (is_sum_type(p_.reduction) ? std::string(", ") + sum_scheme_name(o_.sum_scheme) : "") +
           "\n// " + p_.canonical + "\n";
  }

  std::string emit() {
    std::ostringstream s;
    s << header_comment() << "#include <rkeops/cpu_kernel.h>\n\n" << formula_struct()
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

  // The reductions.h type of the program's reduction (F has DF components,
  // the weight G DG).
  std::string reduction_type() const {
    const char* scheme = o_.sum_scheme == SumScheme::Direct  ? "rk::kDirectSum"
                         : o_.sum_scheme == SumScheme::Kahan ? "rk::kKahanSum"
                                                             : "rk::kBlockSum";
    auto minmax = [](bool is_max, int out) {
      return std::string("rk::MinMaxReduction<real, DF, ") + (is_max ? "true" : "false") + ", " +
             std::to_string(out) + ">";
    };
    auto kmin = [&](int out) {
      return "rk::KMinReduction<real, DF, " + std::to_string(p_.K) + ", " + std::to_string(out) + ">";
    };
    auto lse = [&](int mode) {
      return "rk::LseReduction<real, DG, " + std::to_string(mode) + ", " + scheme + ">";
    };
    switch (p_.reduction) {
      case Reduction::Sum: return std::string("rk::SumReduction<real, DF, ") + scheme + ">";
      case Reduction::Max: return minmax(true, 0);
      case Reduction::ArgMax: return minmax(true, 1);
      case Reduction::MaxArgMax: return minmax(true, 2);
      case Reduction::Min: return minmax(false, 0);
      case Reduction::ArgMin: return minmax(false, 1);
      case Reduction::MinArgMin: return minmax(false, 2);
      case Reduction::KMin: return kmin(0);
      case Reduction::ArgKMin: return kmin(1);
      case Reduction::KMinArgKMin: return kmin(2);
      case Reduction::MaxSumShiftExp: return lse(0);
      case Reduction::MaxSumShiftExpWeight: return lse(1);
      case Reduction::LogSumExp: return lse(2);
      case Reduction::LogSumExpWeight: return lse(3);
      case Reduction::SumSoftMaxWeight: return lse(4);
      case Reduction::Zero: return "rk::ZeroReduction<real, DF>";
    }
    throw Error("internal error: no CPU code for this reduction");
  }

  static void slot_table(std::ostringstream& s, const char* name,
                         const std::vector<std::pair<int, int>>& v) {
    s << "  static constexpr int " << name << "[" << (v.empty() ? 1 : v.size()) << "][2] = {";
    if (v.empty()) s << "{0, 0}";
    for (std::size_t k = 0; k < v.size(); ++k)
      s << (k ? ", " : "") << "{" << v[k].first << ", " << v[k].second << "}";
    s << "};\n";
  }

  // Expression for component k of node id. Dimension-1 nodes broadcast;
  // structural nodes (Extract, ExtractT, Concat, SumT, Zero) are views of
  // their operand and emit no code.
  // A loop, not a recursion: views can be chained thousands deep (the
  // Concat chain of a Jacobian).
  std::string comp(int id, int k) const {
    for (;;) {
      const Node& n = p_.graph[id];
      if (n.dim == 1) k = 0;
      switch (n.op) {
        case Op::Zero: return "T{}";
        case Op::Extract:
          k += static_cast<int>(n.ints[0]);
          id = n.kids[0];
          continue;
        case Op::ExtractT: {
          int s = static_cast<int>(n.ints[0]), d = p_.graph.dim(n.kids[0]);
          if (k < s || k >= s + d) return "T{}";
          k -= s;
          id = n.kids[0];
          continue;
        }
        case Op::Concat: {
          int d = p_.graph.dim(n.kids[0]);
          if (k < d) {
            id = n.kids[0];
          } else {
            k -= d;
            id = n.kids[1];
          }
          continue;
        }
        case Op::SumT:
          k = 0;
          id = n.kids[0];
          continue;
        default: return "v" + std::to_string(id) + "_" + std::to_string(k);
      }
    }
  }

  static const char* function_of(Op op) {
    switch (op) {
      case Op::Exp: return "rk::exp";
      case Op::Log: return "rk::log";
      case Op::Sqrt: return "rk::sqrt";
      case Op::Rsqrt: return "rk::rsqrt";
      case Op::Sin: return "rk::sin";
      case Op::Cos: return "rk::cos";
      case Op::XLogX: return "rk::xlogx";
      case Op::SinXDivX: return "rk::sinxdivx";
      case Op::Asin: return "rk::asin";
      case Op::Acos: return "rk::acos";
      case Op::Atan: return "rk::atan";
      case Op::Abs: return "rk::abs";
      case Op::Sign: return "rk::sign";
      case Op::Step: return "rk::step";
      case Op::ReLU: return "rk::relu";
      case Op::Floor: return "rk::floor";
      case Op::Powf: return "rk::powf";
      case Op::Atan2: return "rk::atan2";
      case Op::Equal: return "rk::eq";
      case Op::NotEqual: return "rk::ne";
      case Op::LessThan: return "rk::lt";
      case Op::LessOrEqual: return "rk::le";
      case Op::Mod: return "rk::mod";
      case Op::Clamp: return "rk::clamp";
      case Op::IfElse: return "rk::ifelse";
      default: return nullptr;
    }
  }

  void emit_node(std::ostringstream& b, int id) {
    const Node& n = p_.graph[id];
    auto def = [&](int k, const std::string& expr) {
      b << "    const T v" << id << "_" << k << " = " << expr << ";\n";
    };
    auto kid = [&](int which, int k) { return comp(n.kids[which], k); };
    auto a = [&](int k) { return kid(0, k); };
    auto cst = [](double v) { return "rk::cst<T>(" + num(v) + ")"; };
    switch (n.op) {
      case Op::Zero: case Op::Extract: case Op::ExtractT: case Op::Concat: case Op::SumT:
        return;  // views, see comp()
      case Op::Var: {
        int pos = static_cast<int>(n.ints[0]), cat = static_cast<int>(n.ints[1]);
        const char* side = cat == kPm ? "prm" : (cat == p_.tag ? "row" : "col");
        int first = slots_.first.at(pos);
        for (int k = 0; k < n.dim; ++k) def(k, std::string(side) + "[" + std::to_string(first + k) + "]");
        return;
      }
      case Op::Const:
        def(0, cst(n.value));
        return;
      case Op::Add: case Op::Sub: case Op::Mul: case Op::Div: {
        const char* sym = n.op == Op::Add ? " + " : n.op == Op::Sub ? " - " : n.op == Op::Mul ? " * " : " / ";
        for (int k = 0; k < n.dim; ++k) def(k, a(k) + sym + kid(1, k));
        return;
      }
      case Op::Neg:
        for (int k = 0; k < n.dim; ++k) def(k, "-" + a(k));
        return;
      case Op::Inv:
        for (int k = 0; k < n.dim; ++k) def(k, "rk::cst<T>(1) / " + a(k));
        return;
      case Op::Square:
        for (int k = 0; k < n.dim; ++k) def(k, a(k) + " * " + a(k));
        return;
      case Op::Pow:
        for (int k = 0; k < n.dim; ++k) def(k, "rk::powi<" + std::to_string(n.ints[0]) + ">(" + a(k) + ")");
        return;
      case Op::Round:
        for (int k = 0; k < n.dim; ++k) def(k, "rk::round<" + std::to_string(n.ints[0]) + ">(" + a(k) + ")");
        return;
      case Op::ClampInt: case Op::DiffClampInt: {
        std::string f = n.op == Op::ClampInt ? "rk::clamp(" : "rk::diffclamp(";
        for (int k = 0; k < n.dim; ++k)
          def(k, f + a(k) + ", " + cst((double)n.ints[0]) + ", " + cst((double)n.ints[1]) + ")");
        return;
      }
      case Op::Sum: {
        std::string e;
        for (int k = 0; k < p_.graph.dim(n.kids[0]); ++k) e += (k ? " + " : "") + a(k);
        def(0, e);
        return;
      }
      case Op::Max: case Op::Min: case Op::ArgMax: case Op::ArgMin: {
        // scan the components in order; strict comparisons keep the first
        bool mx = n.op == Op::Max || n.op == Op::ArgMax;
        bool arg = n.op == Op::ArgMax || n.op == Op::ArgMin;
        std::string m = "m" + std::to_string(id), i = "i" + std::to_string(id);
        b << "    T " << m << " = " << a(0) << ";\n";
        if (arg) b << "    T " << i << " = T{};\n";
        for (int k = 1; k < p_.graph.dim(n.kids[0]); ++k) {
          if (arg)
            b << "    " << i << " = rk::keep_arg_" << (mx ? "max(" : "min(") << i << ", " << m << ", "
              << a(k) << ", " << cst(k) << ");\n";
          b << "    " << m << " = rk::keep_" << (mx ? "max(" : "min(") << m << ", " << a(k) << ");\n";
        }
        def(0, arg ? i : m);
        return;
      }
      case Op::OneHot: {
        std::string r = "r" + std::to_string(id);
        b << "    const T " << r << " = rk::trunc(" << a(0) << " + rk::cst<T>(0.5));\n";
        for (int k = 0; k < n.dim; ++k) def(k, "rk::eq(" + r + ", " + cst(k) + ")");
        return;
      }
      case Op::Bilinear: {
        std::vector<std::string> terms(n.dim);
        for (std::size_t t = 1; t + 2 < n.ints.size(); t += 3) {
          int out = (int)n.ints[t], i = (int)n.ints[t + 1], j = (int)n.ints[t + 2];
          std::string& e = terms[out];
          e += (e.empty() ? "" : " + ") + a(i) + " * " + kid(1, j);
        }
        for (int k = 0; k < n.dim; ++k) def(k, terms[k].empty() ? "T{}" : terms[k]);
        return;
      }
      default:
        break;
    }
    if (const char* f = function_of(n.op)) {
      for (int k = 0; k < n.dim; ++k) {
        std::string args;
        for (std::size_t c = 0; c < n.kids.size(); ++c) args += (c ? ", " : "") + kid((int)c, k);
        def(k, std::string(f) + "(" + args + ")");
      }
      return;
    }
    throw Error(std::string("internal error: no CPU code for operation ") + op_name(n.op));
  }
};

}  // namespace

std::string generate_cpu_source(const Program& p, const CodegenOptions& opt) {
  return CpuEmitter(p, opt).emit();
}

std::string generate_formula_struct(const Program& p, const CodegenOptions& opt,
                                    std::string* header_comment) {
  CpuEmitter e(p, opt);
  if (header_comment) *header_comment = e.header_comment();
  return e.formula_struct();
}

}  // namespace rkeops
