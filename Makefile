# Two commands for a fresh clone:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# One lock per use, exact versions with hashes (uv pip compile); `make lock` re-creates all three
# after a dependency changes in pyproject.toml. The other two are constrained by the runtime lock,
# so a package has the same version in all of them.
RUNTIME_LOCK := requirements-runtime.lock# the service image (Dockerfile): dependencies + postgres
DEV_LOCK := requirements.lock# what make installs: runtime, every extra and the dev tools
SPARK_LOCK := requirements-spark.lock# a Spark batch host: runtime + spark
LOCK_FLAGS := --generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_28
# Code and contract tests without a browser, Spark, PostgreSQL, trained-model behaviour or
# end-to-end servers (markers: pyproject.toml, tests/conftest.py).
FAST := not slow and not model and not postgres and not spark

.PHONY: setup demo stack test test-fast typecheck bench bench-scale lock

$(BIN)/ssc-response: pyproject.toml $(DEV_LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(DEV_LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

setup: $(BIN)/ssc-response

lock: setup
	$(BIN)/uv pip compile --quiet pyproject.toml --extra postgres $(LOCK_FLAGS) -o $(RUNTIME_LOCK)
	$(BIN)/uv pip compile --quiet pyproject.toml --extra postgres --extra spark -c $(RUNTIME_LOCK) \
		$(LOCK_FLAGS) -o $(SPARK_LOCK)
	$(BIN)/uv pip compile --quiet pyproject.toml --all-extras -c $(RUNTIME_LOCK) $(LOCK_FLAGS) \
		-o $(DEV_LOCK)

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

# Everything, CI's command (.ci/run installs PostgreSQL, Java and Chromium first).
test: setup typecheck
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest

# While you work: lint and the fast tests.
test-fast: setup
	$(BIN)/ruff check .
	$(BIN)/pytest -m "$(FAST)"

bench: setup
	$(BIN)/python benchmarks/bench_features.py
	$(BIN)/python benchmarks/bench_training.py
	$(BIN)/python benchmarks/bench_serving.py
	$(BIN)/python benchmarks/bench_pages.py

# Beyond one machine: pandas vs Spark local[2] batch scoring, 1 worker SQLite vs 2 PostgreSQL.
bench-scale: setup
	$(BIN)/python benchmarks/bench_batch.py --n 100000
	$(BIN)/python benchmarks/bench_workers.py
