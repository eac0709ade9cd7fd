#!/bin/sh
# Build the source tarball and run R CMD check on it, quietly.
# Outputs go to .check/ (build.log, the tarball, rkeops.Rcheck/00check.log).
# Prints a short summary; exits 1 if the build fails or the check log has
# any ERROR or WARNING (NOTEs are listed but accepted).
set -u
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)
out="$top/.check"
pkg=$(sed -n 's/^Package:[[:space:]]*//p' DESCRIPTION)
ver=$(sed -n 's/^Version:[[:space:]]*//p' DESCRIPTION)
tarball="${pkg}_${ver}.tar.gz"

rm -rf "${out:?}/$pkg.Rcheck" "${out:?}/$tarball"
mkdir -p "$out"
cd "$out" || exit 1

# Give the check its own, empty rkeops cache: nothing may land in $HOME.
cache=$(mktemp -d "${TMPDIR:-/tmp}/rkeops-check-cache-XXXXXX")
trap 'rm -rf "$cache"' EXIT
trap 'exit 1' INT TERM
export RKEOPS_CACHE_DIR="$cache"
export _R_CHECK_FORCE_SUGGESTS_=false
# DESCRIPTION says UTF-8: in a non-UTF-8 locale (a bare container has none),
# R CMD check tries en_US.UTF-8, which may not exist, and WARNs.
case "$(locale charmap 2>/dev/null)" in
  UTF-8) ;;
  *) export LC_ALL=C.UTF-8 ;;
esac

start=$(date +%s)
echo "R CMD build (log: .check/build.log) ..."
if ! R CMD build --no-manual "$top" > build.log 2>&1; then
  echo "R CMD build FAILED; end of .check/build.log:"
  tail -n 40 build.log
  exit 1
fi

echo "R CMD check --no-manual --no-tests $tarball (log: .check/$pkg.Rcheck/00check.log) ..."
R CMD check --no-manual --no-tests "$tarball" > check.log 2>&1
check_rc=$?
log="$pkg.Rcheck/00check.log"
if [ ! -f "$log" ]; then
  echo "R CMD check produced no 00check.log (exit $check_rc); end of .check/check.log:"
  tail -n 40 check.log
  exit 1
fi

# Print each ERROR / WARNING / NOTE block: from its "* checking ..." line to
# the next "* " line.
show_blocks() {
  awk -v pat="$1" '
    /^\* / { inblock = ($0 ~ ("\\.\\.\\. *(\\[[^]]*\\] *)?" pat "$")) }
    inblock { print "    " $0 }
  ' "$log"
}
errors=$(grep -cE '\.\.\. *(\[[^]]*\] *)?ERROR$' "$log")
warnings=$(grep -cE '\.\.\. *(\[[^]]*\] *)?WARNING$' "$log")
notes=$(grep -cE '\.\.\. *(\[[^]]*\] *)?NOTE$' "$log")
status_line=$(grep -E '^Status:' "$log" | tail -n 1)
elapsed=$(( $(date +%s) - start ))

if [ "$notes" -gt 0 ]; then
  echo "R CMD check NOTEs (accepted):"
  show_blocks NOTE
fi
if [ "$errors" -gt 0 ] || [ "$warnings" -gt 0 ] || [ "$check_rc" -ne 0 ] ||
   [ -z "$status_line" ]; then
  echo "R CMD check FAILED (${status_line:-no Status line, check aborted}; exit $check_rc):"
  show_blocks 'ERROR'
  show_blocks 'WARNING'
  if [ "$errors" -eq 0 ] && [ "$warnings" -eq 0 ]; then
    tail -n 30 "$log" | sed 's/^/    /'
  fi
  exit 1
fi
echo "R CMD check passed: ${status_line#Status: } (${elapsed}s)"
exit 0
