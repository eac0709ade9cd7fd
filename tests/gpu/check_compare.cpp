#include "check_compare.h"

#include <cmath>
#include <cstdio>
#include <vector>

namespace gpucheck {

double tie_tolerance(rkeops::DType dtype) { return dtype == rkeops::DType::Float32 ? 2e-6 : 1e-12; }

Comparison compare_outputs(const Case& c, const CaseData& d, int tag, std::int64_t rows, int cols,
                           const double* gpu, const double* cpu) {
  Comparison r;
  std::vector<int> comp_of(cols, -1);  // component of an index column, -1 for a value column
  for (const auto& ic : c.index_cols)
    if (ic.first < cols) comp_of[ic.first] = ic.second;
  char buf[256];
  auto note = [&](const char* what) {
    if (r.problem.empty()) r.problem = what;
  };

  // Values: the scale is the largest |cpu| value, as rel_err() of the R tests.
  double scale = 0, diff = 0;
  for (int k = 0; k < cols; ++k) {
    if (comp_of[k] >= 0) continue;
    for (std::int64_t i = 0; i < rows; ++i) {
      const double g = gpu[k * rows + i], e = cpu[k * rows + i];
      if (!std::isfinite(e) || !std::isfinite(g)) {
        if (!(g == e)) {  // the same infinity on both sides is agreement; NaN never is
          std::snprintf(buf, sizeof buf, "row %lld col %d: gpu %g, cpu %g", static_cast<long long>(i), k, g, e);
          note(buf);
          diff = INFINITY;
        }
        continue;
      }
      scale = std::fmax(scale, std::fabs(e));
      diff = std::fmax(diff, std::fabs(g - e));
    }
  }
  r.max_rel_err = diff / (scale > 0 ? scale : 1);

  // Indices: exact, or a tie.
  const std::int64_t nred = tag == 0 ? d.N : d.M;
  const double tt = tie_tolerance(c.dtype);
  for (int k = 0; k < cols; ++k) {
    if (comp_of[k] < 0) continue;
    for (std::int64_t row = 0; row < rows; ++row) {
      const double g = gpu[k * rows + row], e = cpu[k * rows + row];
      if (g == e) continue;
      const bool valid = g >= 0 && g < static_cast<double>(nred) && g == std::floor(g) && e >= 0 &&
                         e < static_cast<double>(nred) && e == std::floor(e);
      bool tie = false;
      if (valid && c.pair_value) {
        const auto q_g = static_cast<std::int64_t>(g), q_e = static_cast<std::int64_t>(e);
        const double vg = tag == 0 ? c.pair_value(d, row, q_g, comp_of[k]) : c.pair_value(d, q_g, row, comp_of[k]);
        const double ve = tag == 0 ? c.pair_value(d, row, q_e, comp_of[k]) : c.pair_value(d, q_e, row, comp_of[k]);
        const double mag = std::fmax(std::fabs(vg), std::fabs(ve));
        tie = std::fabs(vg - ve) <= tt * (mag > 0 ? mag : 1);
      }
      if (tie) {
        ++r.ties;
      } else {
        ++r.index_errors;
        std::snprintf(buf, sizeof buf, "row %lld col %d: index %.17g on the GPU, %.17g on the CPU",
                      static_cast<long long>(row), k, g, e);
        note(buf);
      }
    }
  }
  return r;
}

}  // namespace gpucheck

namespace gpucheck {

std::string self_test_compare() {
  // One output row, reduced side of 3 points: F(i, j) = value[j], where
  // points 0 and 2 tie within a few ulps and point 1 does not.
  Case c;
  c.dtype = rkeops::DType::Float32;
  c.index_cols = {{1, 0}};  // column 0 a value, column 1 an index
  const double v[3] = {1.0, 1.5, 1.0 + 3e-7};
  c.pair_value = [v](const CaseData&, std::int64_t, std::int64_t j, int) { return v[j]; };
  CaseData d;
  d.M = 1;
  d.N = 3;
  auto run = [&](double gval, double gidx) {
    const double cpu[2] = {1.0, 0.0}, gpu[2] = {gval, gidx};
    return compare_outputs(c, d, 0, 1, 2, gpu, cpu);
  };
  const double tol = tolerance(c.dtype);
  if (!run(1.0, 0.0).passed(tol)) return "equal outputs rejected";
  Comparison t = run(1.0 + 3e-7, 2.0);
  if (!t.passed(tol) || t.ties != 1) return "an index at a tie rejected";
  if (run(1.0, 1.0).passed(tol)) return "an index that is no tie accepted";
  if (run(1.0, 0.5).passed(tol) || run(1.0, 3.0).passed(tol)) return "an invalid index accepted";
  if (run(1.0 + 10 * tol, 0.0).passed(tol)) return "a value error above the tolerance accepted";
  if (run(NAN, 0.0).passed(tol)) return "NaN accepted";
  return "";
}

}  // namespace gpucheck
