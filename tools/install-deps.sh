#!/bin/sh
# Install the Debian packages needed to build, test and run rkeops.
# Idempotent and fast: apt is only touched when something is missing.
# Debian packages only (nothing from CRAN). Needs root when it installs.
set -eu

PKGS="r-base-dev r-cran-rcpp r-cran-rcppeigen r-cran-testthat r-cran-callr r-cran-knitr r-cran-rmarkdown r-cran-roxygen2 r-cran-cli r-cran-future.apply r-cran-progressr r-cran-mlbench r-cran-class r-cran-fnn r-cran-dbscan pandoc make g++"

missing=""
for p in $PKGS; do
  # dpkg -s succeeds only for installed packages ("install ok installed").
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing="$missing $p"
  fi
done
for c in R Rscript make g++; do
  command -v "$c" >/dev/null 2>&1 || missing="$missing (command:$c)"
done

if [ -z "$missing" ]; then
  echo "install-deps: all dependencies present."
  exit 0
fi

echo "install-deps: missing:$missing"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: run as root (or install these Debian packages):" >&2
  echo "  apt-get install -y --no-install-recommends $PKGS" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends $PKGS
echo "install-deps: done."
