# pfps_stats: `make help` lists the targets. Each target sets up .venv itself when needed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Stamps record what was installed; they are rebuilt when pyproject.toml changes. Each install
# also installs the notebooks' kernel, "Python (pfps_stats)" (pfps-stats), into .venv.
BASE_STAMP := $(VENV)/.installed-base
DEV_STAMP := $(VENV)/.installed-dev
# `make lab LAB_ARGS="--no-browser --port=8890"` passes options on to JupyterLab.
LAB_ARGS ?=
# `make test` runs the test files on this many processes (pytest-xdist, a file per process at
# a time); `make test TEST_WORKERS=0` runs them in this one.
TEST_WORKERS ?= 2

.DEFAULT_GOAL := help
.PHONY: help report test lint format lab bench figures demo-data clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "pfps_stats needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(BASE_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name pfps-stats --display-name "Python (pfps_stats)" >/dev/null
	@touch $@

$(DEV_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name pfps-stats --display-name "Python (pfps_stats)" >/dev/null
	@touch $@ $(BASE_STAMP)

report: $(BASE_STAMP) ## set up .venv and build the report site from the demo data (reports/index.html)
	$(BIN)/pfps-stats report run reports.yml

test: $(DEV_STAMP) ## set up .venv with dev extras, lint, and run the test suite
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/ruff format --check src tests benchmarks docs
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; rc=0; fi; exit $$rc

lint: $(DEV_STAMP) ## ruff lint and format check
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/ruff format --check src tests benchmarks docs

format: $(DEV_STAMP) ## apply ruff's formatting and safe fixes
	$(BIN)/ruff format src tests benchmarks docs
	$(BIN)/ruff check --fix src tests benchmarks docs

lab: $(BASE_STAMP) ## JupyterLab on notebooks/00-start-here.ipynb (the tour), "Python (pfps_stats)" kernel
	$(BIN)/jupyter lab --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/notebooks/00-start-here.ipynb $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

bench: $(DEV_STAMP) ## run the benchmarks (side-by-side timings against a baseline)
	@ls benchmarks/bench_*.py >/dev/null 2>&1 || { echo "no benchmarks yet"; exit 0; }; \
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

figures: $(BASE_STAMP) ## render every figure on the demo cohort into docs/figures
	$(BIN)/python docs/figures/make_figures.py

demo-data: $(BASE_STAMP) ## regenerate the shipped SYNTHETIC demo cohort, training log and injuries in src/pfps_stats/data (fixed seeds)
	$(BIN)/pfps-stats simulate --demo --out src/pfps_stats/data/demo_cohort.csv
	$(BIN)/python -c "from pfps_stats.exposures.synthetic import write_demo_training; write_demo_training()"

clean: ## remove .venv and generated reports
	rm -rf $(VENV) reports/*.html reports/*.ipynb reports/manifest.json reports/.run-*
