// The Rcpp bridge: R objects <-> core types, and nothing else. Engine errors
// come back to R as a list(error = <kind>, message = ...) that R turns into a
// classed condition (R/errors.R); a C++ exception never reaches R unconverted.
#include <Rcpp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "build/build_errors.h"
#include "build/operator_cache.h"
#include "build/toolchain.h"
#include "codegen/cpu_codegen.h"
#include "formula/errors.h"
#include "formula/program.h"
#include "runtime/run_operator.h"

using namespace Rcpp;

namespace {

using OperatorHandle = std::shared_ptr<const rkeops::LoadedOperator>;

List error_list(const rkeops::Error& e, const std::string& formula) {
  List out = List::create(_["error"] = e.kind(), _["message"] = std::string(e.what()));
  if (auto* fe = dynamic_cast<const rkeops::FormulaError*>(&e)) {
    out["message"] = rkeops::render_formula_error(formula, *fe);
    out["position"] = static_cast<double>(fe->pos());
  } else if (auto* ae = dynamic_cast<const rkeops::ArgumentError*>(&e)) {
    out["index"] = ae->index() + 1;
  } else if (auto* ce = dynamic_cast<const rkeops::CompileError*>(&e)) {
    out["command"] = ce->command();
    out["log"] = ce->log();
    out["source"] = ce->source_path();
  }
  return out;
}

template <class F>
SEXP guarded(const std::string& formula, F f) {
  try {
    return f();
  } catch (const rkeops::Error& e) {
    return error_list(e, formula);
  } catch (const std::bad_alloc&) {
    return List::create(_["error"] = "rkeops_memory_error",
                        _["message"] = "not enough memory for this computation");
  }
}

rkeops::DType parse_dtype(const std::string& s) {
  return s == "float64" ? rkeops::DType::Float64 : rkeops::DType::Float32;
}

rkeops::Toolchain parse_toolchain(const List& tc) {
  rkeops::Toolchain t;
  t.cxx = as<std::string>(tc["cxx"]);
  t.std_flags = as<std::string>(tc["std_flags"]);
  t.pic_flags = as<std::string>(tc["pic_flags"]);
  t.openmp_flags = as<std::string>(tc["openmp_flags"]);
  t.opt_flags = as<std::string>(tc["opt_flags"]);
  t.include_dir = as<std::string>(tc["include_dir"]);
  return t;
}

// How long a build waits for another process's lock: RKEOPS_LOCK_TIMEOUT
// seconds (documented in ?get_rkeops_cache_dir), 600 by default.
double lock_timeout_seconds() {
  const char* env = std::getenv("RKEOPS_LOCK_TIMEOUT");
  if (!env || !*env) return 600;
  char* end = nullptr;
  const double v = std::strtod(env, &end);
  if (end == env || *end != '\0' || !(v > 0) || v > 1e9)
    throw rkeops::OptionError("environment variable RKEOPS_LOCK_TIMEOUT must be a positive number of "
                              "seconds, got '" + std::string(env) + "'");
  return v;
}

// The build's hooks into R: Ctrl-C (Rcpp's exception becomes R's interrupt
// condition when it leaves the exported function) and messages.
rkeops::LockWait r_lock_wait() {
  rkeops::LockWait w;
  w.timeout_seconds = lock_timeout_seconds();
  w.poll = []() { Rcpp::checkUserInterrupt(); };
  w.notify = [](const std::string& msg) {
    Rcpp::Function message("message", R_BaseNamespace);
    message(msg);
  };
  return w;
}

// R's n points (rows, or columns when `transpose`) into the engine's layout:
// coordinate k of point p at dst[k * n + p], cast to the operator's type.
template <class T>
void copy_points(const double* src, T* dst, std::int64_t n, int dim, bool transpose) {
  if (transpose) {
    for (std::int64_t p = 0; p < n; ++p)
      for (int k = 0; k < dim; ++k) dst[k * n + p] = static_cast<T>(src[p * dim + k]);
  } else {
    const std::size_t len = static_cast<std::size_t>(n) * dim;
    for (std::size_t t = 0; t < len; ++t) dst[t] = static_cast<T>(src[t]);
  }
}

void finalize_handle(SEXP p) {
  auto* h = static_cast<OperatorHandle*>(R_ExternalPtrAddr(p));
  delete h;
  R_ClearExternalPtr(p);
}

// An operator handle is an external pointer tagged with this symbol, whose
// protected value is the operator's signature: list(cats, dims, tag,
// out_cols), the inputs by position and the result's shape. rk_run checks a
// call against it, so that no argument reaching this internal entry point
// (NULL, a foreign or expired pointer, inputs of the wrong number, category,
// size or type) can make the kernel read or write out of bounds.
SEXP handle_tag() { return Rf_install("rkeops_operator"); }

SEXP operator_signature(const rkeops::Program& p) {
  const std::size_t n = p.args.size();
  IntegerVector cats(n), dims(n);
  for (std::size_t k = 0; k < n; ++k) {
    cats[k] = p.args[k].cat;
    dims[k] = p.args[k].dim;
  }
  return List::create(_["cats"] = cats, _["dims"] = dims, _["tag"] = p.tag,
                      _["out_cols"] = p.out_cols);
}

[[noreturn]] void bad_call(const std::string& what) {
  throw rkeops::CallError("rk_run: " + what);
}

// The loaded operator behind `ptr`, after checking the call against its
// signature (see handle_tag).
const rkeops::LoadedOperator& checked_operator(SEXP ptr, SEXP inputs, SEXP cats, SEXP dims,
                                               double M, double N, int tag, int out_cols,
                                               int nthreads, int device) {
  if (TYPEOF(ptr) != EXTPTRSXP || R_ExternalPtrTag(ptr) != handle_tag())
    bad_call("'ptr' is not an rkeops operator handle");
  auto* h = static_cast<OperatorHandle*>(R_ExternalPtrAddr(ptr));
  if (!h || !*h) throw rkeops::CallError("this operator is no longer loaded; create it again");
  SEXP sig = R_ExternalPtrProtected(ptr);
  if (TYPEOF(sig) != VECSXP || Rf_xlength(sig) != 4) bad_call("the operator handle has no signature");
  SEXP scats = VECTOR_ELT(sig, 0), sdims = VECTOR_ELT(sig, 1);
  const R_xlen_t n = Rf_xlength(scats);
  if (TYPEOF(inputs) != VECSXP || Rf_xlength(inputs) != n)
    bad_call("'inputs' must be a list of " + std::to_string(n) + " numeric vectors");
  if (TYPEOF(cats) != INTSXP || TYPEOF(dims) != INTSXP || Rf_xlength(cats) != n ||
      Rf_xlength(dims) != n)
    bad_call("'cats' and 'dims' must be integer vectors of length " + std::to_string(n));
  for (R_xlen_t a = 0; a < n; ++a) {
    if (INTEGER(cats)[a] != INTEGER(scats)[a] || INTEGER(dims)[a] != INTEGER(sdims)[a])
      bad_call("input " + std::to_string(a + 1) + " is declared with category " +
               std::to_string(INTEGER(cats)[a]) + " and dimension " +
               std::to_string(INTEGER(dims)[a]) + ", but the operator has category " +
               std::to_string(INTEGER(scats)[a]) + " and dimension " +
               std::to_string(INTEGER(sdims)[a]));
    if (TYPEOF(VECTOR_ELT(inputs, a)) != REALSXP)
      bad_call("input " + std::to_string(a + 1) + " must be a double vector or matrix");
  }
  if (tag != Rf_asInteger(VECTOR_ELT(sig, 2)) || out_cols != Rf_asInteger(VECTOR_ELT(sig, 3)))
    bad_call("'tag' and 'out_cols' do not match the operator");
  for (double v : {M, N})
    if (!(v >= 0 && v <= 4.6e18) || v != static_cast<double>(static_cast<std::int64_t>(v)))
      bad_call("'M' and 'N' must be whole numbers between 0 and 2^62");
  if (nthreads < 1) bad_call("'nthreads' must be at least 1");
  if (device < -1) bad_call("'device' must be -1 (CPU) or a GPU number");
  return **h;
}

}  // namespace

// [[Rcpp::export(rng = false)]]
SEXP rk_parse(std::string formula, std::vector<std::string> args) {
  return guarded(formula, [&]() -> SEXP {
    rkeops::Program p = rkeops::compile_formula(formula, args);
    std::size_t n = p.args.size();
    CharacterVector name(n);
    IntegerVector cat(n), pos(n), dim(n);
    for (std::size_t k = 0; k < n; ++k) {
      name[k] = p.args[k].name;
      cat[k] = p.args[k].cat;
      pos[k] = p.args[k].pos;
      dim[k] = p.args[k].dim;
    }
    DataFrame table = DataFrame::create(_["name"] = name, _["cat"] = cat, _["pos"] = pos,
                                        _["dim"] = dim, _["stringsAsFactors"] = false);
    std::size_t ns = p.saved.size();
    CharacterVector sformula(ns);
    IntegerVector spos(ns);
    for (std::size_t k = 0; k < ns; ++k) {
      sformula[k] = p.saved[k].formula;
      spos[k] = p.saved[k].pos;
    }
    DataFrame saved = DataFrame::create(_["formula"] = sformula, _["pos"] = spos,
                                        _["stringsAsFactors"] = false);
    return List::create(_["canonical"] = p.canonical, _["args"] = table,
                        _["reduction"] = std::string(rkeops::reduction_name(p.reduction)),
                        _["tag"] = p.tag, _["out_cols"] = p.out_cols,
                        _["sum_type"] = rkeops::is_sum_type(p.reduction),
                        _["saved"] = saved, _["sum_rows"] = p.sum_rows);
  });
}

// [[Rcpp::export(rng = false)]]
SEXP rk_generate_source(std::string formula, std::vector<std::string> args, std::string dtype,
                        std::string sum_scheme = "block_sum") {
  return guarded(formula, [&]() -> SEXP {
    rkeops::Program p = rkeops::compile_formula(formula, args);
    rkeops::CodegenOptions o;
    o.dtype = parse_dtype(dtype);
    if (rkeops::is_sum_type(p.reduction)) o.sum_scheme = rkeops::parse_sum_scheme(sum_scheme);
    return wrap(rkeops::generate_cpu_source(p, o));
  });
}

// [[Rcpp::export(rng = false)]]
SEXP rk_get_operator(std::string formula, std::vector<std::string> args, std::string dtype,
                     List toolchain, std::string cache_dir, std::string package_version,
                     std::string sum_scheme = "block_sum", std::string backend = "cpu") {
  return guarded(formula, [&]() -> SEXP {
    rkeops::Program p = rkeops::compile_formula(formula, args);
    rkeops::OperatorRequest req;
    req.backend = backend;  // "cpu", or a GPU backend (build/nvcc.h)
    req.program = &p;
    req.dtype = parse_dtype(dtype);
    req.sum_scheme = rkeops::parse_sum_scheme(sum_scheme);
    req.package_version = package_version;
    req.cache_dir = cache_dir;
    req.toolchain = parse_toolchain(toolchain);
    const rkeops::LockWait wait = r_lock_wait();
    req.poll = wait.poll;
    req.notify = wait.notify;
    req.lock_timeout = wait.timeout_seconds;
    std::string note;
    bool compiled_now = false;
    OperatorHandle op = rkeops::get_operator(req, &compiled_now, &note);
    SEXP sig = PROTECT(operator_signature(p));
    SEXP ptr = PROTECT(R_MakeExternalPtr(new OperatorHandle(op), handle_tag(), sig));
    R_RegisterCFinalizerEx(ptr, finalize_handle, TRUE);
    List out = List::create(_["ptr"] = ptr, _["key"] = op->key, _["compiled_now"] = compiled_now,
                            _["compile_seconds"] = op->compile_seconds,
                            _["source_path"] = op->source_path, _["object_path"] = op->object_path,
                            _["log_path"] = op->log_path, _["command"] = op->command,
                            _["note"] = note);
    UNPROTECT(2);
    return out;
  });
}

namespace {

// A text progress bar on R's console (stderr) for long calls: shown once the
// call is expected to take more than `after` seconds (after < 0: never).
// The destructor ends the line, also when an interrupt unwinds the call.
class ConsoleProgress {
 public:
  explicit ConsoleProgress(double after) : after_(after) {}
  ~ConsoleProgress() {
    if (shown_) REprintf("\n");
  }
  ConsoleProgress(const ConsoleProgress&) = delete;
  ConsoleProgress& operator=(const ConsoleProgress&) = delete;
  void update(std::int64_t done, std::int64_t total, double seconds) {
    if (after_ < 0 || total <= 0 || done <= 0) return;
    const double expected = seconds * static_cast<double>(total) / static_cast<double>(done);
    if (!shown_ && (done >= total || expected < after_)) return;
    shown_ = true;
    const int width = 30;
    const double frac = static_cast<double>(done) / static_cast<double>(total);
    const int bar = static_cast<int>(frac * width);
    std::string line = "\rrkeops: [" + std::string(bar, '=') + std::string(width - bar, ' ') + "] ";
    char tail[64];
    std::snprintf(tail, sizeof tail, "%3d%%  %.0f s left   ", static_cast<int>(frac * 100),
                  expected - seconds > 0 ? expected - seconds : 0.0);
    REprintf("%s%s", line.c_str(), tail);
  }

 private:
  double after_;
  bool shown_ = false;
};

SEXP alloc_output_body(void* data) {
  const int* d = static_cast<const int*>(data);
  return Rf_allocMatrix(REALSXP, d[0], d[1]);
}
SEXP alloc_output_failed(SEXP, void*) { return R_NilValue; }

List memory_error(const std::string& message) {
  return List::create(_["error"] = "rkeops_memory_error", _["message"] = message);
}

std::string gigabytes(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g GB", bytes / 1e9);
  return buf;
}

}  // namespace

// Runs an operator. `inputs` are double matrices (or vectors for Pm) in
// position order, already checked by R (R/inputs.R) against `cats`/`dims`;
// the checks here only guard memory safety.
// `progress_after`: show a progress bar when the call is expected to take
// more than this many seconds (negative: never).
// [[Rcpp::export(rng = false)]]
SEXP rk_run(SEXP ptr, List inputs, IntegerVector cats, IntegerVector dims, double M, double N,
            int tag, int out_cols, bool points_as_columns, int nthreads, int device = -1,
            double progress_after = -1) {
  return guarded("", [&]() -> SEXP {
    const rkeops::LoadedOperator& op = checked_operator(ptr, inputs, cats, dims, M, N, tag,
                                                        out_cols, nthreads, device);
    // The result first, before any buffer: R matrices have at most 2^31 - 1
    // rows, and a failed allocation must become an R error, not a crash.
    const double rows_d = tag == 0 ? M : N;
    if (rows_d > 2147483647.0 || out_cols < 0)
      return List::create(_["error"] = "rkeops_input_error",
                          _["message"] = "the result would have " +
                                         std::to_string(static_cast<long long>(rows_d)) +
                                         " rows, more than an R matrix can hold (2^31 - 1)");
    int out_dims[2] = {static_cast<int>(rows_d), out_cols};
    const double out_bytes = 8.0 * rows_d * out_cols;
    SEXP out_sexp = out_bytes > 1e8
                        ? R_tryCatchError(alloc_output_body, out_dims, alloc_output_failed, nullptr)
                        : alloc_output_body(out_dims);
    if (out_sexp == R_NilValue)
      return memory_error("not enough memory for the result, a " + std::to_string(out_dims[0]) +
                          " x " + std::to_string(out_cols) + " matrix of " + gigabytes(out_bytes));
    NumericMatrix out(out_sexp);
    std::fill(out.begin(), out.end(), 0.0);  // as NumericMatrix(rows, cols) did
    const bool f32 = op.dtype == rkeops::DType::Float32;
    const R_xlen_t nargs = inputs.size();
    rkeops::CallSpec spec;
    spec.M = static_cast<std::int64_t>(M);
    spec.N = static_cast<std::int64_t>(N);
    spec.tag = tag;
    spec.nthreads = nthreads;
    spec.device = device;
    // Buffers that must outlive the call: float32 copies, transposes.
    std::vector<std::vector<float>> fbuf(nargs);
    std::vector<std::vector<double>> dbuf(nargs);
    for (R_xlen_t a = 0; a < nargs; ++a) {
      NumericVector x = inputs[a];
      const int cat = cats[a], dim = dims[a];
      const std::int64_t n = cat == 2 ? 1 : (cat == 0 ? spec.M : spec.N);
      if (static_cast<std::int64_t>(XLENGTH(x)) != n * dim)
        throw rkeops::CallError("input " + std::to_string(a + 1) + " has " +
                                std::to_string(XLENGTH(x)) + " values, expected " +
                                std::to_string(n * dim));
      const double* src = REAL(x);
      const bool transpose = points_as_columns && cat != 2 && dim > 1;
      rkeops_arg arg{};
      arg.nrow = n;
      arg.ld = n;
      arg.cat = cat;
      arg.dim = dim;
      const std::size_t len = static_cast<std::size_t>(n) * dim;
      if (f32) {
        fbuf[a].resize(len);
        copy_points(src, fbuf[a].data(), n, dim, transpose);
        arg.data = fbuf[a].data();
      } else if (transpose) {
        dbuf[a].resize(len);
        copy_points(src, dbuf[a].data(), n, dim, transpose);
        arg.data = dbuf[a].data();
      } else {
        arg.data = src;  // R's own memory: no copy
      }
      spec.args.push_back(arg);
    }
    spec.out = REAL(out);
    ConsoleProgress bar(progress_after);
    rkeops::run_operator(op, spec, []() { Rcpp::checkUserInterrupt(); },
                         [&bar](std::int64_t done, std::int64_t total, double seconds) {
                           bar.update(done, total, seconds);
                         });
    return out;
  });
}

// The thread count a call asking for `n` runs with (runtime/run_operator.h).
// [[Rcpp::export(rng = false)]]
int rk_usable_threads(int n) { return rkeops::usable_threads(n); }

// [[Rcpp::export(rng = false)]]
bool rk_in_forked_child() { return rkeops::in_forked_child(); }

// [[Rcpp::export(rng = false)]]
SEXP rk_compiler_identity(std::string cxx) {
  return guarded("", [&]() -> SEXP { return wrap(rkeops::compiler_identity(cxx)); });
}

// [[Rcpp::export(rng = false)]]
std::string rk_cpu_identity() { return rkeops::host_cpu_identity(); }

// [[Rcpp::export(rng = false)]]
void rk_forget_operators() { rkeops::forget_loaded_operators(); }

// Empties a cache directory under its lock (build/operator_cache.h).
// [[Rcpp::export(rng = false)]]
SEXP rk_clean_cache(std::string cache_dir) {
  return guarded("", [&]() -> SEXP {
    rkeops::LockWait wait = r_lock_wait();
    wait.what = "that is compiling an operator in this cache";
    wait.holder_known = false;  // shared holders write no pid
    rkeops::CleanResult r = rkeops::clean_cache(cache_dir, wait);
    return List::create(_["removed"] = r.removed, _["failed"] = r.failed, _["problem"] = r.problem);
  });
}
