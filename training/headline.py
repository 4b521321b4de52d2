"""The run's headline metrics, under the stable names researchers compare runs by.

Every ``*_corrected`` value is the validated performance of the whole modelling procedure, by
the estimator named in the run's ``validation.method`` tag (:mod:`training.assessment`):
``nested_cv`` (repeated cross-validation around the procedure) or ``bootstrap`` (Harrell's
optimism correction). Each comes with ``*_ci_low`` / ``*_ci_high`` and ``*_mc_error`` (its
Monte-Carlo error from the finite number of resamples). ``*_apparent`` is the champion scored on
its own training patients: optimistic by construction, shown for contrast only. ``outcome_rate``
is the share of the analysed cohort with the outcome (the base rate).
"""

from __future__ import annotations

from ssc_response.training.assessment import BINARY, score
from ssc_response.training.config import ExperimentConfig
from ssc_response.training.experiment import Cohort, FinalModel, Validation


def validation_description(config: ExperimentConfig) -> str:
    """How the headline numbers were estimated, in words (run summary, README, card)."""
    v = config.validation
    inner = f"{v.inner_splits}-fold grouped inner cross-validation"
    if v.method == "nested_cv":
        repeats = "repeat" if v.cv_repeats == 1 else "repeats"
        return (f"nested cross-validation: {v.cv_splits}-fold outer x {v.cv_repeats} {repeats} "
                f"around the whole procedure ({inner} inside)")
    return (f"Harrell's bootstrap optimism correction: the whole procedure ({inner} inside) "
            f"refitted in each of {v.bootstrap} bootstrap resamples")


def headline_metrics(validation: Validation, final: FinalModel, cohort: Cohort,
                     config: ExperimentConfig) -> dict[str, float]:
    """Validated, apparent and comparison metrics of a run, as plain floats."""
    estimates = validation.assessment.estimates
    metrics: dict[str, float] = {}
    for name in (*BINARY, "delta_mae", "delta_r2"):
        estimate = estimates[name]
        metrics |= {f"{name}_corrected": estimate.value,
                    f"{name}_corrected_ci_low": estimate.low,
                    f"{name}_corrected_ci_high": estimate.high,
                    f"{name}_corrected_mc_error": estimate.mc_error}
    if not config.outcome.is_binary:  # the continuous outcome's own headline
        metrics |= {"mae_corrected": estimates["delta_mae"].value,
                    "r2_corrected": estimates["delta_r2"].value}
    apparent = score(cohort.y, final.procedure.probability(cohort.X), cohort.delta,
                     final.procedure.predicted_delta(cohort.X))
    metrics |= {f"{name}_apparent": value for name, value in apparent.items()}
    metrics["validation_resamples"] = float(validation.assessment.resamples)
    # The base rate a clinician reads a patient's probability against (the result page).
    metrics["outcome_rate"] = float(cohort.y.mean())
    metrics["probability_interval_members"] = float(final.probability_interval.n_members)
    metrics |= validation.comparison
    return {name: float(value) for name, value in metrics.items()}
