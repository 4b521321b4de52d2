"""The missing-data range costs a complete patient nothing (issue 19, benchmarks' condition).

:func:`models.missing_range.missing_ranges` draws stochastic imputations only for the rows with
a blank column the model reads: a batch of complete rows never calls the imputer's ``draws``, and
a mixed batch draws for its incomplete rows only. A spy around a real fitted
:class:`features.imputation.ChainedImputer` records every call.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd
import pytest

from ssc_response.features.imputation import ChainedImputer
from ssc_response.models.missing_range import missing_ranges

COLUMNS = ["a", "b", "c"]


class DrawSpy:
    """Delegates ``draws`` to a fitted imputer and keeps the frames it was given."""

    def __init__(self, imputer: ChainedImputer) -> None:
        self.imputer = imputer
        self.calls: list[pd.DataFrame] = []

    def draws(self, X: Any, n_draws: int, seed: int) -> np.ndarray:
        self.calls.append(pd.DataFrame(X).copy())
        return self.imputer.draws(X, n_draws, seed)


@pytest.fixture(scope="module")
def imputer() -> ChainedImputer:
    rng = np.random.default_rng(3)
    a = rng.normal(size=200)
    frame = pd.DataFrame({"a": a, "b": a + rng.normal(scale=0.5, size=200),
                          "c": rng.normal(size=200)})
    return ChainedImputer(sample_posterior=True).fit(frame)


def logits(frame: pd.DataFrame) -> np.ndarray:
    return np.asarray(frame[COLUMNS].to_numpy(dtype=float) @ np.array([1.0, -0.5, 0.25]))


def ranges(imputer: ChainedImputer, columns: pd.DataFrame) -> tuple[DrawSpy, list[Any]]:
    spy = DrawSpy(imputer)
    imputed = pd.DataFrame(imputer.transform(columns), columns=COLUMNS)
    result = missing_ranges(columns, imputed, cast(ChainedImputer, spy), 20, str, logits)
    return spy, result


def test_complete_rows_draw_nothing(imputer: ChainedImputer) -> None:
    complete = pd.DataFrame([[0.1, 0.2, 0.3], [1.0, 0.9, -0.4]], columns=COLUMNS)
    spy, result = ranges(imputer, complete)
    assert spy.calls == []
    assert result == [None, None]


def test_only_the_incomplete_rows_are_drawn(imputer: ChainedImputer) -> None:
    mixed = pd.DataFrame([[0.1, 0.2, 0.3], [1.0, np.nan, -0.4], [0.5, 0.5, 0.5]],
                         columns=COLUMNS)
    spy, result = ranges(imputer, mixed)
    assert len(spy.calls) == 1
    assert spy.calls[0].shape[0] == 1  # the one row with a blank
    assert np.allclose(spy.calls[0].to_numpy(dtype=float)[0, [0, 2]], [1.0, -0.4], atol=0)
    assert result[0] is None and result[2] is None
    spread = result[1]
    assert spread is not None and [f for f, _ in spread.fields] == ["b"]
    assert 0.0 < spread.lower < spread.upper < 1.0  # b's draws move the probability
