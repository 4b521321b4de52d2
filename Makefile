# Two commands for a fresh clone:  `make demo`  and  `make test`.
# Installs come from requirements.lock (exact versions with hashes); `make lock` re-creates it
# after a dependency changes in pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCK := requirements.lock
LOCK_FLAGS := --extra dev --extra postgres --extra spark --generate-hashes --python-version 3.11 \
	--python-platform x86_64-manylinux_2_28

.PHONY: setup demo test lint bench lock

$(BIN)/ssc-response: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

setup: $(BIN)/ssc-response

lock: setup
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) -o $(LOCK)

demo: setup
	$(BIN)/ssc-response demo

test: setup
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

bench: setup
	$(BIN)/python benchmarks/bench_features.py
	$(BIN)/python benchmarks/bench_training.py
	$(BIN)/python benchmarks/bench_serving.py
