# wmplan: two commands for a fresh machine.
#   make demo   set up (system GL libraries, .venv, package) and run the main job
#   make test   set up and run the default test suite (slow tests excluded)

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.wmplan-installed
# Torch first and pinned: here 2.13.0 resolves to a local CPU wheel; an unpinned
# torch would pull the CUDA build (GBs). Users with CUDA bring their own torch.
TORCH_SPEC ?= torch==2.13.0
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
# Some machines' pip configs list local indexes that do not exist; hide that noise.
QUIET := 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }

.PHONY: demo test test-all lint setup system-deps compare-venv perf mutation clean

demo: setup
	$(VENV)/bin/wmplan demo

# One pytest worker per core (pytest-xdist); a file's tests stay on one worker, so its
# module fixtures are built once. TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= auto

test: setup
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

test-all: setup
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "slow or not slow"

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

setup: system-deps $(STAMP)

# Headless OpenGL: EGL (Mesa) preferred, OSMesa as fallback. Installed with apt-get
# when missing and we are root; otherwise say what to install.
system-deps:
	@bash scripts/system-deps.sh

$(STAMP): setup.cfg pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing into $(VENV) (first time: a few minutes)"
	$(PIP) install -q --upgrade "pip>=23" "setuptools>=68" wheel $(QUIET)
	$(PIP) install -q "$(TORCH_SPEC)" $(QUIET)
	$(PIP) install -q -e ".[dev]" $(QUIET)
	@touch $(STAMP)

# Side venv for benchmarks/perf/planner.py's comparison with stable-worldmodel.
compare-venv:
	bash benchmarks/perf/compare_venv.sh

perf: setup
	$(PY) benchmarks/perf/render.py

# Mutation score of the modules that make published numbers (a benchmark, not a test:
# CPU-heavy, about an hour on 2 busy cores for all ~1,100 mutants). MUTATION_ARGS
# passes options, e.g. make mutation MUTATION_ARGS="--modules stats,sigreg --sample 40".
MUTATION_ARGS ?=
mutation: setup
	OMP_NUM_THREADS=1 nice -n 19 $(PY) benchmarks/perf/mutation.py --out runs/mutation.json $(MUTATION_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
