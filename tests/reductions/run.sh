#!/usr/bin/env bash
# Checks of inst/include/rkeops/reductions.h without R: split-and-merge
# equals one scan, SIMD lanes equal the scalar path (merge_test.cpp), on
# every SIMD path (native, RK_VBYTES=32, RK_VBYTES=16, baseline ISA).
# The compiler is $CXX (default g++). Exits non-zero on failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
CXX="${CXX:-g++}"
build="$(mktemp -d "${TMPDIR:-/tmp}/rkeops-reductions.XXXXXX")"
trap 'rm -rf "$build"' EXIT

base=(-std=gnu++17 -Wall -Wextra -Werror -fno-math-errno -I "$root/inst/include")
status=0
for flags in "-O3 -march=native" "-O3 -march=native -DRK_VBYTES=32" \
             "-O3 -march=native -DRK_VBYTES=16" "-O2"; do
  echo "# $CXX $flags"
  # shellcheck disable=SC2086
  "$CXX" $flags "${base[@]}" "$here/merge_test.cpp" -o "$build/merge_test"
  "$build/merge_test" || status=1
done
exit $status
