// Throughput of rkeops vector math (inst/include/rkeops/vmath.h) against a
// scalar loop over the libm builtins, on arrays that stay in L1 cache.
//
// Built and run by `tests/vmath/run.sh --bench` (g++ -O3 -march=native).
// Prints values per nanosecond (best of several trials, one thread).
#include <rkeops/vmath.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

namespace {

const int kN = 4096;      // values per pass (in + out: 32 KB in float)
const int kTrials = 7;    // best of
const double kMinNs = 2e7;  // each trial runs at least 20 ms

inline void clobber(void* p) { asm volatile("" : : "r"(p) : "memory"); }

// Runs body() (one pass over kN values) until kMinNs elapsed, kTrials
// times; returns the best values/ns.
template <class F>
double measure(F body) {
  using clk = std::chrono::steady_clock;
  long reps = 1;
  for (;;) {  // calibrate
    auto t0 = clk::now();
    for (long r = 0; r < reps; r++) body();
    double ns = std::chrono::duration<double, std::nano>(clk::now() - t0).count();
    if (ns > kMinNs / 4) { reps = (long)(reps * kMinNs / ns) + 1; break; }
    reps *= 4;
  }
  double best = 0;
  for (int t = 0; t < kTrials; t++) {
    auto t0 = clk::now();
    for (long r = 0; r < reps; r++) body();
    double ns = std::chrono::duration<double, std::nano>(clk::now() - t0).count();
    double v = (double)kN * reps / ns;
    if (v > best) best = v;
  }
  return best;
}

template <class T, class VF, class SF>
void row(const char* name, T lo, T hi, VF vf, SF sf) {
  typedef rk::simd<T> S;
  std::vector<T> in(kN), out(kN);
  std::mt19937 g(42);
  std::uniform_real_distribution<double> u(lo, hi);
  for (auto& x : in) x = (T)u(g);
  T* pi = in.data();
  T* po = out.data();
  double v_vec = measure([&] {
    for (int i = 0; i < kN; i += S::lanes) S::store(po + i, vf(S::load(pi + i)));
    clobber(po);
  });
  double v_sca = measure([&] {
    for (int i = 0; i < kN; i++) po[i] = sf(pi[i]);
    clobber(po);
  });
  const char* prec = sizeof(T) == 4 ? "float" : "double";
  std::printf("%-5s %-6s [%5g,%4g]  %12.3f  %12.3f  %8.1fx\n", name, prec, (double)lo,
              (double)hi, v_vec, v_sca, v_vec / v_sca);
}

}  // namespace

int main() {
  std::printf("vmath_bench: RK_VBYTES=%d (%d float lanes), one thread, values/ns (higher is better)\n",
              RK_VBYTES, rk::simd<float>::lanes);
  std::printf("%-5s %-6s %-13s %12s  %12s  %9s\n", "fn", "prec", "range", "rk::vector",
              "scalar libm", "speedup");
  row<float>("exp", -20.0f, 10.0f, [](rk::vfloat x) { return rk::exp(x); },
             [](float x) { return __builtin_expf(x); });
  row<double>("exp", -20.0, 10.0, [](rk::vdouble x) { return rk::exp(x); },
              [](double x) { return __builtin_exp(x); });
  row<float>("log", 1e-3f, 1e3f, [](rk::vfloat x) { return rk::log(x); },
             [](float x) { return __builtin_logf(x); });
  row<double>("log", 1e-3, 1e3, [](rk::vdouble x) { return rk::log(x); },
              [](double x) { return __builtin_log(x); });
  row<float>("sin", -10.0f, 10.0f, [](rk::vfloat x) { return rk::sin(x); },
             [](float x) { return __builtin_sinf(x); });
  row<double>("sin", -10.0, 10.0, [](rk::vdouble x) { return rk::sin(x); },
              [](double x) { return __builtin_sin(x); });
  row<float>("cos", -10.0f, 10.0f, [](rk::vfloat x) { return rk::cos(x); },
             [](float x) { return __builtin_cosf(x); });
  row<double>("cos", -10.0, 10.0, [](rk::vdouble x) { return rk::cos(x); },
              [](double x) { return __builtin_cos(x); });
  row<float>("sqrt", 0.0f, 1e3f, [](rk::vfloat x) { return rk::sqrt(x); },
             [](float x) { return __builtin_sqrtf(x); });
  row<float>("rsqrt", 0.0f, 1e3f, [](rk::vfloat x) { return rk::rsqrt(x); },
             [](float x) { return x == 0.0f ? 0.0f : 1.0f / __builtin_sqrtf(x); });
  return 0;
}
