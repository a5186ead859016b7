# funksvd: everything a fresh machine needs (python3.11 + pip + make) is set up from here.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
JOBS   ?= 2

.PHONY: demo test lint pytest docs check bench bench-peers clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The demo needs the package and TensorFlow (one of its two gradient oracles).
$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[tf,progress,symbolic]"
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.demo-installed

## make demo: set up and run the demo on the embedded toy data
demo: $(VENV)/.demo-installed
	$(BIN)/funksvd demo

## make test: set up, lint and type-check, run the whole test suite, build the docs (warnings are errors)
##   make test PYTEST_ARGS='-m "not slow"'   skips the slow tests (see README)
test: lint pytest docs

## make lint: ruff (rules and line length in pyproject.toml) and mypy on the package (0 errors, default mode)
lint: $(VENV)/.dev-installed
	$(BIN)/ruff check funksvd tests benchmarks tutorials
	$(BIN)/mypy

PYTEST_ARGS ?=
pytest: $(VENV)/.dev-installed
	$(BIN)/python -m pytest -n $(JOBS) --durations=15 $(PYTEST_ARGS)

## make docs: build the site into docs/_build/html (runs every tutorial; open index.html, no network needed)
docs: $(VENV)/.dev-installed
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

## make check: every hand-derived gradient against TensorFlow and finite differences
check: $(VENV)/.demo-installed
	$(BIN)/funksvd check

# LibMF's pip build compiles without SIMD; rebuilt here with its own AVX kernels (-DUSEAVX)
$(VENV)/.bench-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	CFLAGS="-O3 -march=native -DUSEAVX" $(BIN)/python -m pip install --quiet --no-cache-dir --no-binary libmf "libmf==0.9.2"
	touch $@

# LensKit 0.14 needs numba < 0.59 and numpy < 2: its own venv, run by bench_peers.py as a subprocess
LENSKIT_VENV := benchmarks/.venv-lenskit
$(LENSKIT_VENV)/.installed: benchmarks/requirements-lenskit.txt
	$(PYTHON) -m venv $(LENSKIT_VENV)
	$(LENSKIT_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LENSKIT_VENV)/bin/python -m pip install --quiet -r benchmarks/requirements-lenskit.txt
	touch $@

## make bench-peers: funksvd against Surprise, cornac and LensKit in one run (benchmarks/bench_peers.py)
bench-peers: $(VENV)/.bench-installed $(LENSKIT_VENV)/.installed
	$(BIN)/python benchmarks/bench_peers.py

## make bench: the benchmarks against Surprise, the peers, accuracy, scale (10M) and TensorFlow; see benchmarks/RESULTS.md
bench: $(VENV)/.bench-installed $(LENSKIT_VENV)/.installed
	$(BIN)/python benchmarks/bench_surprise.py
	$(BIN)/python benchmarks/bench_peers.py
	$(BIN)/python benchmarks/bench_accuracy.py
	$(BIN)/python benchmarks/bench_scale.py --n-ratings 10000000 --shuffle blocks
	$(BIN)/python benchmarks/bench_tensorflow.py

clean:
	rm -rf docs/_build docs/auto_tutorials docs/gen_modules .pytest_cache .hypothesis build *.egg-info
