"""What an explanation says beside each number: imputed values, small subgroups, model spread.

* An imputed field is shown at the value the imputation gave it (in clinical units, a yes/no as
  yes or no, a category as its level) and marked ``imputed``: its contribution is that value's,
  never a credit for "not recorded" (with the default pipeline there is no missing-indicator
  feature, so additivity holds with the imputed values).
* A contribution of a yes/no or category field whose level fewer than
  :data:`SMALL_SUBGROUP` training patients shared gets a note ("12 men in the training
  cohort"): the model's estimate for that level rests on few patients.
* The probability interval is described for what it is: the spread of the probability across
  the models refitted on bootstrap resamples of the training cohort (estimation uncertainty),
  not an interval with a measured coverage of the patient's true probability.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ssc_response.features import schema
from ssc_response.features.pipeline import FeatureSpec, imputed_values
from ssc_response.models.summary import TrainingSummary

SMALL_SUBGROUP = 20  # fewer training patients than this with a level: the reason gets a note
_SEX_WORDS = {"M": ("man", "men"), "F": ("woman", "women")}


def shown_values(with_indices: pd.DataFrame, imputed: pd.DataFrame,
                 spec: FeatureSpec) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The fields as the explanation shows them (blank model fields at their imputed value) and,
    per field, which rows were imputed (nothing copied when every model field is recorded)."""
    names = [n for n in spec.fields if n in with_indices.columns]
    blank = with_indices[names].isna().to_numpy()
    if not blank.any():
        return with_indices, {}
    values = imputed_values(imputed, spec)
    shown = with_indices.copy()
    was_imputed: dict[str, np.ndarray] = {}
    for j, name in enumerate(names):
        if name in values and blank[:, j].any():
            was_imputed[name] = blank[:, j]
            column = shown[name].astype(object)
            column[blank[:, j]] = values[name][blank[:, j]]
            shown[name] = column
    return shown, was_imputed


def annotate(explanations: list[dict[str, Any]], was_imputed: Mapping[str, np.ndarray],
             summary: TrainingSummary) -> list[dict[str, Any]]:
    """Each contribution with ``imputed`` (bool) and ``note`` (a small subgroup, or None)."""
    for i, explanation in enumerate(explanations):
        for item in explanation["contributions"]:
            name = item["feature"]
            flags = was_imputed.get(name)
            item["imputed"] = bool(flags[i]) if flags is not None else False
            item["note"] = subgroup_note(summary, name, item["value"])
    return explanations


def subgroup_note(summary: TrainingSummary, name: str, value: object) -> str | None:
    """"12 men in the training cohort" when fewer than :data:`SMALL_SUBGROUP` training
    patients had this level of a yes/no or category field; else ``None``."""
    counts = summary.level_counts.get(name)
    if counts is None or value is None:
        return None
    level = _level_key(value)
    n = int(counts.get(level, 0))
    if n >= SMALL_SUBGROUP:
        return None
    if name == "sex" and level in _SEX_WORDS:
        one, many = _SEX_WORDS[level]
        return f"{n} {one if n == 1 else many} in the training cohort"
    field = schema.fields().get(name)
    if field is not None and field.type == "boolean":
        said = "yes" if level == "True" else "no"
        return f"{n} training patients with {name} = {said}"
    return f"{n} training patients with {name} = {level}"


def _level_key(value: object) -> str:
    """A level as :meth:`TrainingSummary.from_frame` counts it ('True'/'False', category text)."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | int) and not isinstance(value, bool):
        return str(bool(value))  # a yes/no carried as 1.0 / 0.0
    return str(value)


def uncertainty_words(interval: dict[str, Any], members: int) -> dict[str, Any]:
    """The probability interval with its own words (``basis``)."""
    level = float(interval["level"])
    return interval | {"basis": (
        f"model uncertainty: across {members} models refitted on resampled training cohorts, "
        f"the probability's central {100 * level:.0f} % spread was "
        f"{100 * interval['lower']:.0f}-{100 * interval['upper']:.0f} % (a normal spread of "
        "their log-odds); it is not a range the patient's true probability is known to fall in")}
