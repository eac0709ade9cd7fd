#include "check_runner.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>

#include "build/files.h"
#include "check_compare.h"
#include "formula/errors.h"
#include "runtime/run_operator.h"

namespace gpucheck {

namespace {

using rkeops::DType;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : s) h = (h ^ ch) * 1099511628211ull;
  return h;
}

std::string size_label(std::int64_t M, std::int64_t N) {
  auto one = [](std::int64_t n) {
    if (n >= 1000000 && n % 1000000 == 0) {
      int e = 0;
      while (n % 10 == 0) n /= 10, ++e;
      return (n == 1 ? std::string("1") : std::to_string(n)) + "e" + std::to_string(e);
    }
    return std::to_string(n);
  };
  return one(M) + "x" + one(N);
}

// Random inputs of a program, by position: b on [0.5, 2) (the Min/Max
// formulas add it), e (gradient input) on [-1, 1), others on [0, 1); every
// Pm is `s`. Float32 data is rounded to float here, once for both backends.
CaseData make_data(const rkeops::Program& p, std::int64_t M, std::int64_t N, double s, DType dt,
                   std::uint64_t seed) {
  CaseData d;
  d.M = M;
  d.N = N;
  std::mt19937_64 gen(seed);
  for (const rkeops::ArgDecl& a : p.args) {
    const std::int64_t n = a.cat == rkeops::kPm ? 1 : (a.cat == rkeops::kVi ? M : N);
    std::vector<double> v(static_cast<std::size_t>(n * a.dim));
    const double lo = a.name == "b" ? 0.5 : (a.name == "e" ? -1 : 0);
    const double hi = a.name == "b" ? 2 : 1;
    std::uniform_real_distribution<double> u(lo, hi);
    for (double& x : v) {
      x = a.cat == rkeops::kPm ? s : u(gen);
      if (dt == DType::Float32) x = static_cast<float>(x);
    }
    d.in.push_back(std::move(v));
  }
  return d;
}

CaseData rounded_to_float(const CaseData& d) {
  CaseData r = d;
  for (auto& v : r.in)
    for (double& x : v) x = static_cast<float>(x);
  return r;
}

// The operator's view of the data: float copies for float32.
struct OpInputs {
  std::vector<std::vector<float>> f32;
  std::vector<const void*> data;
  std::vector<rkeops::ArgDecl> decl;
  std::int64_t M = 0, N = 0;
  std::size_t elem = 8;
  OpInputs(const rkeops::Program& p, const CaseData& d, DType dt) : M(d.M), N(d.N) {
    elem = dt == DType::Float32 ? 4 : 8;
    f32.resize(d.in.size());
    for (std::size_t k = 0; k < d.in.size(); ++k) {
      decl.push_back(p.args[k]);
      if (dt == DType::Float32) {
        f32[k].assign(d.in[k].begin(), d.in[k].end());
        data.push_back(f32[k].data());
      } else {
        data.push_back(d.in[k].data());
      }
    }
  }
  // Output rows [row0, row0 + rows) only (tag 0: rows of the Vi inputs).
  rkeops::CallSpec spec(int tag, std::int64_t row0, std::int64_t rows, double* out, int device,
                        int threads) const {
    rkeops::CallSpec s;
    s.M = tag == 0 ? rows : M;
    s.N = tag == 0 ? N : rows;
    s.tag = tag;
    s.out = out;
    s.device = device;
    s.nthreads = threads;
    for (std::size_t k = 0; k < decl.size(); ++k) {
      const int cat = decl[k].cat;
      const std::int64_t full = cat == rkeops::kPm ? 1 : (cat == rkeops::kVi ? M : N);
      const bool out_side = cat == tag;
      const char* base = static_cast<const char*>(data[k]) + (out_side ? row0 * elem : 0);
      s.args.push_back({base, out_side ? rows : full, full, cat, decl[k].dim});
    }
    return s;
  }
};

// Sets environment variables for a scope (forced GPU chunks).
struct ScopedEnv {
  std::vector<std::string> names;
  explicit ScopedEnv(const std::vector<std::pair<std::string, std::string>>& env) {
    for (const auto& e : env) {
      ::setenv(e.first.c_str(), e.second.c_str(), 1);
      names.push_back(e.first);
    }
  }
  ~ScopedEnv() {
    for (const auto& n : names) ::unsetenv(n.c_str());
  }
};

std::string last_lines(const std::string& text, int n) {
  std::size_t pos = text.size();
  for (int k = 0; k <= n && pos != std::string::npos && pos > 0; ++k) pos = text.rfind('\n', pos - 1);
  return pos == std::string::npos ? text : text.substr(pos + 1);
}

const char* kGaussian = "Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)";
const std::vector<std::string> kGaussianArgs = {"x = Vi(3)", "y = Vj(3)", "b = Vj(1)", "s = Pm(1)"};

}  // namespace

const rkeops::Program* Runner::program(const std::string& formula, const std::vector<std::string>& args,
                                       std::string* error) {
  std::string key = formula;
  for (const auto& a : args) key += "\n" + a;
  auto it = programs_.find(key);
  if (it != programs_.end()) return it->second.get();
  auto e = program_errors_.find(key);
  if (e == program_errors_.end()) {
    try {
      auto p = std::make_unique<rkeops::Program>(rkeops::compile_formula(formula, args));
      return programs_.emplace(key, std::move(p)).first->second.get();
    } catch (const rkeops::Error& ex) {
      e = program_errors_.emplace(key, std::string(ex.kind()) + ": " + ex.what()).first;
    }
  }
  if (error) *error = e->second;
  return nullptr;
}

Runner::Build* Runner::build(const std::string& formula, const std::vector<std::string>& args, DType dtype,
                             Target target) {
  std::string backend = "cpu";
  if (target == Target::CudaCheck)
    backend = "cuda:block=192:arch=" + check_arch_ + ":nvcc=" + st_.nvcc_release;
  else if (target == Target::Gpu)
    backend = st_.emulation ? "gpu_emulation:block=" + std::to_string(st_.block)
                            : "cuda:block=" + std::to_string(st_.block) + ":arch=" + st_.arch +
                                  ":nvcc=" + st_.nvcc_release;
  std::string key = formula + "|" + dtype_label(dtype) + "|" + backend;
  for (const auto& a : args) key += "|" + a;
  auto it = builds_.find(key);
  if (it != builds_.end()) return it->second.get();
  auto b = std::make_unique<Build>();
  b->what = backend + " " + dtype_label(dtype) + " " + formula;
  std::string error;
  const rkeops::Program* p = program(formula, args, &error);
  if (!p) b->error = error;
  b->req.program = p;
  b->req.dtype = dtype;
  b->req.backend = backend;
  b->req.package_version = "gpu-check " + st_.tag;
  b->req.cache_dir = st_.work_dir + "/cache";
  b->req.toolchain.include_dir = st_.include_dir;
  b->req.toolchain.cxx = backend.rfind("cuda", 0) == 0 ? st_.nvcc : st_.cxx;
  // The package's -O3 on a GPU machine (its CPU times are then the
  // package's); -O1 in emulation mode, where the ~150 compilations are most
  // of the run time and the times mean nothing (same results: no flag here
  // lets the compiler reorder floating-point operations).
  b->req.toolchain.opt_flags = st_.emulation ? "-O1 -march=native" : "-O3 -march=native";
  return builds_.emplace(key, std::move(b)).first->second.get();
}

void Runner::add_nvcc_checks(const std::vector<Case>& cases, const std::string& arch) {
  check_arch_ = arch;
  for (const Case& c : cases)
    nvcc_checks_.push_back({c.name, build(c.formula, c.args, c.dtype, Target::CudaCheck)});
}

void Runner::compile_all(const std::vector<Case>& cases, bool large) {
  for (const Case& c : cases) {
    build(c.formula, c.args, c.dtype, Target::Cpu);
    build(c.formula, c.args, c.dtype, Target::Gpu);
  }
  if (large)
    for (DType dt : {DType::Float32, DType::Float64}) {
      build(kGaussian, kGaussianArgs, dt, Target::Cpu);
      build(kGaussian, kGaussianArgs, dt, Target::Gpu);
    }
  std::vector<Build*> todo;
  for (auto& kv : builds_)
    if (kv.second->error.empty()) todo.push_back(kv.second.get());
  // nvcc first: each takes seconds, the C++ compilations fill in around them.
  std::stable_partition(todo.begin(), todo.end(),
                        [](const Build* b) { return b->req.backend.rfind("cuda", 0) == 0; });
  const auto t0 = clock_type::now();
  std::atomic<std::size_t> next{0};
  std::atomic<int> compiled{0};
  auto worker = [&]() {
    for (std::size_t k; (k = next++) < todo.size();) {
      Build* b = todo[k];
      try {
        bool now = false;
        std::string note;
        b->op = rkeops::get_operator(b->req, &now, &note);
        if (now) ++compiled;
      } catch (const rkeops::CompileError& e) {
        b->error = std::string(e.what()) + "\n  command: " + e.command() + "\n" + last_lines(e.log(), 15);
      } catch (const std::exception& e) {
        b->error = e.what();
      }
    }
  };
  std::vector<std::thread> pool;
  const int n = std::min<int>(st_.jobs, static_cast<int>(todo.size()));
  for (int k = 0; k < n; ++k) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  char buf[200];
  std::snprintf(buf, sizeof buf, "operators: %zu needed, %d compiled now (the others from the cache %s), %.1f s, %d jobs",
                builds_.size(), compiled.load(), (st_.work_dir + "/cache").c_str(), seconds_since(t0), n);
  rep_.line(buf);
  // The first failures in full (command and compiler output), then one line each.
  int shown = 0;
  for (auto& kv : builds_) {
    const std::string& e = kv.second->error;
    if (e.empty()) continue;
    rep_.line("COMPILE FAILED: " + kv.second->what + "\n  " + (shown++ < 3 ? e : e.substr(0, e.find('\n'))));
  }
}

void Runner::nvcc_check_rows() {
  for (const auto& nc : nvcc_checks_) {
    Row r;
    r.name = "nvcc compile+load only: " + nc.first;
    r.precision = dtype_label(nc.second->req.dtype);
    r.size = "-";
    const bool ok = nc.second->op && nc.second->op->run;
    r.note = ok ? "sm_" + check_arch_ + ", not run (no GPU)" : "nvcc failed (see above)";
    if (ok && nc.second->op->compile_seconds > 0)
      r.note += ", compiled in " + std::to_string(nc.second->op->compile_seconds).substr(0, 4) + " s";
    rep_.row(r, ok);
  }
}

void Runner::run_case(const Case& c) {
  Row r;
  r.name = c.name;
  r.precision = dtype_label(c.dtype);
  r.size = size_label(c.M, c.N);
  r.tol = tolerance(c.dtype);
  std::string error;
  const rkeops::Program* p = program(c.formula, c.args, &error);
  Build* cpu = p ? build(c.formula, c.args, c.dtype, Target::Cpu) : nullptr;
  Build* gpu = p ? build(c.formula, c.args, c.dtype, Target::Gpu) : nullptr;
  if (!p || !cpu->op || !gpu->op) {
    r.note = !p ? error : "not compiled: " + (cpu->op ? gpu : cpu)->error.substr(0, 120);
    rep_.row(r, false);
    return;
  }
  try {
    const CaseData d = make_data(*p, c.M, c.N, c.s, c.dtype, fnv1a(c.name));
    const OpInputs in(*p, d, c.dtype);
    const std::int64_t rows = p->tag == 0 ? c.M : c.N;
    r.pairs = static_cast<double>(c.M) * static_cast<double>(c.N);
    std::vector<double> out_cpu(static_cast<std::size_t>(rows * p->out_cols), -7.0);
    std::vector<double> out_gpu(out_cpu.size(), -7.0);
    auto t0 = clock_type::now();
    rkeops::run_operator(*cpu->op, in.spec(p->tag, 0, rows, out_cpu.data(), -1, st_.cpu_threads), nullptr);
    r.cpu_s = seconds_since(t0);
    {
      ScopedEnv env(c.env);
      const rkeops::CallSpec spec = in.spec(p->tag, 0, rows, out_gpu.data(), st_.device, st_.cpu_threads);
      if (!st_.emulation) rkeops::run_operator(*gpu->op, spec, nullptr);  // warm-up: CUDA context, caches
      t0 = clock_type::now();
      rkeops::run_operator(*gpu->op, spec, nullptr);
      r.gpu_s = seconds_since(t0);
    }
    const Comparison cmp = compare_outputs(c, d, p->tag, rows, p->out_cols, out_gpu.data(), out_cpu.data());
    r.rel_err = cmp.max_rel_err;
    const bool ok = cmp.passed(r.tol);
    if (!c.index_cols.empty())
      r.note = std::to_string(c.index_cols.size() * rows - cmp.ties - cmp.index_errors) + " indices equal, " +
               std::to_string(cmp.ties) + " ties";
    if (cmp.index_errors) r.note += ", " + std::to_string(cmp.index_errors) + " WRONG";
    if (!cmp.problem.empty()) r.note += (r.note.empty() ? "" : "; ") + cmp.problem;
    rep_.row(r, ok);
  } catch (const std::exception& e) {
    r.note = std::string("error: ") + e.what();
    rep_.row(r, false);
  }
}

namespace {
struct OutOfTime {};
}  // namespace

void Runner::large_gaussians() {
  rep_.line("Gaussian convolution " + std::string(kGaussian) + ", D = 3, on the " +
            (st_.emulation ? "EMULATION target" : "GPU") + "; each run stops after " +
            std::to_string(static_cast<int>(st_.large_budget)) +
            " s and then reports the rate of the rows done (spot check: 16 rows against the CPU backend)");
  std::string error;
  const rkeops::Program* p = program(kGaussian, kGaussianArgs, &error);
  CaseData d64;  // one data set per size, rounded to float for float32
  for (std::int64_t n : st_.large_sizes) {
    for (DType dt : {DType::Float32, DType::Float64}) {
      Row r;
      r.name = "Gaussian D=3 large";
      r.precision = dtype_label(dt);
      r.size = size_label(n, n);
      r.tol = 10 * tolerance(dt);
      Build* cpu = p ? build(kGaussian, kGaussianArgs, dt, Target::Cpu) : nullptr;
      Build* gpu = p ? build(kGaussian, kGaussianArgs, dt, Target::Gpu) : nullptr;
      if (!p || !cpu->op || !gpu->op) {
        r.note = "not compiled";
        rep_.row(r, false);
        continue;
      }
      try {
        if (d64.M != n) d64 = make_data(*p, n, n, 8.0, DType::Float64, fnv1a("large") + static_cast<std::uint64_t>(n));
        const CaseData d = dt == DType::Float64 ? d64 : rounded_to_float(d64);
        const OpInputs in(*p, d, dt);
        std::vector<double> out(static_cast<std::size_t>(n), -7.0);
        // Warm-up on one row (CUDA context, the operator's first call).
        rkeops::run_operator(*gpu->op, in.spec(0, 0, 1, out.data(), st_.device, 1), nullptr);
        std::int64_t done = 0;
        double secs = 0;
        const auto t0 = clock_type::now();
        try {
          rkeops::run_operator(
              *gpu->op, in.spec(0, 0, n, out.data(), st_.device, 1),
              [&]() {
                if (done > 0 && seconds_since(t0) > st_.large_budget) throw OutOfTime{};
              },
              [&](std::int64_t rows_done, std::int64_t, double) { done = rows_done; });
        } catch (const OutOfTime&) {
        }
        secs = seconds_since(t0);
        r.gpu_s = secs;
        r.pairs = static_cast<double>(done) * static_cast<double>(n);
        // Spot check: the first and the last 8 rows done, on the CPU.
        double scale = 0, diff = 0;
        const std::int64_t cnt = std::min<std::int64_t>(8, done);
        for (std::int64_t row0 : {std::int64_t(0), done - cnt}) {
          std::vector<double> ref(static_cast<std::size_t>(cnt), 0.0);
          rkeops::run_operator(*cpu->op, in.spec(0, row0, cnt, ref.data(), -1, st_.cpu_threads), nullptr);
          for (std::int64_t k = 0; k < cnt; ++k) {
            scale = std::fmax(scale, std::fabs(ref[k]));
            diff = std::fmax(diff, std::fabs(out[row0 + k] - ref[k]));
          }
        }
        r.rel_err = diff / (scale > 0 ? scale : 1);
        char buf[200];
        if (done == n) {
          std::snprintf(buf, sizeof buf, "full run");
        } else {
          std::snprintf(buf, sizeof buf, "stopped after %.0f s: %lld of %lld rows (%.2f%%); full run ~%.0f s",
                        secs, static_cast<long long>(done), static_cast<long long>(n), 100.0 * done / n,
                        secs * static_cast<double>(n) / static_cast<double>(done));
        }
        r.note = buf;
        rep_.row(r, r.rel_err <= r.tol);
      } catch (const std::exception& e) {
        r.note = std::string("error: ") + e.what();
        rep_.row(r, false);
      }
    }
  }
}

}  // namespace gpucheck
