#!/bin/sh
# GPU verification of rkeops without R (issue #18).
#
#   sh tools/gpu-check.sh [--gpu | --emulation] [--out FILE] [options]
#
# Builds the C++ core (src/core) with the driver tests/gpu/*.cpp, using only
# a C++ compiler, then runs the driver: it generates, compiles and runs the
# operators of a fixed list (every reduction on both axes in float32 and
# float64, gradients, LogSumExp, an ArgKMin with K = 10, a 128-dimensional
# SqDist, reduced-side chunks forced through RKEOPS_GPU_CHUNK_COLS/_ROWS) on
# the GPU and on the CPU backend with the same data, compares them and prints
# a table (case, max relative error, GPU and CPU times, pairs/s) whose last
# line is "gpu-check: N passed, N failed". With a GPU it also times the
# Gaussian convolution at M = N = 1e6 and 1e7.
#
# Modes: by default a GPU run when a GPU (NVIDIA driver, libcuda.so.1) and
# nvcc are found, else EMULATION mode: the same GPU kernel source compiled by
# the C++ compiler (backend GPU_EMULATION), small sizes, no large timings,
# and, if nvcc is there, three CUDA operators compiled (one architecture) and
# loaded but not run. --gpu insists on a GPU run (exit 2 if there is no GPU or
# no nvcc); --emulation forces emulation mode.
#
# Options:
#   --out FILE           where the table goes (also RKEOPS_GPU_CHECK_OUT;
#                        default $RKEOPS_GPU_CHECK_DIR/gpu-check.txt)
#   --arch A             CUDA architectures of the GPU run: native (default) or 75,80,...
#   --device D           GPU device number (default 0)
#   --no-large           skip the 1e6 / 1e7 timings
#   --large-budget S     seconds per large run before it stops and extrapolates (default 40)
#   --large-sizes LIST   M = N of the large runs (default 1e6,1e7); given, the large
#                        runs also happen in emulation mode (use small sizes there)
#   --only TEXT          only the cases whose name contains TEXT
#   --jobs J             parallel compilations (default: the number of CPUs)
#   --fresh              empty the operator cache first
# Environment: CXX (default g++), NVCC, CUDA_HOME (nvcc is looked for as
# $NVCC, $CUDA_HOME/bin/nvcc, on the PATH, /usr/local/cuda/bin/nvcc),
# RKEOPS_GPU_CHECK_DIR (build products and the operator cache; default
# .gpu-check in the repository, git-ignored).
#
# Exit status: 0 all passed; 1 some case failed; 2 the check could not run
# (no compiler, the driver did not build, --gpu without a GPU or nvcc).
set -u
cd "$(dirname "$0")/.." || exit 2
root=$(pwd)
start=$(date +%s)

mode=auto
out=${RKEOPS_GPU_CHECK_OUT:-}
only=
fresh=0
drv_args=
usage() { sed -n '2,/^set -u/p' "$root/tools/gpu-check.sh" | sed -e '$d' -e 's/^# \{0,1\}//'; }
need_value() {
  if [ $# -lt 2 ]; then echo "gpu-check: $1 needs a value" >&2; exit 2; fi
}
while [ $# -gt 0 ]; do
  case "$1" in
    --gpu) mode=gpu ;;
    --emulation) mode=emulation ;;
    --out) need_value "$@"; out=$2; shift ;;
    --out=*) out=${1#--out=} ;;
    --arch | --device | --large-budget | --large-sizes | --jobs)
      need_value "$@"; drv_args="$drv_args $1 $2"; shift ;;
    --no-large) drv_args="$drv_args --no-large" ;;
    --only) need_value "$@"; only=$2; shift ;;
    --fresh) fresh=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "gpu-check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

build=${RKEOPS_GPU_CHECK_DIR:-$root/.gpu-check}
[ -n "$out" ] || out=$build/gpu-check.txt
mkdir -p "$build/obj" || { echo "gpu-check: cannot create $build"; exit 2; }
case "$out" in /*) ;; *) out=$(pwd)/$out ;; esac

CXX=${CXX:-g++}
if ! command -v "$CXX" > /dev/null 2>&1; then
  echo "gpu-check: the C++ compiler '$CXX' was not found (set CXX)"
  exit 2
fi

nvcc=
for c in "${NVCC:-}" "${CUDA_HOME:+$CUDA_HOME/bin/nvcc}" "$(command -v nvcc 2>/dev/null)" \
         /usr/local/cuda/bin/nvcc; do
  if [ -n "$c" ] && [ -x "$c" ]; then nvcc=$c; break; fi
done
if [ -z "$nvcc" ]; then
  if [ "$mode" = gpu ]; then
    echo "gpu-check: a GPU run was asked for (--gpu), but nvcc was not found" \
         "(looked at \$NVCC, \$CUDA_HOME/bin, the PATH, /usr/local/cuda/bin)"
    exit 2
  fi
  echo "gpu-check: nvcc NOT FOUND (looked at \$NVCC, \$CUDA_HOME/bin, the PATH, /usr/local/cuda/bin)"
fi

jobs=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)

# ---- build the driver: the core and tests/gpu, objects rebuilt when their
# source or any header is newer.
headers=$(find src/core tests/gpu -name '*.h'; echo inst/include/rkeops/abi.h)
sources=$(find src/core tests/gpu -name '*.cpp' | sort)
flags="-std=gnu++17 -O0 -Wall -Wextra -Isrc/core -Iinst/include -Itests/gpu"
# Objects built with other flags or another compiler are rebuilt.
if [ "$(cat "$build/obj/flags" 2>/dev/null)" != "$CXX $flags" ]; then
  rm -f "$build"/obj/*.o
  echo "$CXX $flags" > "$build/obj/flags"
fi
objects=
running=0
for src in $sources; do
  obj=$build/obj/$(echo "$src" | tr / _ | sed 's/\.cpp$/.o/')
  objects="$objects $obj"
  # shellcheck disable=SC2086
  if [ -f "$obj" ] && [ -z "$(find "$src" $headers -newer "$obj" 2>/dev/null | head -n 1)" ]; then
    continue
  fi
  # shellcheck disable=SC2086
  ( "$CXX" $flags -c "$src" -o "$obj.tmp" > "$obj.log" 2>&1 && mv -f "$obj.tmp" "$obj" ) &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait; running=0; fi
done
wait
bin=$build/gpu_check
for obj in $objects; do
  if [ ! -f "$obj" ] || [ -f "$obj.tmp" ]; then
    cat "$obj.log" 2>/dev/null
    rm -f "$obj.tmp"
    echo "gpu-check: the driver could not be built (compiling $obj failed; log above)"
    exit 2
  fi
done
newest=$(ls -t $objects 2>/dev/null | head -n 1)
if [ ! -x "$bin" ] || [ "$newest" -nt "$bin" ]; then
  # shellcheck disable=SC2086
  if ! "$CXX" -o "$bin" $objects -ldl -lpthread > "$build/link.log" 2>&1; then
    cat "$build/link.log"
    echo "gpu-check: the driver could not be built (link failed; log above)"
    exit 2
  fi
fi
if [ ! -x "$bin" ]; then
  echo "gpu-check: the driver $bin is missing"
  exit 2
fi
echo "gpu-check: driver ready ($bin, $(($(date +%s) - start)) s)"

# ---- the operator cache: emptied when the sources (kernel headers, core,
# driver) change, since its key does not see the headers' contents.
tag=$(find src/core tests/gpu inst/include -type f \( -name '*.h' -o -name '*.cpp' \) | sort | xargs cat | cksum | cut -d ' ' -f 1)
if [ "$fresh" = 1 ] || [ "$(cat "$build/cache.tag" 2>/dev/null)" != "$tag" ]; then
  rm -rf "$build/cache"
  echo "$tag" > "$build/cache.tag"
fi

# shellcheck disable=SC2086
"$bin" --include "$root/inst/include" --work "$build" --mode "$mode" --nvcc "$nvcc" --cxx "$CXX" \
  --out "$out" --tag "$tag" --jobs "$jobs" $drv_args ${only:+--only "$only"}
exit $?
