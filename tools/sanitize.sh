#!/bin/sh
# Memory-safety checks of rkeops. Exits non-zero on any report.
#
#   sh tools/sanitize.sh [asan|valgrind|all]      (default: all)
#
# asan      builds the C++ core (src/core/*/*.cpp: formula, codegen, build,
#           runtime) with tests/core/core_driver.cpp, all with
#           -fsanitize=address,undefined, and runs it: it parses, differentiates
#           and generates code for a list of formulas, then compiles one
#           operator (itself sanitized) through the cache in a temporary
#           directory, runs it and damages its cache entry. Any
#           AddressSanitizer, LeakSanitizer or UBSan report fails.
# valgrind  runs R under valgrind (memcheck, --leak-check=full) on a script
#           that calls one operator 1000 times (operators built without
#           AVX-512, which valgrind does not decode). Fails on any memcheck
#           error, or on "definitely lost" blocks allocated from rkeops' own
#           code (R itself leaves a few blocks; they are reported, not failed).
#
# Environment: CXX (default g++), R (default R), R_LIBS (where rkeops is
# installed, for valgrind). Logs are kept in $SANITIZE_OUT (default a
# temporary directory, printed).
set -u
cd "$(dirname "$0")/.." || exit 1
root=$(pwd)
what=${1:-all}
CXX=${CXX:-g++}
R=${R:-R}
out=${SANITIZE_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/rkeops-sanitize-XXXXXX")}
mkdir -p "$out"
status=0

run_asan() {
  echo "== AddressSanitizer + UBSan: C++ core and tests/core/core_driver.cpp ($CXX)"
  san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
  bin="$out/core_driver"
  # shellcheck disable=SC2086
  if ! "$CXX" -std=gnu++17 -g -O1 $san -Wall -Wextra -I"$root/src/core" -I"$root/inst/include" \
      "$root/tests/core/core_driver.cpp" "$root"/src/core/*/*.cpp -ldl -o "$bin" \
      > "$out/asan-build.log" 2>&1; then
    cat "$out/asan-build.log"
    echo "asan: BUILD FAILED"
    return 1
  fi
  rm -rf "$out/asan-tmp" && mkdir -p "$out/asan-tmp"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1:exitcode=23 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$bin" "$root/inst/include" "$out/asan-tmp" "$CXX" "$san" > "$out/asan.log" 2>&1
  rc=$?
  cat "$out/asan.log"
  reports=$(grep -c -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$out/asan.log")
  echo "asan: exit status $rc, sanitizer reports: $reports"
  [ "$rc" -eq 0 ] && [ "$reports" -eq 0 ]
}

run_valgrind() {
  echo "== valgrind: one operator called 1000 times from R"
  if ! command -v valgrind > /dev/null 2>&1; then
    echo "valgrind: not installed"
    return 1
  fi
  cache="$out/valgrind-cache"
  rm -rf "$cache"
  cat > "$out/valgrind.R" <<'EOF'
library(rkeops)
set_rkeops_options(cache_dir = Sys.getenv("RKEOPS_SANITIZE_CACHE"), precision = "float32",
                   simd = "generic", compile_flags = "-O2 -g")
use_cpu(2)
op <- keops_kernel("Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)",
                   c("x = Vi(3)", "y = Vj(3)", "b = Vj(2)", "s = Pm(1)"))
set.seed(1)
x <- matrix(runif(300), 100); y <- matrix(runif(450), 150); b <- matrix(runif(300), 150)
D2 <- outer(rowSums(x^2), rowSums(y^2), "+") - 2 * x %*% t(y)
ref <- exp(-0.5 * D2) %*% b
err <- 0
for (k in 1:1000) {
  res <- if (k %% 2) op(list(x, y, b, 0.5)) else op(list(t(x), t(y), t(b), 0.5), inner_dim = "row")
  if (k %% 2 == 0) res <- t(res)
  err <- max(err, abs(res - ref))
}
# errors too, and an empty side
for (k in 1:20) try(op(list(x, y[, 1:2], b, 0.5)), silent = TRUE)
stopifnot(all(op(list(x, y[0, ], b[0, ], 0.5)) == 0))
cat("valgrind.R: 1000 calls, max abs error", err, "\n")
stopifnot(err < 1e-4)
EOF
  RKEOPS_SANITIZE_CACHE="$cache" "$R" -d "valgrind --leak-check=full --show-possibly-lost=no \
--errors-for-leak-kinds=definite \
--num-callers=30 --error-exitcode=1 --log-file=$out/valgrind.log" --vanilla -f "$out/valgrind.R" \
    > "$out/valgrind-R.log" 2>&1
  rc=$?
  tail -n 3 "$out/valgrind-R.log"
  errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$out/valgrind.log" | tail -n 1)
  lost=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$out/valgrind.log" | tail -n 1 | tr -d ,)
  # "definitely lost" records whose allocation stack goes through rkeops
  ours=$(awk '/definitely lost in loss record/ {rec = 1; buf = ""} rec {buf = buf $0 "\n"}
              rec && /^==[0-9]+== $/ {if (buf ~ /rkeops|operator\.so|rk_/) n++; rec = 0}
              END {print n + 0}' "$out/valgrind.log")
  echo "valgrind: R exit status $rc, memcheck errors: ${errors:-?}, definitely lost: ${lost:-0} bytes" \
       "(records from rkeops frames: $ours)"
  [ "$rc" -eq 0 ] && [ "${errors:-1}" -eq 0 ] && [ "$ours" -eq 0 ]
}

case "$what" in
  asan) run_asan || status=1 ;;
  valgrind) run_valgrind || status=1 ;;
  all)
    run_asan || status=1
    run_valgrind || status=1
    ;;
  *) echo "usage: sh tools/sanitize.sh [asan|valgrind|all]"; exit 2 ;;
esac
echo "logs in $out"
[ "$status" -eq 0 ] && echo "sanitize: OK" || echo "sanitize: FAILED"
exit $status
