# bitbranch: thin wrappers over one Python entry point per stage.
# Spec variables (blank = default): BITS (both widths), WBITS, ABITS, N, ARCH, POPCOUNT, ADDER (abc|fa), ENCODING (pm1|twos).
# Tool variables: SIM (icarus|verilator), WAVES (1 keeps FST), JUNIT (verify's JUnit XML path), FLOW (local|openlane), CLOCK_NS.
# Flow variables (synth sta power gds): BUILD_ROOT (build folder), FORCE=1 (rerun up-to-date stages); power and gds:
# VECTORS, SEED (gate-level simulation stimulus); power: RUN_BITS (run-time widths b or mxk of that stimulus). A variable a command cannot use stops it with one error line.
# gds, ppa, demo: ROUTE_JOBS (placement attempts routed side by side; default: the cores, shared out by JOBS in a sweep).

BITS     ?=
WBITS    ?=
ABITS    ?=
N        ?=
ARCH     ?=
POPCOUNT ?=
ADDER    ?=
ENCODING ?=
SIM      ?= icarus
WAVES    ?= 0
FAST     ?= 0
JUNIT    ?=
FLOW     ?= local
CLOCK_NS ?=
BUILD_ROOT ?= build
FORCE    ?=
VECTORS  ?=
SEED     ?=
RUN_BITS ?=
JOBS     ?= 2
ROUTE_JOBS ?=
# dse: the grid's axes are comma lists (ARCH, ENCODING, WBITS, ABITS, PAIRS=1x2,2x2, N, CLOCK_NS; BITS sets both widths)
# or a TOML file (GRID=); MODEL_ONLY=1, MAX_POINTS, GDS=pareto|top-K, DSE_JOBS (local workers), DSE_ROOT;
# DASK_SCHEDULER=tcp://host:8786 (environment) runs every sweep (ppa, demo, dse) on an existing Dask cluster
GRID     ?=
PAIRS    ?=
MODEL_ONLY ?=
MAX_POINTS ?=
GDS      ?=
DSE_JOBS ?=
DSE_ROOT ?= build/dse

VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SPEC    = --arch '$(ARCH)' --bits '$(BITS)' --wbits '$(WBITS)' --abits '$(ABITS)' --n '$(N)' --popcount '$(POPCOUNT)' --adder '$(ADDER)' --encoding '$(ENCODING)'
FLOWARGS = --clock-ns '$(CLOCK_NS)' --root '$(BUILD_ROOT)' --vectors '$(VECTORS)' --seed '$(SEED)' --run-bits '$(RUN_BITS)' $(if $(filter 1,$(FORCE)),--force)

.DEFAULT_GOAL := help
.PHONY: help deps debian-deps check-deps rtl verify synth sta power gds ppa dse qnn demo test test-fast bench lint clean

help:
	@echo "bitbranch: {-1,+1} encoded dot-product PEs from a Python model to Sky130 PPA"
	@echo ""
	@echo "  make demo                 install what is missing, run rtl -> verify -> flow -> report (build/report/) on W1A1, W2A2"
	@echo "  make test                 install what is missing, run the test suite (what CI runs)"
	@echo "  make deps                 only install what is missing (Debian tools with apt-get as root, .venv with pip)"
	@echo "  make test-fast            unit and property tests only (no simulator or EDA tool runs)"
	@echo "  make lint                 ruff + the layer contract (common -> model -> rtl -> verif -> (flow | qnn) -> reports)"
	@echo "  make rtl BITS=2           generate Verilog + manifest under build/<id>/rtl/"
	@echo "  make verify               cocotb regression (or one spec: BITS=3 ARCH=serial N=7 SIM=verilator)"
	@echo "  make verify FAST=1        native Verilator regression: 100000 vectors per design checked in C++"
	@echo "  make synth|sta|power      Sky130 synthesis, multi-corner timing, activity-based power"
	@echo "  make gds                  place, route, DRC, LVS to GDS (FLOW=openlane for OpenLane 2)"
	@echo "  make ppa                  sweep, table, plots and reports/index.html (refreshes the committed snapshot)"
	@echo "  make dse                  design-space grid on Dask: ARCH= ENCODING= WBITS=1,2 ABITS=1,2 N=8,16 CLOCK_NS=10 (or GRID=file.toml)"
	@echo "                            MODEL_ONLY=1, MAX_POINTS=, GDS=pareto|top-K -> reports/dse.csv, dse.json, dse/*.png"
	@echo "  make qnn                  accuracy vs bit-width on the digits data set"
	@echo "  make bench                benchmark scripts"
	@echo ""
	@echo "  spec: BITS WBITS ABITS N ARCH=parallel|serial|baseline POPCOUNT=dadda|wallace ADDER=abc|fa ENCODING=pm1|twos"
	@echo "  (make verify ENCODING=twos: the default regression in the twos encoding)"

# deps, debian-deps, demo and test (the README's two set-up commands) install missing Debian packages (apt-get,
# as root); every other target only checks and
# prints the command to run (it installs only under CI=true, as .ci/run does on a fresh machine)
deps: debian-deps $(STAMP)

debian-deps:
	@scripts/deps.sh debian

check-deps: $(STAMP)
	@scripts/deps.sh check

$(STAMP): pyproject.toml
	@scripts/deps.sh python

rtl: $(STAMP)
	@$(PY) -m rtl $(SPEC)

verify: check-deps
	@$(PY) -m verif $(SPEC) --sim '$(SIM)' --waves '$(WAVES)' --fast '$(FAST)' --junit '$(JUNIT)'

synth sta power: check-deps
	@$(PY) -m flow $@ $(SPEC) $(FLOWARGS)

gds: check-deps
	@BITBRANCH_ROUTE_JOBS='$(ROUTE_JOBS)' $(PY) -m flow gds $(SPEC) $(FLOWARGS) --flow '$(FLOW)'

ppa: check-deps
	@BITBRANCH_ROUTE_JOBS='$(ROUTE_JOBS)' $(PY) -m reports ppa --jobs '$(JOBS)'

dse: check-deps
	@$(PY) -m reports dse --grid '$(GRID)' --archs '$(ARCH)' --encodings '$(ENCODING)' \
	  --wbits '$(if $(WBITS),$(WBITS),$(BITS))' --abits '$(if $(ABITS),$(ABITS),$(BITS))' --pairs '$(PAIRS)' \
	  --n '$(N)' --clock-ns '$(CLOCK_NS)' $(if $(filter 1,$(MODEL_ONLY)),--model-only) --max-points '$(MAX_POINTS)' \
	  --gds '$(GDS)' --jobs '$(DSE_JOBS)' --root '$(DSE_ROOT)'

qnn: check-deps
	@$(PY) -m reports.qnn

demo: deps
	@BITBRANCH_ROUTE_JOBS='$(ROUTE_JOBS)' $(PY) -m reports demo --jobs '$(JOBS)'

test: deps
	@$(PY) -m pytest

test-fast: $(STAMP)
	@$(PY) -m pytest -m "not slow"

lint: $(STAMP)
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/lint-imports

bench: check-deps
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf build .pytest_cache .hypothesis
