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
    ``logits``: the model's log-odds from an ``imputed``-shaped frame.
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
    names = [str(c) for c in columns.columns]
    probability = _probabilities(_stacked(point, drawn, width), imputed, logits)
    probability = probability.reshape(n_draws, len(rows))
    for k, i in enumerate(rows):
        fields = list(dict.fromkeys(field_of(names[j]) for j in np.flatnonzero(blank[i])))
        spread = _one_field_spread(point[k], drawn[:, k], blank[i], names, fields, field_of,
                                   imputed, logits)
        ranked = sorted(zip(fields, spread, strict=True), key=lambda pair: -pair[1])
        result[i] = MissingRange(float(probability[:, k].min()), float(probability[:, k].max()),
                                 n_draws, [(f, float(s)) for f, s in ranked])
    return result


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
                      names: Sequence[str], fields: Sequence[str],
                      field_of: Callable[[str], str], like: pd.DataFrame,
                      logits: Callable[[pd.DataFrame], np.ndarray]) -> np.ndarray:
    """Per blank field: SD of the probability when only that field takes its drawn values."""
    n_draws = drawn.shape[0]
    blocks = []
    for field in fields:
        own = np.asarray([field_of(n) == field and blank[j] for j, n in enumerate(names)])
        block = np.tile(point, (n_draws, 1))
        block[:, :len(names)][:, own] = drawn[:, own]
        blocks.append(block)
    probability = _probabilities(np.vstack(blocks), like, logits)
    return np.asarray(probability.reshape(len(fields), n_draws).std(axis=1), dtype=float)
