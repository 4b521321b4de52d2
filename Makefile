# Two commands for a fresh clone:  `make demo`  and  `make test`.
# Installs come from requirements.lock (exact versions with hashes); `make lock` re-creates it
# after a dependency changes in pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCK := requirements.lock
LOCK_FLAGS := --extra dev --extra postgres --extra spark --generate-hashes --python-version 3.11 \
	--python-platform x86_64-manylinux_2_28

.PHONY: setup demo stack test typecheck lint bench bench-scale lock

$(BIN)/ssc-response: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

setup: $(BIN)/ssc-response

lock: setup
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) -o $(LOCK)

# `make demo PORT=8001` serves on another port (passed to `ssc-response demo --port`).
demo: setup
	$(BIN)/ssc-response demo $(if $(PORT),--port $(PORT))

# PostgreSQL (this machine's binaries), an MLflow server on it and `serve --workers 2`; Ctrl-C stops.
stack: setup
	$(BIN)/ssc-response stack

# mypy reads the folders by their installed names (ssc_response.features, ...) through links.
TYPECHECK := build/typecheck/ssc_response
typecheck: setup
	mkdir -p $(TYPECHECK)
	for p in features models training serving cli experiments; do ln -sfn ../../../$$p $(TYPECHECK)/$$p; done
	$(BIN)/mypy

test: setup typecheck
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest

bench: setup
	$(BIN)/python benchmarks/bench_features.py
	$(BIN)/python benchmarks/bench_training.py
	$(BIN)/python benchmarks/bench_serving.py
	$(BIN)/python benchmarks/bench_pages.py

# Beyond one machine: pandas vs Spark local[2] batch scoring, 1 worker SQLite vs 2 PostgreSQL.
bench-scale: setup
	$(BIN)/python benchmarks/bench_batch.py --n 100000
	$(BIN)/python benchmarks/bench_workers.py
