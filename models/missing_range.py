"""How much a patient's blank fields could change the answer, and which to record first.

For a patient with blank model fields, the fitted stochastic imputer
(:meth:`features.imputation.ChainedImputer.draws`, ``sample_posterior=True``) draws plausible
values for them ``n_draws`` times; the model's probability at each draw gives the range the
blank fields leave open. Each blank field is then ranked by how much the probability moves
when only that field takes its drawn values (the others held at their point imputation): the
field whose value moves it most is the one whose recording narrows the answer most.

Nothing is drawn for a patient whose model fields are all recorded (the common case pays no
cost). The draws use the same uniforms for every patient (common random numbers), so a
patient's range is the same alone or in any batch, and on replay.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit

from ssc_response.features.imputation import ChainedImputer

DRAW_SEED = 20261206  # fixed: the same patient always gets the same range


@dataclass(frozen=True)
class MissingRange:
    """One patient's range of probabilities over the draws, and the blank fields ranked."""

    lower: float
    upper: float
    draws: int
    fields: list[tuple[str, float]]  # (field, SD of the probability it alone leaves open)

    @property
    def width(self) -> float:
        return self.upper - self.lower

    def sentence(self, label: Callable[[str], str] = str) -> str:
        names = [label(f) for f, _ in self.fields]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        verb = "was" if len(names) == 1 else "were"
        return (f"because {listed} {verb} not recorded, the probability could be "
                f"{100 * self.lower:.0f}-{100 * self.upper:.0f} %")

    def to_dict(self) -> dict[str, object]:
        return {"lower": self.lower, "upper": self.upper, "draws": self.draws,
                "fields_to_record": [{"field": f, "narrows_by": s} for f, s in self.fields],
                "text": self.sentence()}


def missing_ranges(columns: pd.DataFrame, imputed: pd.DataFrame, draws: ChainedImputer,
                   n_draws: int, field_of: Callable[[str], str],
                   logits: Callable[[pd.DataFrame], np.ndarray]) -> list[MissingRange | None]:
    """Per row of ``columns`` (the encoding's columns before imputation, NaN where blank):
    its :class:`MissingRange`, or ``None`` when nothing the model reads is blank.

    ``imputed``: the same rows after the point imputation (with any indicator columns);
    ``logits``: the model's log-odds from an ``imputed``-shaped frame. Two model calls per
    batch, whatever its size: every draw of every incomplete row, then every (row, blank field)
    pair's draws.
    """
    blank = np.isnan(columns.to_numpy(dtype=float))
    rows = np.flatnonzero(blank.any(axis=1))
    result: list[MissingRange | None] = [None] * len(columns)
    if not len(rows):
        return result
    # Common random numbers: a patient gets the same range alone or in any batch.
    drawn = draws.draws(columns.iloc[rows], n_draws, DRAW_SEED)  # (draws, rows, columns)
    point = imputed.iloc[rows].to_numpy(dtype=float)
    width = drawn.shape[2]
    probability = _probabilities(_stacked(point, drawn, width), imputed, logits)
    probability = probability.reshape(n_draws, len(rows))
    column_fields = [field_of(str(c)) for c in columns.columns]
    pairs = _blank_fields(blank[rows], column_fields)
    spread = _one_field_spread(point, drawn, blank[rows], pairs, column_fields, imputed, logits)
    per_row: list[list[tuple[str, float]]] = [[] for _ in rows]
    for (k, field), value in zip(pairs, spread, strict=True):
        per_row[k].append((field, float(value)))
    for k, i in enumerate(rows):
        ranked = sorted(per_row[k], key=lambda pair: -pair[1])  # stable: ties keep column order
        result[i] = MissingRange(float(probability[:, k].min()), float(probability[:, k].max()),
                                 n_draws, ranked)
    return result


def _blank_fields(blank: np.ndarray, column_fields: Sequence[str]) -> list[tuple[int, str]]:
    """(row, field) for each input field with a blank column, per row in column order."""
    pairs = []
    for k, row in enumerate(blank):
        for field in dict.fromkeys(column_fields[j] for j in np.flatnonzero(row).tolist()):
            pairs.append((k, field))
    return pairs


def _stacked(point: np.ndarray, drawn: np.ndarray, width: int) -> np.ndarray:
    """Every draw of every row, as rows of the imputed matrix (indicators kept from ``point``)."""
    stacked = np.tile(point, (drawn.shape[0], 1))
    stacked[:, :width] = drawn.reshape(-1, width)
    return stacked


def _probabilities(matrix: np.ndarray, like: pd.DataFrame,
                   logits: Callable[[pd.DataFrame], np.ndarray]) -> np.ndarray:
    frame = pd.DataFrame(matrix, columns=like.columns)
    return np.asarray(expit(logits(frame)), dtype=float)


def _one_field_spread(point: np.ndarray, drawn: np.ndarray, blank: np.ndarray,
                      pairs: Sequence[tuple[int, str]], column_fields: Sequence[str],
                      like: pd.DataFrame,
                      logits: Callable[[pd.DataFrame], np.ndarray]) -> np.ndarray:
    """Per (row, blank field) pair: SD of the probability when only that field's columns take
    their drawn values (the row's other columns at their point imputation)."""
    n_draws, width = drawn.shape[0], drawn.shape[2]
    rows = np.asarray([row for row, _ in pairs])
    fields = np.asarray(column_fields)
    own = np.stack([(fields == field) & blank[row] for row, field in pairs])  # (pairs, columns)
    base = point[rows]  # (pairs, all imputed columns)
    block = np.repeat(base[:, None, :], n_draws, axis=1)  # (pairs, draws, all columns)
    values = np.transpose(drawn[:, rows, :], (1, 0, 2))  # (pairs, draws, columns)
    block[:, :, :width] = np.where(own[:, None, :], values, base[:, None, :width])
    probability = _probabilities(block.reshape(-1, block.shape[2]), like, logits)
    return np.asarray(probability.reshape(len(pairs), n_draws).std(axis=1), dtype=float)
