"""What the training data looked like: ranges, medians, levels and missing shares per field.

Stored in the served bundle (``summary.json``) to flag inputs the model has not seen
(:mod:`models.input_checks`) and to build the synthetic parity probes (:mod:`models.parity`).
Aggregates only: no patient row is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ssc_response.features import schema


@dataclass
class TrainingSummary:
    """Per-field aggregates of the training cohort.

    ``quantiles`` holds the 10th, 50th and 90th percentiles of each numeric field (absent from
    bundles made before it existed).
    """

    n_patients: int
    numeric_ranges: dict[str, tuple[float, float]]
    medians: dict[str, float]
    categories: dict[str, list[str]]
    missing_share: dict[str, float]
    quantiles: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    # Patients per level of each yes/no ('True'/'False') and category field (small subgroups).
    level_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    # 5th and 95th percentiles of each numeric field.
    central: dict[str, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, used_fields: list[str]) -> TrainingSummary:
        """Aggregate the ``used_fields`` columns of a validated cohort frame."""
        summary = cls(len(frame), {}, {}, {}, {})
        for name in used_fields:
            summary._add(name, frame[name])
        return summary

    def _add(self, name: str, column: pd.Series) -> None:
        self.missing_share[name] = float(column.isna().mean())
        if isinstance(column.dtype, pd.StringDtype) or column.dtype == object:
            self.categories[name] = sorted(str(v) for v in column.dropna().unique())
            self.level_counts[name] = {str(k): int(n) for k, n
                                       in column.dropna().astype(str).value_counts().items()}
            return
        if schema.fields().get(name) is not None and schema.fields()[name].type == "boolean":
            flags = pd.to_numeric(column.astype("Float64"), errors="coerce").dropna() >= 0.5
            self.level_counts[name] = {"True": int(flags.sum()), "False": int((~flags).sum())}
        values = pd.to_numeric(column.astype("Float64"), errors="coerce").dropna()
        if len(values):
            self.numeric_ranges[name] = (float(values.min()), float(values.max()))
            self.medians[name] = float(values.median())
            low, middle, high = (float(q) for q in values.quantile([0.1, 0.5, 0.9]))
            self.quantiles[name] = (low, middle, high)
            p5, p95 = (float(q) for q in values.quantile([0.05, 0.95]))
            self.central[name] = (p5, p95)
