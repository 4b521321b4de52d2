"""The final model packaged for serving: what :class:`models.bundle.ResponseModel` holds.

Nothing is refitted here: the served objects are the fitted ones that validation repeated and
the final fit produced (``training.experiment.FinalModel``). One rearrangement only: when the
champion is the ΔmRSS model, no second copy of it is stored, and the bundle reads the change from
the champion itself. The CV+ interval is stored as fitted: its fold estimators read the ΔmRSS
model's features, which the bundle computes once per request for the change and its interval.
"""

from __future__ import annotations

from typing import Any

from ssc_response.models.bundle import ResponseModel
from ssc_response.models.summary import TrainingSummary
from ssc_response.training.candidates import DELTA_FAMILY
from ssc_response.training.config import ExperimentConfig
from ssc_response.training.experiment import Cohort, FinalModel

BACKGROUND_ROWS = 100  # the explainer's background: enough for a stable mean, small to store


def package(final: FinalModel, cohort: Cohort, config: ExperimentConfig,
            metadata: dict[str, Any]) -> ResponseModel:
    """The served bundle of ``final``, with provenance ``metadata`` (experiment, data, run)."""
    procedure = final.procedure
    if procedure.conformal is None:
        raise ValueError("the final procedure was fitted without its CV+ interval")
    features = procedure.classifier.named_steps["preprocess"].transform(cohort.X)
    spec = config.features()
    one_model = procedure.chosen.family == DELTA_FAMILY
    return ResponseModel(
        classifier=procedure.classifier,
        delta_model=None if one_model else procedure.delta_model,
        probability_members=final.probability_interval,
        delta_cv_plus=procedure.conformal,
        background=features.sample(n=min(BACKGROUND_ROWS, len(features)),
                                   random_state=config.validation.seed),
        summary=TrainingSummary.from_frame(cohort.X, list(spec.fields)),
        missing_draws=final.missing_draws,
        metadata=metadata | {
            "family": procedure.chosen.family,
            "champion": procedure.chosen.label,
            "delta_model": procedure.delta_candidate.label,
            "recalibration_intercept": procedure.recalibration[0],
            "recalibration_slope": procedure.recalibration[1],
            "feature_fields": list(spec.fields),
            "derived_indices": spec.derived_indices,
            "probability_interval_level": config.uncertainty.probability_interval_level,
            "probability_interval_members": final.probability_interval.n_members,
            "delta_interval_level": config.uncertainty.delta_interval_level,
            "delta_interval_guaranteed_coverage": procedure.conformal.guaranteed_coverage(
                config.uncertainty.delta_interval_level),
            "missing_indicators": spec.missing_indicators,
            "missing_draws": config.missing_data.draws,
            "max_missing_range_width": config.missing_data.max_range_width,
            "required_fields": list(config.missing_data.required),
            "population": config.population.rules().to_json(),
            "population_text": config.population.rules().describe(),
            "n_out_of_scope": cohort.n_out_of_scope,
        },
    )
