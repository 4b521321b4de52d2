"""Small fitted bundles for model-layer tests: the training procedure of one family, packaged.

The same path as ``ssc-response train`` (``fit_final`` then ``package``) without the validation
and the tracking: the bundle's parts are the fitted objects a run would serve.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ssc_response.models.bundle import ResponseModel
from ssc_response.training.config import ExperimentConfig, UncertaintyConfig, ValidationConfig
from ssc_response.training.experiment import fit_final, prepare_cohort
from ssc_response.training.packaging import package


def fit_bundle(frame: pd.DataFrame, family_name: str, metadata: dict[str, Any] | None = None,
               members: int = 5, inner_splits: int = 4, **config: Any) -> ResponseModel:
    """One family's procedure fitted on ``frame`` and packaged (few bootstrap members: the
    shapes and types, not the interval's quality)."""
    experiment = ExperimentConfig(
        name="test-bundle", estimators={family_name: {}},
        uncertainty=UncertaintyConfig(bootstrap_models=members),
        validation=ValidationConfig(inner_splits=inner_splits, n_jobs=1), **config)
    cohort = prepare_cohort(frame, experiment)
    return package(fit_final(cohort, experiment), cohort, experiment, metadata or {})
