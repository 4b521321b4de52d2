"""The MLflow pyfunc face of the model, so any MLflow tool can load and call it.

Logged as *models from code* (``models/pyfunc_entry.py``): the artifact holds code plus skops,
Parquet and JSON files, never a pickle. ``predict`` takes the data dictionary's columns and returns
one row per patient.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from mlflow.pyfunc import PythonModel

from ssc_response.models.serialization import load_bundle
from ssc_response.models.tabular import score_frame


class SkinResponsePyfunc(PythonModel):
    """Loads the bundle from the ``bundle`` artifact; predicts a flat table."""

    def load_context(self, context: Any) -> None:
        self._model = load_bundle(context.artifacts["bundle"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        return score_frame(self._model, pd.DataFrame(model_input))
