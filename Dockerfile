# The image of compose.yaml's `mlflow` and `service`: exactly the locked dependencies.
FROM python:3.11-slim
WORKDIR /app
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY features features
COPY models models
COPY training training
COPY serving serving
COPY cli cli
COPY experiments experiments
RUN pip install --no-cache-dir --no-deps -e . && useradd --create-home ssc
USER ssc
