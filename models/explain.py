"""Per-patient explanations, grouped back to the input fields a clinician entered.

SHAP values are computed on the model features (``sex_M``, ``missingindicator_crp_mg_l``, ...)
and then summed within each input field, so a one-hot category or a value with its missing
indicator reads as one line. Additivity is kept: ``base_value + sum(contributions)`` equals the
model output in ``output_space``.

How each kind of estimator is attributed (exact where its structure allows, else sampled) is
:mod:`models.attribution`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from ssc_response.models.attribution import make_attributor


@dataclass
class Contribution:
    """One input field's share of a prediction (summed over its model features)."""

    feature: str
    value: object
    unit: str
    contribution: float


@dataclass
class Explanation:
    """Why one patient got their prediction: ``base_value + sum(contributions) == output_value``."""

    base_value: float
    output_space: str
    output_value: float
    contributions: list[Contribution]

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready dictionary (contributions stay sorted by importance)."""
        return asdict(self)


class GroupedExplainer:
    """SHAP explanations of a fitted estimator, summed per input field.

    Built once at server start-up (not serialised); every call explains a batch of rows with one
    SHAP computation.

    Parameters
    ----------
    estimator : fitted estimator
        The final step of the model pipeline (binary classifier or ΔmRSS regressor).
    background : pandas.DataFrame
        The transformed training matrix (model features, in the estimator's column order).
    field_of : callable
        Maps a model feature name (``sex_M``) to its input field (``sex``).
    units : mapping
        Unit of each input field (fields missing from the mapping get ``""``).
    max_background : int, default=100
        Upper bound on background rows for the sampling fallback (which uses at most 50). Linear
        models use the mean of the whole background; trees use the training data in the trees.
    seed : int, default=0
        Seed for background sampling and permutations.

    Attributes
    ----------
    output_space : str
        ``"logit"``, ``"probability"`` or ``"delta_mrss"``: the scale of base and contributions.
    feature_names : list of str
        Model features, in column order.
    fields : list of str
        Input fields, in order of first appearance among the model features.
    """

    def __init__(
        self,
        estimator: Any,
        background: pd.DataFrame,
        field_of: Callable[[str], str],
        units: Mapping[str, str],
        max_background: int = 100,
        seed: int = 0,
    ) -> None:
        self.feature_names = [str(c) for c in background.columns]
        feature_fields = [field_of(name) for name in self.feature_names]
        self.fields = list(dict.fromkeys(feature_fields))
        self._units = [units.get(field, "") for field in self.fields]
        position = {field: j for j, field in enumerate(self.fields)}
        # 0/1 matrix (features x fields): grouping a whole batch is then one matmul.
        self._grouping = np.zeros((len(self.feature_names), len(self.fields)))
        self._grouping[np.arange(len(feature_fields)), [position[f] for f in feature_fields]] = 1.0
        self._attribute = make_attributor(estimator, background, max_background, seed)
        self.output_space: str = self._attribute.output_space

    def shap_values(self, transformed: pd.DataFrame | np.ndarray) -> tuple[float, np.ndarray]:
        """Base value and per-model-feature SHAP matrix (rows x ``feature_names``)."""
        return self._attribute(self._matrix(transformed))

    def grouped_shap_values(self, transformed: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """SHAP values summed per input field (rows x ``fields``)."""
        _, values = self.shap_values(transformed)
        index = transformed.index if isinstance(transformed, pd.DataFrame) else None
        return pd.DataFrame(values @ self._grouping, index=index, columns=self.fields)

    def explain(
        self, transformed: pd.DataFrame | np.ndarray, raw: pd.DataFrame
    ) -> list[Explanation]:
        """One explanation per row, contributions sorted by absolute size.

        Parameters
        ----------
        transformed : pandas.DataFrame or ndarray
            Model features for the batch (the preprocessor's output). A frame's columns are
            checked against ``feature_names``; a bare matrix (rows x features) is taken to be in
            that order, as the fitted feature pipeline produces it.
        raw : pandas.DataFrame
            The same rows, in the same order, as validated input fields plus derived indices.
            Supplies the value shown beside each contribution, as a plain Python value (a
            float64 column gives floats, an object column its objects), ``None`` when missing
            or when ``raw`` lacks the field.

        Returns
        -------
        list of Explanation
            One per row, in row order; each has one contribution per input field.
        """
        base, outputs, ranked = self._ranked(transformed, raw)
        space, fields, units = self.output_space, self.fields, self._units
        return [
            Explanation(base, space, output,
                        [Contribution(fields[j], shown[j], units[j], row[j]) for j in order])
            for output, (order, row, shown) in zip(outputs, ranked, strict=True)
        ]

    def explain_dicts(
        self, transformed: pd.DataFrame | np.ndarray, raw: pd.DataFrame
    ) -> list[dict[str, Any]]:
        """``[e.to_dict() for e in self.explain(transformed, raw)]``, built without the objects.

        What the service returns and records: a batch of 8 patients has ~500 contributions, and
        making each an object, then a dict, cost ~0.2 ms.
        """
        base, outputs, ranked = self._ranked(transformed, raw)
        space, fields, units = self.output_space, self.fields, self._units
        return [
            {"base_value": base, "output_space": space, "output_value": output,
             "contributions": [{"feature": fields[j], "value": shown[j], "unit": units[j],
                                "contribution": row[j]} for j in order]}
            for output, (order, row, shown) in zip(outputs, ranked, strict=True)
        ]

    def _ranked(
        self, transformed: pd.DataFrame | np.ndarray, raw: pd.DataFrame
    ) -> tuple[float, list[float], list[tuple[list[int], list[float], tuple[object, ...]]]]:
        """Base value, per row its output, and per row (the fields' positions, the largest
        contribution in absolute size first; the contribution and shown value of each field)."""
        if len(raw) != len(transformed):
            raise ValueError(f"raw has {len(raw)} rows but transformed has {len(transformed)}.")
        base, values = self.shap_values(transformed)
        grouped = values @ self._grouping
        outputs = (base + values.sum(axis=1)).tolist()
        order = np.argsort(-np.abs(grouped), axis=1, kind="stable").tolist()
        shown_by_row = list(zip(*self._shown_columns(raw), strict=True))
        return base, outputs, list(zip(order, grouped.tolist(), shown_by_row, strict=True))

    def _shown_columns(self, raw: pd.DataFrame) -> list[list[object]]:
        """Per field, its value in every row as a plain Python value (``None`` when missing or
        when ``raw`` lacks the field): one object conversion for the whole frame."""
        given = [f for f in dict.fromkeys(self.fields) if f in raw.columns]
        block = raw[given].to_numpy(dtype=object)
        block[pd.isna(block)] = None
        values = dict(zip(given, block.T.tolist(), strict=True))
        absent: list[object] = [None] * len(raw)
        return [values.get(f, absent) for f in self.fields]

    def _matrix(self, transformed: pd.DataFrame | np.ndarray) -> np.ndarray:
        if isinstance(transformed, np.ndarray):
            if transformed.ndim != 2 or transformed.shape[1] != len(self.feature_names):
                raise ValueError(f"Expected a matrix of {len(self.feature_names)} model features; "
                                 f"received shape {transformed.shape}.")
            return np.asarray(transformed, dtype=float)
        received = [str(c) for c in transformed.columns]
        if received != self.feature_names:
            raise ValueError(f"Expected model features {self.feature_names}; received {received}.")
        return transformed.to_numpy(dtype=float, na_value=np.nan)

