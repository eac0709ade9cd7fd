// Accuracy and special-value test of inst/include/rkeops/vmath.h.
//
//   g++ -O3 -march=native -std=gnu++17 -I inst/include
//       tests/vmath/vmath_accuracy.cpp -o vmath_accuracy && ./vmath_accuracy
// (tests/vmath/run.sh does this for each SIMD path)
//
// For each function and precision:
//  (a) max error in ulps of the vector implementation, lane by lane, against
//      a more precise reference (float: the double libm function, double:
//      the long double one), *not* rounded, so a correctly rounded result
//      scores <= 0.5. Float: every stride-th bit pattern of the tested range
//      (all patterns with --stride 1). Double: random values (uniform, and
//      random bit patterns, i.e. log-uniform) plus structured values
//      (boundaries, neighbours of powers of two, of 1, of multiples of pi/2).
//  (b) special values, exactly (NaN, +-Inf, +-0 with its sign, denormals,
//      overflow/underflow thresholds), or within 1 ulp where stated;
//  (c) the same special values through the scalar overloads.
// Prints `name precision max_ulp=... special_values=ok|FAIL(...)` per line
// and exits 1 if a max error exceeds its threshold or a special value fails.
//
// Options: --stride N (float sweep stride for exp and log, default 7; sin
// and cos use 4N+1, sqrt, rsqrt and inv 8N+1), --ndouble N (double random
// points for exp and log, default 10^7; N/4 for the others), --only NAME,
// --exhaustive (stride 1 for every float sweep: minutes).
// Defaults take ~10 s on 2 cores (OpenMP is used if compiled with -fopenmp).
#include <rkeops/vmath.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <limits>
#include <random>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

template <class T> struct Prec;
template <> struct Prec<float> {
  typedef double Ref;  // reference type
  static const char* name() { return "float"; }
  static constexpr int mant = 24;
  static constexpr int emin = -126;
};
template <> struct Prec<double> {
  typedef long double Ref;
  static const char* name() { return "double"; }
  static constexpr int mant = 53;
  static constexpr int emin = -1022;
};

// Error of `got` in ulps of the format T at the (more precise) value `ref`.
// Infinities count as the next power of two after the largest finite value
// so that a result rounded up to Inf near the overflow threshold gets a
// finite error. NaN against NaN is 0; NaN against a number (or vice versa)
// is +Inf.
template <class T>
long double ulp_error(T got, typename Prec<T>::Ref ref) {
  typedef long double L;
  const int emax = std::numeric_limits<T>::max_exponent;  // 128 or 1024
  bool gn = std::isnan(got), rn = std::isnan((L)ref);
  if (gn || rn) return gn && rn ? 0 : INFINITY;
  if (std::isinf((T)ref) && got == (T)ref) return 0;  // overflow, as it should
  L g = got, r = ref;
  L big = std::ldexp((L)1, emax);
  if (std::isinf(g)) g = std::copysign(big, g);
  if (std::isinf(r)) r = std::copysign(big, r);
  if (g == r) return 0;
  L ar = std::fabs(r);
  int e;
  std::frexp(ar, &e);  // ar = m 2^e, m in [0.5, 1)
  if (e - 1 < Prec<T>::emin) e = Prec<T>::emin + 1;
  L ulp = std::ldexp((L)1, e - Prec<T>::mant);
  return std::fabs(g - r) / ulp;
}

// Fast version for float results against a double reference (the float
// sweeps evaluate it ~10^9 times): same conventions, double arithmetic.
template <>
long double ulp_error<float>(float got, double ref) {
  double g = got;
  if (g == ref) return 0;
  if (g != g || ref != ref) return g != g && ref != ref ? 0 : INFINITY;
  float rr = (float)ref;
  if (got == rr && (rr - rr != 0)) return 0;  // both overflowed to the same Inf
  const double big = 0x1p128;
  if (g - g != 0) g = g > 0 ? big : -big;
  if (ref - ref != 0) ref = ref > 0 ? big : -big;
  uint64_t rb;
  std::memcpy(&rb, &ref, 8);
  int e = (int)((rb >> 52) & 0x7ff) - 1023;  // ref = m 2^e, m in [1, 2)
  if (e < Prec<float>::emin) e = Prec<float>::emin;
  uint64_t ib = (uint64_t)(1023 - (e - (Prec<float>::mant - 1))) << 52;  // 1 / ulp = 2^(23 - e)
  double inv_ulp;
  std::memcpy(&inv_ulp, &ib, 8);
  return std::fabs(g - ref) * inv_ulp;
}

template <class T>
bool same_value(T a, T b) {  // exact, NaN == NaN, -0 != +0
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return a == b && std::signbit(a) == std::signbit(b);
}

// Evaluate a vector function over an array (the tail padded with the last
// valid input, so every lane of every vector holds a tested value).
template <class T, class VF>
void apply_vec(VF f, const T* in, T* out, size_t n) {
  typedef rk::simd<T> S;
  size_t i = 0;
  for (; i + S::lanes <= n; i += S::lanes) S::store(out + i, f(S::load(in + i)));
  if (i < n) {
    T a[S::lanes], b[S::lanes];
    for (int k = 0; k < S::lanes; k++) a[k] = in[i + k < n ? i + k : n - 1];
    S::store(b, f(S::load(a)));
    for (size_t k = 0; i + k < n; k++) out[i + k] = b[k];
  }
}

struct Worst {
  long double ulp = 0;
  long double arg = 0;
  long long n = 0;
  void add(long double u, long double x) {
    n++;
    if (u > ulp || (std::isnan(ulp) == false && std::isnan(u))) { ulp = u; arg = x; }
  }
  void merge(const Worst& o) {
    n += o.n;
    if (o.ulp > ulp) { ulp = o.ulp; arg = o.arg; }
  }
};

template <class T, class VF, class RF>
void check_points(VF vf, RF rf, const std::vector<T>& xs, Worst* w) {
  std::vector<T> out(xs.size());
  apply_vec<T>(vf, xs.data(), out.data(), xs.size());
  for (size_t i = 0; i < xs.size(); i++) w->add(ulp_error<T>(out[i], rf(xs[i])), xs[i]);
}

// Float sweep: bit patterns lo..hi (inclusive, as unsigned), every stride-th.
template <class VF, class RF>
Worst sweep_float(VF vf, RF rf, uint32_t lo, uint32_t hi, uint32_t stride) {
  Worst total;
  const uint64_t count = ((uint64_t)hi - lo) / stride + 1;
  const uint64_t block = 1 << 16;
  const long long nblocks = (long long)((count + block - 1) / block);
#pragma omp parallel
  {
    Worst w;
    std::vector<float> xs;
    xs.reserve(block);
#pragma omp for schedule(dynamic, 4)
    for (long long b = 0; b < nblocks; b++) {
      xs.clear();
      uint64_t j0 = b * block, j1 = j0 + block < count ? j0 + block : count;
      for (uint64_t j = j0; j < j1; j++) {
        uint32_t bits = (uint32_t)(lo + j * stride);
        float x;
        std::memcpy(&x, &bits, 4);
        xs.push_back(x);
      }
      check_points<float>(vf, rf, xs, &w);
    }
#pragma omp critical
    total.merge(w);
  }
  return total;
}

template <class VF, class RF>
Worst sweep_double(VF vf, RF rf, const std::vector<double>& pts) {
  Worst total;
  const size_t block = 1 << 14;
  const long long nblocks = (long long)((pts.size() + block - 1) / block);
#pragma omp parallel
  {
    Worst w;
    std::vector<double> xs;
#pragma omp for schedule(dynamic, 4)
    for (long long b = 0; b < nblocks; b++) {
      size_t j0 = b * block, j1 = j0 + block < pts.size() ? j0 + block : pts.size();
      xs.assign(pts.begin() + j0, pts.begin() + j1);
      check_points<double>(vf, rf, xs, &w);
    }
#pragma omp critical
    total.merge(w);
  }
  return total;
}

uint32_t fbits(float x) { uint32_t b; std::memcpy(&b, &x, 4); return b; }
float bitsf(uint32_t b) { float x; std::memcpy(&x, &b, 4); return x; }
double bitsd(uint64_t b) { double x; std::memcpy(&x, &b, 8); return x; }
uint64_t dbits(double x) { uint64_t b; std::memcpy(&b, &x, 8); return b; }

// Random + structured double points in [lo, hi] (both signs if lo < 0).
std::vector<double> double_points(double lo, double hi, size_t n, uint64_t seed,
                                  const std::vector<double>& extra) {
  std::vector<double> v;
  v.reserve(n + extra.size() * 41 + 4000);
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<double> uni(lo / 2, hi / 2);  // * 2: no overflow of hi - lo
  const double amax = std::fmax(std::fabs(lo), std::fabs(hi));
  const uint64_t bmax = dbits(amax);
  for (size_t i = 0; i < n / 2; i++) v.push_back(2 * uni(g));
  for (size_t i = n / 2; i < n; i++) {  // random bit patterns: log-uniform
    double x = bitsd(g() % (bmax + 1));
    if (lo < 0 && (g() & 1)) x = -x;
    if (x >= lo && x <= hi) v.push_back(x);
  }
  for (int e = -1074; e <= 1023; e++) {  // powers of two and neighbours
    double p = std::ldexp(1.0, e);
    for (double x : {p, std::nextafter(p, 0.0), std::nextafter(p, INFINITY)})
      for (double s : {1.0, -1.0})
        if (s * x >= lo && s * x <= hi) v.push_back(s * x);
  }
  for (double c : extra) {  // each structured value and 20 neighbours per side
    double a = c, b = c;
    for (int k = 0; k <= 20; k++) {
      if (a >= lo && a <= hi) v.push_back(a);
      if (k && b >= lo && b <= hi) v.push_back(b);
      a = std::nextafter(a, -INFINITY);
      b = std::nextafter(b, INFINITY);
    }
  }
  return v;
}

// Special values: input, expected, exact (or within 1 ulp of the reference).
template <class T>
struct Special {
  T x;
  T expect;
  bool exact;
};

std::string fmt_val(long double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9Lg", x);
  return buf;
}

template <class T, class VF, class SF, class RF>
std::string check_specials(VF vf, SF sf, RF rf, const std::vector<Special<T>>& sv) {
  std::string fails;
  std::vector<T> in, out(sv.size());
  for (auto& s : sv) in.push_back(s.x);
  // Vector path: values in a shuffled order too, so each sits in other lanes.
  for (int pass = 0; pass < 2; pass++) {
    std::vector<size_t> idx(sv.size());
    for (size_t i = 0; i < idx.size(); i++) idx[i] = pass ? (i * 7 + 3) % idx.size() : i;
    if (pass && sv.size() % 7 == 0) for (size_t i = 0; i < idx.size(); i++) idx[i] = idx.size() - 1 - i;
    std::vector<T> pin(sv.size()), pout(sv.size());
    for (size_t i = 0; i < idx.size(); i++) pin[i] = in[idx[i]];
    apply_vec<T>(vf, pin.data(), pout.data(), pin.size());
    for (size_t i = 0; i < idx.size(); i++) out[idx[i]] = pout[i];
    for (size_t i = 0; i < sv.size(); i++) {
      const Special<T>& s = sv[i];
      bool ok = s.exact ? same_value(out[i], s.expect) : ulp_error<T>(out[i], rf(s.x)) <= 1;
      if (!ok && fails.find("vec(" + fmt_val(s.x) + ")") == std::string::npos)
        fails += " vec(" + fmt_val(s.x) + ")=" + fmt_val(out[i]);
    }
  }
  for (auto& s : sv) {  // scalar overloads
    T y = sf(s.x);
    bool ok = s.exact ? same_value(y, s.expect) : ulp_error<T>(y, rf(s.x)) <= 1;
    if (!ok) fails += " scalar(" + fmt_val(s.x) + ")=" + fmt_val(y);
  }
  return fails;
}

struct Options {
  uint32_t stride = 7;
  size_t ndouble = 10000000;
  std::string only;
  bool exhaustive = false;  // every float bit pattern for every function
};

int failures = 0;

void report(const char* name, const char* prec, const Worst& w, double thr,
            const std::string& fails) {
  bool ulp_ok = w.ulp <= thr;
  if (!ulp_ok || !fails.empty()) failures++;
  std::printf("%-6s %-6s max_ulp=%-8.4Lg (threshold %g, at x=%.17Lg, %lld points) %s special_values=%s%s%s\n",
              name, prec, w.ulp, thr, w.arg, w.n, ulp_ok ? "ok" : "ULP-FAIL",
              fails.empty() ? "ok" : "FAIL(", fails.empty() ? "" : fails.c_str() + 1,
              fails.empty() ? "" : ")");
  std::fflush(stdout);
}

// simd.h helpers: unaligned load/store, broadcast, hsum, select, fma, any.
template <class T>
std::string check_simd_helpers() {
  typedef rk::simd<T> S;
  typedef typename S::vec V;
  std::string fails;
  T buf[3 * S::lanes], out[3 * S::lanes] = {};
  for (int k = 0; k < 3 * S::lanes; k++) buf[k] = (T)(k + 1);
  V v = S::load(buf + 1);  // unaligned
  for (int k = 0; k < S::lanes; k++)
    if (v[k] != (T)(k + 2)) fails += " load";
  S::store(out + 1, v);
  for (int k = 0; k < S::lanes; k++)
    if (out[k + 1] != (T)(k + 2) || out[0] != 0 || out[S::lanes + 1] != 0) fails += " store";
  if (S::hsum(S::load(buf)) != (T)(S::lanes * (S::lanes + 1) / 2)) fails += " hsum";
  V big = S::broadcast((T)1e8);  // pairwise: (1e8 + 1) + (-1e8 + ...) order
  if (!std::isinf(S::hsum(S::broadcast((T)INFINITY))) || S::hsum(big - big) != 0) fails += " hsum2";
  V z = S::broadcast((T)-0.0);
  for (int k = 0; k < S::lanes; k++)
    if (!std::signbit(z[k])) fails += " broadcast(-0)";
  V a = S::load(buf), b = S::broadcast((T)3);
  V c = rk::select(a < b, a, b);  // min
  for (int k = 0; k < S::lanes; k++)
    if (c[k] != std::min(buf[k], (T)3)) fails += " select";
  if (rk::any(a < S::broadcast((T)1)) || !rk::any(a > S::broadcast((T)(S::lanes - 1))))
    fails += " any";
  const T e = std::numeric_limits<T>::epsilon();
  T fs = rk::fma((T)1 + e, (T)1 - e, (T)-1);  // exact: -e^2
  if (fs != -e * e) fails += " fma(scalar)";
#if RK_HAS_FMA
  V fv = rk::fma(S::broadcast((T)1 + e), S::broadcast((T)1 - e), S::broadcast((T)-1));
  if (fv[0] != -e * e) fails += " fma(vector,fused)";
#endif
  return fails;
}

const float fnan = std::numeric_limits<float>::quiet_NaN();
const double dnan = std::numeric_limits<double>::quiet_NaN();
const float finf = INFINITY;
const double dinf = INFINITY;
const float fden = std::numeric_limits<float>::denorm_min();
const double dden = std::numeric_limits<double>::denorm_min();
const float fmaxv = std::numeric_limits<float>::max();
const double dmaxv = std::numeric_limits<double>::max();

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--stride" && i + 1 < argc) o.stride = (uint32_t)std::atol(argv[++i]);
    else if (a == "--ndouble" && i + 1 < argc) o.ndouble = (size_t)std::atoll(argv[++i]);
    else if (a == "--only" && i + 1 < argc) o.only = argv[++i];
    else if (a == "--exhaustive") o.exhaustive = true;
    else { std::fprintf(stderr, "usage: %s [--stride N] [--ndouble N] [--only NAME] [--exhaustive]\n", argv[0]); return 2; }
  }
  if (o.stride < 1 || o.exhaustive) o.stride = 1;
  std::printf("vmath: RK_VBYTES=%d (float lanes %d), fma %s, math-errno %s, float stride %u, double points %zu\n",
              RK_VBYTES, rk::simd<float>::lanes,
#if RK_HAS_FMA
              "hardware",
#else
              "none",
#endif
#if defined(__NO_MATH_ERRNO__)
              "off",
#else
              "on",
#endif
              o.stride, o.ndouble);
  auto want = [&](const char* n) { return o.only.empty() || o.only == n; };
  const uint32_t S = o.stride, S_TRIG = o.exhaustive ? 1 : 4 * S + 1,
                 S_IEEE = o.exhaustive ? 1 : 8 * S + 1;
  const uint32_t NEG = 0x80000000u;
  const size_t ND = o.ndouble;

  if (want("simd")) {
    std::string ff = check_simd_helpers<float>(), fd = check_simd_helpers<double>();
    std::printf("simd   helpers float=%s double=%s\n", ff.empty() ? "ok" : ff.c_str(),
                fd.empty() ? "ok" : fd.c_str());
    if (!ff.empty() || !fd.empty()) failures++;
  }

  // ------------------------------------------------------------- exp ----
  if (want("exp")) {
    auto vf = [](rk::vfloat x) { return rk::exp(x); };
    auto sf = [](float x) { return rk::exp(x); };
    auto rf = [](double x) { return std::exp(x); };
    Worst w = sweep_float(vf, rf, 0, fbits(89.0f), S);
    w.merge(sweep_float(vf, rf, NEG, NEG | fbits(104.0f), S));
    std::vector<Special<float>> sv = {
        {fnan, fnan, true}, {-fnan, fnan, true}, {finf, finf, true}, {-finf, 0.0f, true},
        {0.0f, 1.0f, true}, {-0.0f, 1.0f, true}, {fden, 1.0f, true}, {-fden, 1.0f, true},
        {1.0f, 2.71828175f, true}, {88.72f, 0, false}, {88.73f, finf, true},
        {bitsf(0x42b17217), 0, false},  // largest x with finite expf
        {bitsf(0x42b17218), finf, true}, {100.0f, finf, true}, {fmaxv, finf, true},
        {-87.3f, 0, false}, {-87.5f, 0, false}, {-100.0f, 0, false}, {-103.9f, 0, false},
        {-103.972076f, 0, false}, {-104.0f, 0.0f, true}, {-1000.0f, 0.0f, true},
        {-fmaxv, 0.0f, true}, {1e-10f, 1.0f, true}, {-1e-10f, 1.0f, true}};
    report("exp", "float", w, 2.0, check_specials<float>(vf, sf, rf, sv));
  }
  if (want("exp")) {
    auto vf = [](rk::vdouble x) { return rk::exp(x); };
    auto sf = [](double x) { return rk::exp(x); };
    auto rf = [](long double x) { return std::exp(x); };
    std::vector<double> extra = {709.782712893384, -708.3964185322641, -745.1332191019411,
                                 -744.4400719213812, 0.5 * 0.6931471805599453, -0.5 * 0.6931471805599453};
    for (int k = -1075; k <= 1024; k++) extra.push_back(k * 0.6931471805599453);  // n boundaries
    Worst w = sweep_double(vf, rf, double_points(-746.0, 710.0, ND, 1, extra));
    w.merge(sweep_double(vf, rf, double_points(-1.0, 1.0, ND / 10, 2, {})));
    std::vector<Special<double>> sv = {
        {dnan, dnan, true}, {-dnan, dnan, true}, {dinf, dinf, true}, {-dinf, 0.0, true},
        {0.0, 1.0, true}, {-0.0, 1.0, true}, {dden, 1.0, true}, {-dden, 1.0, true},
        {1.0, 0, false}, {709.78, 0, false}, {709.79, dinf, true},
        {709.782712893384, 0, false}, {710.0, dinf, true}, {dmaxv, dinf, true},
        {-708.4, 0, false}, {-720.0, 0, false}, {-745.0, 0, false},
        {-745.13, dden, true}, {-745.14, 0.0, true}, {-746.0, 0.0, true},
        {-1e5, 0.0, true}, {-dmaxv, 0.0, true}, {1e-20, 1.0, true}};
    report("exp", "double", w, 2.0, check_specials<double>(vf, sf, rf, sv));
  }

  // ------------------------------------------------------------- log ----
  if (want("log")) {
    auto vf = [](rk::vfloat x) { return rk::log(x); };
    auto sf = [](float x) { return rk::log(x); };
    auto rf = [](double x) { return std::log(x); };
    Worst w = sweep_float(vf, rf, 1, 0x7f7fffffu, S);  // all positive finite floats
    std::vector<Special<float>> sv = {
        {fnan, fnan, true}, {finf, finf, true}, {-finf, fnan, true}, {0.0f, -finf, true},
        {-0.0f, -finf, true}, {-1.0f, fnan, true}, {-fden, fnan, true}, {-fmaxv, fnan, true},
        {1.0f, 0.0f, true}, {fden, 0, false}, {std::numeric_limits<float>::min(), 0, false},
        {bitsf(0x007fffff), 0, false}, {fmaxv, 0, false}, {2.0f, 0, false},
        {0.5f, 0, false}, {std::nextafter(1.0f, 2.0f), 0, false}, {std::nextafter(1.0f, 0.0f), 0, false}};
    report("log", "float", w, 2.0, check_specials<float>(vf, sf, rf, sv));
  }
  if (want("log")) {
    auto vf = [](rk::vdouble x) { return rk::log(x); };
    auto sf = [](double x) { return rk::log(x); };
    auto rf = [](long double x) { return std::log(x); };
    std::vector<double> extra = {1.0, 0.7071067811865476, 1.4142135623730951, 2.0, 0.5, 10.0, 2.718281828459045};
    Worst w = sweep_double(vf, rf, double_points(0.0, dmaxv, ND, 3, extra));
    w.merge(sweep_double(vf, rf, double_points(0.5, 2.0, ND / 10, 4, {})));
    std::vector<Special<double>> sv = {
        {dnan, dnan, true}, {dinf, dinf, true}, {-dinf, dnan, true}, {0.0, -dinf, true},
        {-0.0, -dinf, true}, {-1.0, dnan, true}, {-dden, dnan, true}, {-dmaxv, dnan, true},
        {1.0, 0.0, true}, {dden, 0, false}, {std::numeric_limits<double>::min(), 0, false},
        {bitsd(0x000fffffffffffffull), 0, false}, {dmaxv, 0, false}, {2.0, 0, false},
        {std::nextafter(1.0, 2.0), 0, false}, {std::nextafter(1.0, 0.0), 0, false}};
    report("log", "double", w, 2.0, check_specials<double>(vf, sf, rf, sv));
  }

  // ------------------------------------------------------------ sqrt ----
  if (want("sqrt")) {
    auto vf = [](rk::vfloat x) { return rk::sqrt(x); };
    auto sf = [](float x) { return rk::sqrt(x); };
    auto rf = [](double x) { return std::sqrt(x); };
    Worst w = sweep_float(vf, rf, 0, 0x7f800000u, S_IEEE);
    std::vector<Special<float>> sv = {
        {fnan, fnan, true}, {finf, finf, true}, {-finf, fnan, true}, {0.0f, 0.0f, true},
        {-0.0f, -0.0f, true}, {-1.0f, fnan, true}, {-fden, fnan, true}, {4.0f, 2.0f, true},
        {fden, 0, false}, {fmaxv, 0, false}, {2.0f, 1.41421354f, true}};
    report("sqrt", "float", w, 0.5, check_specials<float>(vf, sf, rf, sv));
  }
  if (want("sqrt")) {
    auto vf = [](rk::vdouble x) { return rk::sqrt(x); };
    auto sf = [](double x) { return rk::sqrt(x); };
    auto rf = [](long double x) { return std::sqrt(x); };
    Worst w = sweep_double(vf, rf, double_points(0.0, dmaxv, ND / 4, 5, {}));
    std::vector<Special<double>> sv = {
        {dnan, dnan, true}, {dinf, dinf, true}, {-dinf, dnan, true}, {0.0, 0.0, true},
        {-0.0, -0.0, true}, {-1.0, dnan, true}, {-dden, dnan, true}, {4.0, 2.0, true},
        {dden, 0, false}, {dmaxv, 0, false}, {2.0, 1.4142135623730951, true}};
    // long double reference is not exact: allow 2^-10 ulp of slack
    report("sqrt", "double", w, 0.5 + 1.0 / 1024, check_specials<double>(vf, sf, rf, sv));
  }

  // ----------------------------------------------------------- rsqrt ----
  if (want("rsqrt")) {
    auto vf = [](rk::vfloat x) { return rk::rsqrt(x); };
    auto sf = [](float x) { return rk::rsqrt(x); };
    auto rf = [](double x) { return x == 0 ? 0.0 : 1.0 / std::sqrt(x); };
    Worst w = sweep_float(vf, rf, 0, 0x7f800000u, S_IEEE);
    std::vector<Special<float>> sv = {
        {fnan, fnan, true}, {finf, 0.0f, true}, {-finf, fnan, true}, {0.0f, 0.0f, true},
        {-0.0f, 0.0f, true}, {-1.0f, fnan, true}, {-fden, fnan, true}, {4.0f, 0.5f, true},
        {fden, 0, false}, {fmaxv, 0, false}, {0.25f, 2.0f, true}};
    report("rsqrt", "float", w, 1.5, check_specials<float>(vf, sf, rf, sv));
  }
  if (want("rsqrt")) {
    auto vf = [](rk::vdouble x) { return rk::rsqrt(x); };
    auto sf = [](double x) { return rk::rsqrt(x); };
    auto rf = [](long double x) { return x == 0 ? 0.0L : 1.0L / std::sqrt(x); };
    Worst w = sweep_double(vf, rf, double_points(0.0, dmaxv, ND / 4, 6, {}));
    std::vector<Special<double>> sv = {
        {dnan, dnan, true}, {dinf, 0.0, true}, {-dinf, dnan, true}, {0.0, 0.0, true},
        {-0.0, 0.0, true}, {-1.0, dnan, true}, {-dden, dnan, true}, {4.0, 0.5, true},
        {dden, 0, false}, {dmaxv, 0, false}, {0.25, 2.0, true}};
    report("rsqrt", "double", w, 1.5, check_specials<double>(vf, sf, rf, sv));
  }

  // ------------------------------------------------------------- inv ----
  if (want("inv")) {
    auto vf = [](rk::vfloat x) { return rk::inv(x); };
    auto sf = [](float x) { return rk::inv(x); };
    auto rf = [](double x) { return 1.0 / x; };
    Worst w = sweep_float(vf, rf, 0, 0x7f800000u, S_IEEE);
    w.merge(sweep_float(vf, rf, NEG, NEG | 0x7f800000u, S_IEEE * 4 + 1));
    std::vector<Special<float>> sv = {
        {fnan, fnan, true}, {finf, 0.0f, true}, {-finf, -0.0f, true}, {0.0f, finf, true},
        {-0.0f, -finf, true}, {fden, finf, true}, {4.0f, 0.25f, true}, {-2.0f, -0.5f, true},
        {fmaxv, 0, false}};
    report("inv", "float", w, 0.5, check_specials<float>(vf, sf, rf, sv));
  }
  if (want("inv")) {
    auto vf = [](rk::vdouble x) { return rk::inv(x); };
    auto sf = [](double x) { return rk::inv(x); };
    auto rf = [](long double x) { return 1.0L / x; };
    Worst w = sweep_double(vf, rf, double_points(-dmaxv, dmaxv, ND / 4, 7, {}));
    std::vector<Special<double>> sv = {
        {dnan, dnan, true}, {dinf, 0.0, true}, {-dinf, -0.0, true}, {0.0, dinf, true},
        {-0.0, -dinf, true}, {dden, dinf, true}, {4.0, 0.25, true}, {-2.0, -0.5, true},
        {dmaxv, 0, false}};
    report("inv", "double", w, 0.5 + 1.0 / 1024, check_specials<double>(vf, sf, rf, sv));
  }

  // -------------------------------------------------------- sin, cos ----
  for (int which = 0; which < 2; which++) {
    const char* name = which ? "cos" : "sin";
    if (!want(name)) continue;
    {
      auto vf = [which](rk::vfloat x) { return which ? rk::cos(x) : rk::sin(x); };
      auto sf = [which](float x) { return which ? rk::cos(x) : rk::sin(x); };
      auto rf = [which](double x) { return which ? std::cos(x) : std::sin(x); };
      // |x| <= 1.6e9 (vector path) and a little beyond (per-lane libm)
      Worst w = sweep_float(vf, rf, 0, fbits(2e9f), S_TRIG);
      w.merge(sweep_float(vf, rf, NEG, NEG | fbits(2e9f), S_TRIG * 4 + 1));
      std::vector<Special<float>> sv = {
          {fnan, fnan, true}, {finf, fnan, true}, {-finf, fnan, true},
          {0.0f, which ? 1.0f : 0.0f, true}, {-0.0f, which ? 1.0f : -0.0f, true},
          {fden, which ? 1.0f : fden, true}, {-fden, which ? 1.0f : -fden, true},
          {1e-30f, which ? 1.0f : 1e-30f, true}, {1.5707964f, 0, false},
          {3.14159274f, 0, false}, {1e5f, 0, false}, {1.6e9f, 0, false}, {1.7e9f, 0, false},
          {1e10f, 0, false}, {fmaxv, 0, false}, {-fmaxv, 0, false}};
      report(name, "float", w, 2.0, check_specials<float>(vf, sf, rf, sv));
    }
    {
      auto vf = [which](rk::vdouble x) { return which ? rk::cos(x) : rk::sin(x); };
      auto sf = [which](double x) { return which ? rk::cos(x) : rk::sin(x); };
      auto rf = [which](long double x) { return which ? std::cos(x) : std::sin(x); };
      // multiples of pi/2 rounded to double are the hardest arguments
      std::vector<double> extra;
      const long double pio2 = 1.5707963267948966192313216916397514L;
      for (long k = -2000; k <= 2000; k++) extra.push_back((double)(k * pio2));
      std::mt19937_64 g(8);
      for (int i = 0; i < 20000; i++) extra.push_back((double)((long double)(g() % 1000000000) * pio2));
      for (int i = 0; i < 2000; i++) extra.push_back((double)((long double)(g() % 500000000) * 2 * pio2));  // k pi
      Worst w = sweep_double(vf, rf, double_points(-1.6e9, 1.6e9, ND / 4, 9 + which, extra));
      w.merge(sweep_double(vf, rf, double_points(-10.0, 10.0, ND / 4, 11 + which, {})));
      w.merge(sweep_double(vf, rf, double_points(-1e14, 1e14, ND / 100, 13 + which, {})));
      std::vector<Special<double>> sv = {
          {dnan, dnan, true}, {dinf, dnan, true}, {-dinf, dnan, true},
          {0.0, which ? 1.0 : 0.0, true}, {-0.0, which ? 1.0 : -0.0, true},
          {dden, which ? 1.0 : dden, true}, {-dden, which ? 1.0 : -dden, true},
          {1e-300, which ? 1.0 : 1e-300, true}, {1.5707963267948966, 0, false},
          {3.141592653589793, 0, false}, {1e9, 0, false}, {1.6e9, 0, false}, {1.7e9, 0, false},
          {1e22, 0, false}, {dmaxv, 0, false}, {-dmaxv, 0, false}};
      report(name, "double", w, 2.0, check_specials<double>(vf, sf, rf, sv));
    }
  }

  if (failures) std::printf("vmath: %d FAILED\n", failures);
  else std::printf("vmath: all ok\n");
  return failures ? 1 : 0;
}
