"""Entry file for MLflow "models from code": MLflow runs it to build the pyfunc model."""

import mlflow.models

from ssc_response.models.pyfunc import SkinResponsePyfunc

mlflow.models.set_model(SkinResponsePyfunc())
