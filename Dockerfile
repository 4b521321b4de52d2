# The image of compose.yaml's `mlflow` and `service`: the runtime lock only (the dependencies and
# the postgres extra, exact versions with hashes) and the project installed as a package, not
# editable: no test or build tools (pytest, mypy, Playwright, uv, pyspark) and no source tree.
FROM python:3.11-slim
WORKDIR /build
COPY requirements-runtime.lock ./
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements-runtime.lock
COPY pyproject.toml README.md ./
COPY features features
COPY models models
COPY training training
COPY serving serving
COPY cli cli
COPY experiments experiments
RUN pip install --no-cache-dir --no-deps . \
    && cd / && rm -rf /build \
    && useradd --create-home ssc
WORKDIR /home/ssc
USER ssc
