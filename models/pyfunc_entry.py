"""Entry file for MLflow "models from code": MLflow runs it to build the pyfunc model."""

import mlflow.models

from models.pyfunc import SkinResponsePyfunc

mlflow.models.set_model(SkinResponsePyfunc())
