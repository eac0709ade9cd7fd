#!/bin/sh
# Fuzz the formula parser, checker and code generator (no R needed):
#   sh fuzz/run.sh [seconds]        default 600
# Builds with clang's libFuzzer, AddressSanitizer and UBSan (Debian: clang,
# libclang-rt-14-dev), and runs on a copy of the seed corpus in fuzz/seeds.
set -eu
cd "$(dirname "$0")/.."
secs=${1:-600}
mkdir -p fuzz/corpus
cp -n fuzz/seeds/* fuzz/corpus/ 2>/dev/null || true
clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -Isrc/core -Iinst/include fuzz/formula_fuzzer.cpp \
  src/core/formula/*.cpp src/core/codegen/*.cpp -o fuzz/formula_fuzzer.bin
exec ./fuzz/formula_fuzzer.bin -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
  -max_len=512 -print_final_stats=1 -artifact_prefix=fuzz/ fuzz/corpus
