// A standalone driver of the C++ core (no R), for tools/sanitize.sh: it
// parses, checks, differentiates (Grad inside formulas) and generates code
// for a list of formulas, checks that bad formulas raise the right error
// kinds, then builds one operator through the cache in a temporary
// directory, runs it against a brute-force reference (whole, in chunks, on
// an empty side), and damages the cached object to see it detected and
// rebuilt. Exits non-zero on any failure; the sanitizers report the rest.
//
//   core_driver <include dir> <temporary dir> [c++ compiler] [extra flags for the operator]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "build/files.h"
#include "build/operator_cache.h"
#include "build/toolchain.h"
#include "codegen/cpu_codegen.h"
#include "formula/errors.h"
#include "formula/program.h"
#include "runtime/run_operator.h"

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
    ++failures;
  }
}

struct Case {
  const char* formula;
  std::vector<std::string> args;
};

const std::vector<Case> good = {
    {"Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)", {"x = Vi(3)", "y = Vj(3)", "b = Vj(2)", "s = Pm(1)"}},
    {"Sum_Reduction(SqDist(x, y) * w, 1)", {"x = Vi(4)", "y = Vj(4)", "w = Vi(1)"}},
    {"Min_ArgMin_Reduction(Abs(x - y), 0)", {"x = Vi(1)", "y = Vj(1)"}},
    {"KMin_ArgKMin_Reduction(SqDist(x, y), 3, 1)", {"x = Vi(2)", "y = Vj(2)"}},
    {"LogSumExp_Reduction(-SqDist(x, y), 0)", {"x = Vi(2)", "y = Vj(2)"}},
    {"SumSoftMaxWeight_Reduction(-SqDist(x, y), b, 0)", {"x = Vi(2)", "y = Vj(2)", "b = Vj(3)"}},
    {"Max_SumShiftExpWeight_Reduction(-SqDist(x, y), 0, b)", {"x = Vi(2)", "y = Vj(2)", "b = Vj(3)"}},
    {"Sum_Reduction(Grad(Exp(-SqNorm2(x - y)) * b, x, e), 0)",
     {"x = Vi(3)", "y = Vj(3)", "b = Vj(1)", "e = Vi(1)"}},
    {"Sum_Reduction(Grad(Grad(SqNorm2(x - y) * (x | y), x, e), y, f), 1)",
     {"x = Vi(2)", "y = Vj(2)", "e = Vi(1)", "f = Vi(2)"}},
    {"Sum_Reduction(Sin(x * y) * Cos(x - y) * Log(1 + Square(y)) + Sqrt(Abs(x)) - Inv(1 + y**2), 0)",
     {"x = Vi(1)", "y = Vj(1)"}},
    {"Sum_Reduction(SumT(x, 5) * Pow(y, 3), 0)", {"x = Vi(1)", "y = Vj(1)"}},
    {"Zero_Reduction(4, 0)", {"x = Vi(1)"}},
};

const std::vector<Case> bad = {
    {"Sum_Reduction(Sqnorm2(x - y), 0)", {"x = Vi(3)", "y = Vj(3)"}},
    {"Sum_Reduction(x + y, 0)", {"x = Vi(3)", "y = Vj(2)"}},
    {"Sum_Reduction(SqNorm2(x - y, 0)", {"x = Vi(3)", "y = Vj(3)"}},
    {"Sum_Reduction(x, 0)", {"x = Vi3)"}},
    {"Sum_Reduction(x, 0)", {"x = Vi(0,3)", "y = Vj(3)"}},
    {"", {}},
    {"Sum_Reduction(Grad(x, z, e), 0)", {"x = Vi(3)", "e = Vi(3)"}},
    {"Sum_Reduction(((((((((((x", {"x = Vi(1)"}},
};

void front_half() {
  for (const Case& c : good) {
    try {
      rkeops::Program p = rkeops::compile_formula(c.formula, c.args);
      check(p.out_cols > 0, std::string("output columns of ") + c.formula);
      for (auto dt : {rkeops::DType::Float32, rkeops::DType::Float64}) {
        for (auto sc : {rkeops::SumScheme::Block, rkeops::SumScheme::Direct, rkeops::SumScheme::Kahan}) {
          rkeops::CodegenOptions o;
          o.dtype = dt;
          o.sum_scheme = rkeops::is_sum_type(p.reduction) ? sc : rkeops::SumScheme::Block;
          std::string src = rkeops::generate_cpu_source(p, o);
          check(src.find("rkeops_run") != std::string::npos, std::string("source of ") + c.formula);
        }
      }
    } catch (const rkeops::Error& e) {
      check(false, std::string(c.formula) + ": " + e.what());
    }
  }
  for (const Case& c : bad) {
    bool raised = false;
    try {
      rkeops::compile_formula(c.formula, c.args);
    } catch (const rkeops::FormulaError& e) {
      raised = true;
      rkeops::render_formula_error(c.formula, e);  // the caret line, in range
    } catch (const rkeops::Error&) {
      raised = true;
    }
    check(raised, std::string("no error for '") + c.formula + "'");
  }
}

// Gaussian convolution through the cache: build, run (one chunk, many
// chunks, empty sides), damage, rebuild.
void operator_round_trip(const std::string& include_dir, const std::string& tmp, const std::string& cxx,
                         const std::string& extra_flags) {
  const std::string formula = "Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)";
  const std::vector<std::string> args = {"x = Vi(3)", "y = Vj(3)", "b = Vj(2)", "s = Pm(1)"};
  rkeops::Program p = rkeops::compile_formula(formula, args);
  rkeops::OperatorRequest req;
  req.program = &p;
  req.dtype = rkeops::DType::Float64;
  req.package_version = "driver";
  req.cache_dir = tmp + "/cache";
  req.toolchain.cxx = cxx;
  req.toolchain.include_dir = include_dir;
  req.toolchain.opt_flags = "-O1 -g -march=native " + extra_flags;
  bool compiled = false;
  std::string note;
  auto op = rkeops::get_operator(req, &compiled, &note);
  check(compiled && note.empty(), "first get_operator compiles");

  const std::int64_t M = 3000, N = 23000;  // 6.9e7 pairs: more than one chunk
  std::vector<double> x(M * 3), y(N * 3), b(N * 2), out(M * 2, -1.0);
  for (std::int64_t k = 0; k < M * 3; ++k) x[k] = std::sin(0.37 * k);
  for (std::int64_t k = 0; k < N * 3; ++k) y[k] = std::cos(0.11 * k);
  for (std::int64_t k = 0; k < N * 2; ++k) b[k] = std::sin(0.05 * k + 1);
  const double s = 0.7;
  auto spec_for = [&](std::int64_t m, std::int64_t n, double* o) {
    rkeops::CallSpec spec;
    spec.M = m;
    spec.N = n;
    spec.tag = 0;
    spec.nthreads = 2;
    spec.out = o;
    spec.args = {{x.data(), m, M, 0, 3}, {y.data(), n, N, 1, 3}, {b.data(), n, N, 1, 2}, {&s, 1, 1, 2, 1}};
    return spec;
  };
  int polls = 0, updates = 0;
  rkeops::run_operator(*op, spec_for(M, N, out.data()), [&]() { ++polls; },
                       [&](std::int64_t done, std::int64_t total, double) {
                         ++updates;
                         check(done <= total && total == M, "progress counts");
                       });
  check(polls > 1 && updates == polls, "several chunks, each polled and reported");
  double maxerr = 0;
  for (std::int64_t i = 0; i < M; i += 97) {
    for (int c = 0; c < 2; ++c) {
      double ref = 0;
      for (std::int64_t j = 0; j < N; ++j) {
        double d2 = 0;
        for (int k = 0; k < 3; ++k) {
          const double d = x[k * M + i] - y[k * N + j];
          d2 += d * d;
        }
        ref += std::exp(-s * d2) * b[c * N + j];
      }
      maxerr = std::fmax(maxerr, std::fabs(out[c * M + i] - ref) / (1 + std::fabs(ref)));
    }
  }
  check(maxerr < 1e-10, "Gaussian convolution against brute force");

  // Few output rows, a long reduced side: the split path.
  std::vector<double> few(5 * 2, -1.0);
  rkeops::CallSpec spec = spec_for(5, N, few.data());
  spec.args[0].ld = M;
  rkeops::run_operator(*op, spec, nullptr);
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < 5; ++i)
      check(std::fabs(few[c * 5 + i] - out[c * M + i]) < 1e-12 * (1 + std::fabs(out[c * M + i])),
            "split path agrees");
  // Empty reduced side: zeros; no output row: nothing written.
  std::vector<double> zero(4 * 2, -1.0);
  rkeops::run_operator(*op, spec_for(4, 0, zero.data()), nullptr);
  for (double v : zero) check(v == 0, "N = 0 gives 0");
  rkeops::run_operator(*op, spec_for(0, N, nullptr), nullptr);

  // A second request is served by the session registry.
  auto again = rkeops::get_operator(req, &compiled, &note);
  check(again == op && !compiled, "registry hit");

  // A truncated object in the cache, seen by a new session: detected before
  // dlopen, removed and rebuilt.
  const std::string so = op->object_path;
  const std::string bytes = rkeops::read_file(so);
  rkeops::write_file_atomic(so, bytes.substr(0, bytes.size() / 2));
  rkeops::forget_loaded_operators();
  auto rebuilt = rkeops::get_operator(req, &compiled, &note);
  check(compiled, "truncated object rebuilt");
  check(note.find("truncated") != std::string::npos, "truncated object reported: " + note);
  std::vector<double> out2(M * 2, -1.0);
  rkeops::run_operator(*rebuilt, spec_for(M, N, out2.data()), nullptr);
  check(out2 == out, "rebuilt operator gives the same result");
  // Not an object at all.
  rkeops::write_file_atomic(so, "garbage");
  rkeops::forget_loaded_operators();
  rebuilt = rkeops::get_operator(req, &compiled, &note);
  check(compiled && note.find("not a shared object") != std::string::npos, "garbage object reported: " + note);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s <include dir> <temporary dir> [c++ compiler] [operator flags]\n", argv[0]);
    return 2;
  }
  const std::string cxx = argc > 3 ? argv[3] : "g++";
  const std::string extra = argc > 4 ? argv[4] : "";
  front_half();
  try {
    operator_round_trip(argv[1], argv[2], cxx, extra);
  } catch (const rkeops::Error& e) {
    check(false, std::string("operator round trip: ") + e.what());
  }
  rkeops::forget_loaded_operators();
  std::printf("core_driver: %d formulas, %d bad formulas, %d failures\n", static_cast<int>(good.size()),
              static_cast<int>(bad.size()), failures);
  return failures == 0 ? 0 : 1;
}
