# rkeops developer and quick-start targets (GNU make).
#   make demo   install what is missing, install rkeops into ./.rlib, run tools/demo.R
#   make test   same install, then R CMD build + check, tools/gpu-check.sh (emulation),
#               then the testthat suite
#   make bench  run bench/bench.R against ./.rlib
#   make doc    regenerate RcppExports (Rcpp), man/ and NAMESPACE (roxygen2)
#   make clean  remove every build product

SHELL := /bin/sh
RLIB := $(CURDIR)/.rlib
R_ENV := R_LIBS=$(RLIB)
DEMO_CACHE := $(CURDIR)/.rkeops-demo-cache
STAMP := $(RLIB)/.rkeops-installed

# What the installed package is built from. Directories are listed too, so
# adding or deleting a file triggers a reinstall.
PKG_DIRS := R src inst man
PKG_FILES := DESCRIPTION NAMESPACE configure \
  $(shell find $(PKG_DIRS) -type d 2>/dev/null) \
  $(shell find $(PKG_DIRS) -type f ! -name '*.o' ! -name '*.so' ! -name '*.dll' \
            ! -name 'rkeops-toolchain.dcf' 2>/dev/null)
# R's make of src/ does not track headers: when one of these is newer than
# the last install, every object file is rebuilt.
REBUILD_TRIGGERS := src/Makevars configure
HEADER_DIRS := src inst/include

.PHONY: all deps install demo test check bench doc clean

all: install

deps:
	@sh tools/install-deps.sh

install: deps $(STAMP)

# The RcppExports files are refreshed first (as devtools does). The stamp
# takes the time the install started, so files edited during a long install
# still trigger the next one.
$(STAMP): $(PKG_FILES) | deps
	@mkdir -p $(RLIB) .check
	@if grep -qs 'Rcpp::export' src/*.cpp; then \
	  Rscript -e 'invisible(Rcpp::compileAttributes("."))' || exit 1; \
	fi
	@touch $(STAMP).new
	@if [ ! -f $(STAMP) ] || \
	    [ -n "$$(find $(HEADER_DIRS) $(REBUILD_TRIGGERS) -newer $(STAMP) \
	             \( -name '*.h' -o -name '*.hpp' -o -name Makevars -o -name configure \) \
	             -print 2>/dev/null | head -n 1)" ]; then \
	  find src \( -name '*.o' -o -name '*.so' -o -name '*.dll' \) -type f -exec rm -f {} +; \
	fi
	@echo "Installing rkeops into .rlib (log: .check/install.log) ..."
	@if R CMD INSTALL --no-test-load --library=$(RLIB) . > .check/install.log 2>&1; then \
	  mv -f $(STAMP).new $(STAMP); echo "Installed rkeops into .rlib"; \
	else \
	  echo "R CMD INSTALL FAILED; end of .check/install.log:"; \
	  tail -n 40 .check/install.log; exit 1; \
	fi

NAMESPACE:
	@$(MAKE) --no-print-directory doc

demo: install
	@rm -rf $(DEMO_CACHE) && mkdir -p $(DEMO_CACHE)
	@status=0; \
	$(R_ENV) RKEOPS_CACHE_DIR=$(DEMO_CACHE) Rscript tools/demo.R || status=$$?; \
	rm -rf $(DEMO_CACHE); \
	exit $$status

# R CMD build + check first, then the GPU check without R in emulation mode
# (its summary starts with "gpu-check:"), the testthat suite last: the final
# line printed is the suite's "N passed, N failed" line. All always run; any
# failing fails the target.
test: install
	@status=0; \
	sh tools/check-package.sh || status=1; \
	sh tools/gpu-check.sh --emulation --out .check/gpu-check.txt || status=1; \
	$(R_ENV) Rscript tools/run-tests.R || status=1; \
	exit $$status

check: install
	@sh tools/check-package.sh

bench: install
	@$(R_ENV) Rscript bench/bench.R

doc:
	@if grep -qs 'Rcpp::export' src/*.cpp; then \
	  Rscript -e 'invisible(Rcpp::compileAttributes("."))'; \
	fi
	Rscript -e 'roxygen2::roxygenise(load_code = "source")'

clean:
	rm -rf .rlib .check .gpu-check .rkeops-demo-cache rkeops.Rcheck rkeops_*.tar.gz
	sh cleanup
