#!/usr/bin/env bash
# Accuracy tests (and benchmark) of inst/include/rkeops/vmath.h.
#
#   tests/vmath/run.sh                 accuracy + special values, every SIMD path
#   tests/vmath/run.sh --quick         same, sparser sweeps (a few seconds)
#   tests/vmath/run.sh --exhaustive    every float bit pattern on the native path (minutes)
#   tests/vmath/run.sh --bench         throughput benchmark (bench/vmath_bench.cpp)
#
# The compiler is $CXX (default g++). Paths tested: the native one
# (-O3 -march=native: AVX-512 / AVX2 / ... as the machine has) in full, then
# with sparser sweeps: native with -fno-math-errno (the operators' flags),
# RK_VBYTES=32 and RK_VBYTES=16 forced on the native ISA, and plain -O3
# (baseline ISA, e.g. SSE2 without FMA on x86-64). Exits non-zero on failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
CXX="${CXX:-g++}"
mode=test
main_args=()
case "${1:-}" in
  "") ;;
  --quick) main_args=(--stride 61 --ndouble 1000000) ;;
  --exhaustive) main_args=(--exhaustive) ;;
  --bench) mode=bench ;;
  *) echo "usage: $0 [--quick|--exhaustive|--bench]" >&2; exit 2 ;;
esac

build="$(mktemp -d "${TMPDIR:-/tmp}/rkeops-vmath.XXXXXX")"
trap 'rm -rf "$build"' EXIT

base=(-std=gnu++17 -Wall -Wextra -I "$root/inst/include")
omp=()
if echo 'int main(){return 0;}' | "$CXX" -x c++ -fopenmp - -o "$build/omp" 2>/dev/null; then
  omp=(-fopenmp)
fi

if [ "$mode" = bench ]; then
  "$CXX" -O3 -march=native -fno-math-errno "${base[@]}" "$root/bench/vmath_bench.cpp" -o "$build/bench"
  echo "# $CXX -O3 -march=native -fno-math-errno"
  "$build/bench"
  exit 0
fi

status=0
run() {  # label, extra args for the program, -- compiler flags
  local label="$1"; shift
  local prog_args=()
  while [ "$1" != "--" ]; do prog_args+=("$1"); shift; done
  shift
  echo "== $label: $CXX $* -std=gnu++17"
  if ! "$CXX" "$@" "${base[@]}" ${omp[@]+"${omp[@]}"} "$here/vmath_accuracy.cpp" -o "$build/acc"; then
    echo "COMPILE FAILED"; status=1; return
  fi
  "$build/acc" "${prog_args[@]}" || status=1
}

quick=(--stride 61 --ndouble 1000000)
run "native" ${main_args[@]+"${main_args[@]}"} -- -O3 -march=native
run "native, -fno-math-errno" "${quick[@]}" -- -O3 -march=native -fno-math-errno
run "RK_VBYTES=32" "${quick[@]}" -- -O3 -march=native -DRK_VBYTES=32
run "RK_VBYTES=16" "${quick[@]}" -- -O3 -march=native -DRK_VBYTES=16
run "baseline ISA" "${quick[@]}" -- -O3

if [ $status -eq 0 ]; then echo "vmath tests: all paths ok"; else echo "vmath tests: FAILED"; fi
exit $status
