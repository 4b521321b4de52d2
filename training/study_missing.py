"""Does the missing-data range hold the answer the patient's true values would give?

The service answers a patient with blank model fields with a range (``missing_data``,
:mod:`models.missing_range`): the probability over stochastic imputations of the blank fields.
In the simulation the values behind the blanks are known. The range is checked against the
probability the *same* model gives at the patient's true, pre-blanking values: the question the
range answers is "what would the model say if these fields had been recorded", not what the
true risk is (that is the probability interval's question, :mod:`training.study`).

Only patients with at least one blank field the model reads have a range; their number is
reported beside the coverage.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from ssc_response.training.config import ExperimentConfig
from ssc_response.training.experiment import Cohort, FinalModel
from ssc_response.training.packaging import package


def range_coverage(at_true_values: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                   has_range: np.ndarray) -> dict[str, float]:
    """Coverage and median width of the ranges of the patients that have one.

    ``at_true_values``: the model's probability at each patient's true values; ``lower`` and
    ``upper``: the range's bounds (ignored where ``has_range`` is false: nothing blank).
    Bounds are inclusive. With no patient having a range, coverage and width are NaN.
    """
    rows = np.asarray(has_range, dtype=bool)
    count = int(rows.sum())
    if not count:
        return {"missing_range_coverage": float("nan"), "missing_range_width_median": float("nan"),
                "missing_range_patients": 0}
    truth, low, high = (np.asarray(a, dtype=float)[rows] for a in (at_true_values, lower, upper))
    return {
        "missing_range_coverage": float(np.mean((truth >= low) & (truth <= high))),
        "missing_range_width_median": float(np.median(high - low)),
        "missing_range_patients": count,
    }


def missing_range_performance(final: FinalModel, cohort: Cohort, config: ExperimentConfig,
                              X: pd.DataFrame, X_complete: pd.DataFrame) -> dict[str, float]:
    """The served bundle's missing-data ranges for ``X`` (fresh patients, with blanks) against
    the champion's probability at ``X_complete`` (the same rows, nothing blank)."""
    bundle = package(final, cohort, config, metadata={})
    ranges = bundle.missing_ranges(bundle.encode(X))
    has_range = np.array([r is not None for r in ranges], dtype=bool)
    lower = np.array([np.nan if r is None else r.lower for r in ranges], dtype=float)
    upper = np.array([np.nan if r is None else r.upper for r in ranges], dtype=float)
    at_true_values = expit(final.procedure.classifier.decision_function(X_complete))
    return range_coverage(np.asarray(at_true_values, dtype=float), lower, upper, has_range)
