// Checks of inst/include/rkeops/reductions.h below the R level:
//   * a range scanned in one piece and the same range split in two pieces
//     whose states are combined with Red::merge give the same result (the
//     merge the runtime will use when it splits the reduced side across
//     threads or chunks);
//   * the SIMD-lane path and the scalar path give the same result.
// Terms are integers with many ties and a few NaN, so that the min/max
// families must agree exactly (ties: smallest index). Run by run.sh.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "rkeops/reductions.h"

namespace {

int failures = 0;

// Folds terms [a, b) of `f` (DIM values per term, term-major) into `st`, in
// tiles of `tile` terms as cpu_kernel.h does: SIMD lanes first (if `simd_path`),
// scalar tail after, indices relative to the tile start.
template <class Red, class real, int DIM>
void scan(typename Red::state_t* st, const std::vector<real>& f, long a, long b, long tile,
          bool simd_path) {
  using S = rk::simd<real>;
  using V = typename S::vec;
  constexpr int W = S::lanes;
  for (long j0 = a; j0 < b; j0 += tile) {
    const long j1 = j0 + tile < b ? j0 + tile : b;
    long jv = j0;
    if (simd_path) {
      jv = j0 + ((j1 - j0) / W) * W;
      if (jv > j0) {
        V acc[Red::ACC];
        Red::init(acc, st);
        for (long j = j0; j < jv; j += W) {
          real buf[DIM][W], ib[W];
          for (int l = 0; l < W; ++l) {
            for (int k = 0; k < DIM; ++k) buf[k][l] = f[(j + l) * DIM + k];
            ib[l] = static_cast<real>(j + l - j0);
          }
          V fv[DIM];
          for (int k = 0; k < DIM; ++k) fv[k] = S::load(buf[k]);
          const V jidx = S::load(ib);
          Red::accumulate(acc, fv, jidx);
        }
        Red::flush(st, acc, j0);
      }
    }
    if (jv < j1) {
      real acc[Red::ACC];
      Red::init(acc, st);
      for (long j = jv; j < j1; ++j) Red::accumulate(acc, &f[j * DIM], static_cast<real>(j - j0));
      Red::flush_scalar(st, acc, j0);
    }
  }
}

template <class Red, int NOUT>
std::vector<double> finalize(const typename Red::state_t* st) {
  std::vector<double> out(NOUT);
  Red::finalize(st, out.data(), 1);
  return out;
}

bool same(double a, double b, double tol) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (a == b) return true;
  return std::fabs(a - b) <= tol * (std::fabs(b) > 1 ? std::fabs(b) : 1.0);
}

template <class Red, class real, int DIM, int NOUT>
void check(const char* name, double tol, bool nan_terms, bool lse_data = false) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> small(0, 6);
  std::uniform_real_distribution<double> unif(-3, 3);
  for (long n : {0L, 1L, 5L, 37L, 300L, 1001L}) {
    std::vector<real> f(static_cast<std::size_t>(n) * DIM);
    for (std::size_t t = 0; t < f.size(); ++t) {
      f[t] = static_cast<real>(lse_data ? unif(rng) : small(rng));
      if (nan_terms && t % 17 == 5) f[t] = static_cast<real>(NAN);
    }
    using st_t = typename Red::state_t;
    std::vector<st_t> whole(Red::STATE), scal(Red::STATE);
    Red::init_state(whole.data());
    Red::init_state(scal.data());
    scan<Red, real, DIM>(whole.data(), f, 0, n, 64, true);
    scan<Red, real, DIM>(scal.data(), f, 0, n, 64, false);
    const auto ref = finalize<Red, NOUT>(whole.data());
    const auto rs = finalize<Red, NOUT>(scal.data());
    for (long h : {0L, n / 3, n / 2, n}) {
      std::vector<st_t> s1(Red::STATE), s2(Red::STATE);
      Red::init_state(s1.data());
      Red::init_state(s2.data());
      scan<Red, real, DIM>(s1.data(), f, 0, h, 64, true);
      scan<Red, real, DIM>(s2.data(), f, h, n, 64, true);
      Red::merge(s1.data(), s2.data());
      const auto rm = finalize<Red, NOUT>(s1.data());
      for (int c = 0; c < NOUT; ++c) {
        if (!same(rm[c], ref[c], tol) || !same(rs[c], ref[c], tol)) {
          std::printf("FAIL %s n=%ld split=%ld column %d: whole %.17g, split+merge %.17g, scalar %.17g\n",
                      name, n, h, c, ref[c], rm[c], rs[c]);
          ++failures;
          return;
        }
      }
    }
  }
  std::printf("ok   %s\n", name);
}

template <class real>
void all(const char* tname, double tol) {
  char buf[128];
  auto nm = [&](const char* s) {
    std::snprintf(buf, sizeof buf, "%s %s", s, tname);
    return buf;
  };
  check<rk::MinMaxReduction<real, 2, false, 2>, real, 2, 4>(nm("Min_ArgMin"), 0, true);
  check<rk::MinMaxReduction<real, 2, true, 2>, real, 2, 4>(nm("Max_ArgMax"), 0, true);
  check<rk::MinMaxReduction<real, 1, false, 0>, real, 1, 1>(nm("Min"), 0, true);
  check<rk::KMinReduction<real, 2, 3, 2>, real, 2, 12>(nm("KMin_ArgKMin K=3"), 0, true);
  check<rk::KMinReduction<real, 1, 5, 1>, real, 1, 5>(nm("ArgKMin K=5"), 0, true);
  check<rk::KMinReduction<real, 1, 4, 0>, real, 1, 4>(nm("KMin K=4"), 0, true);
  check<rk::SumReduction<real, 2, rk::kBlockSum>, real, 2, 2>(nm("Sum block"), tol, false);
  check<rk::SumReduction<real, 2, rk::kDirectSum>, real, 2, 2>(nm("Sum direct"), tol, false);
  check<rk::SumReduction<real, 2, rk::kKahanSum>, real, 2, 2>(nm("Sum kahan"), tol, false);
  check<rk::LseReduction<real, 0, 0, rk::kBlockSum>, real, 1, 2>(nm("Max_SumShiftExp block"), tol, false, true);
  check<rk::LseReduction<real, 0, 2, rk::kDirectSum>, real, 1, 1>(nm("LogSumExp direct"), tol, false, true);
  check<rk::LseReduction<real, 0, 2, rk::kKahanSum>, real, 1, 1>(nm("LogSumExp kahan"), tol, false, true);
  check<rk::LseReduction<real, 2, 1, rk::kBlockSum>, real, 3, 3>(nm("Max_SumShiftExpWeight block"), tol, false, true);
  check<rk::LseReduction<real, 2, 3, rk::kKahanSum>, real, 3, 2>(nm("LogSumExpWeight kahan"), tol, false, true);
  check<rk::LseReduction<real, 2, 4, rk::kBlockSum>, real, 3, 2>(nm("SumSoftMaxWeight block"), tol, false, true);
  check<rk::LseReduction<real, 2, 4, rk::kDirectSum>, real, 3, 2>(nm("SumSoftMaxWeight direct"), tol, false, true);
  check<rk::LseReduction<real, 2, 4, rk::kKahanSum>, real, 3, 2>(nm("SumSoftMaxWeight kahan"), tol, false, true);
}

}  // namespace

int main() {
  all<double>("float64", 1e-12);
  all<float>("float32", 1e-5);
  if (failures) std::printf("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
