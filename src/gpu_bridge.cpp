// Bridge functions of the GPU backend (R/gpu.R): device detection and the
// generated GPU source. Operators themselves go through rk_get_operator
// (backend argument) and rk_run (device argument) in bridge.cpp.
#include <Rcpp.h>

#include <string>
#include <vector>

#include "build/nvcc.h"
#include "codegen/gpu_codegen.h"
#include "formula/errors.h"
#include "formula/program.h"
#include "runtime/gpu_devices.h"

using namespace Rcpp;

// [[Rcpp::export(rng = false)]]
SEXP rk_gpu_devices() {
  rkeops::GpuDevices d = rkeops::list_gpu_devices();
  return List::create(_["names"] = wrap(d.names), _["problem"] = d.problem);
}

// [[Rcpp::export(rng = false)]]
SEXP rk_gpu_generate_source(std::string formula, std::vector<std::string> args, std::string dtype,
                            std::string sum_scheme, std::string backend) {
  try {
    rkeops::Program p = rkeops::compile_formula(formula, args);
    rkeops::CodegenOptions o;
    o.dtype = dtype == "float64" ? rkeops::DType::Float64 : rkeops::DType::Float32;
    if (rkeops::is_sum_type(p.reduction)) o.sum_scheme = rkeops::parse_sum_scheme(sum_scheme);
    rkeops::GpuBackend b = rkeops::parse_backend(backend);
    rkeops::GpuCodegenOptions g;
    g.block = b.block;
    g.emulation = b.emulation;
    return wrap(rkeops::generate_gpu_source(p, o, g));
  } catch (const rkeops::FormulaError& e) {  // with its place, as rk_parse says it
    return List::create(_["error"] = e.kind(),
                        _["message"] = rkeops::render_formula_error(formula, e));
  } catch (const rkeops::Error& e) {
    return List::create(_["error"] = e.kind(), _["message"] = std::string(e.what()));
  }
}

// [[Rcpp::export(rng = false)]]
std::string rk_nvcc_arch_flags(std::string arch) { return rkeops::nvcc_arch_flags(arch); }
