"""Input warnings: which of a patient's fields the model had to impute, and which lie outside
the range (or the levels) it was trained on.

:class:`InputChecks` holds a :class:`models.summary.TrainingSummary` as arrays, so a batch is
flagged with a few comparisons; the served bundle builds it once (never serialised).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ssc_response.features import schema
from ssc_response.features.columns import numeric_block, text_block
from ssc_response.features.pipeline import field_units
from ssc_response.models.summary import TrainingSummary


def is_text_field(name: str) -> bool:
    """Category and string fields of the dictionary (read as text, never as numbers)."""
    field = schema.fields().get(name)
    return field is not None and field.type in ("category", "string")


@dataclass(frozen=True, eq=False)
class InputChecks:
    """The training summary as arrays: a batch's inputs are flagged with a few comparisons.

    Fields are checked in name order, so each record's messages list its fields alphabetically.
    """

    names: tuple[str, ...]
    is_text: np.ndarray  # per field: read as text (category levels) rather than as a number
    numeric: np.ndarray  # positions (in names) of the fields read as numbers
    low: np.ndarray  # their training range (-inf, inf when there is none)
    high: np.ndarray
    text: np.ndarray  # positions (in names) of the fields read as text
    seen: tuple[frozenset[str] | None, ...]  # training levels per text field
    imputed: tuple[str, ...]  # per field, what a missing value becomes
    outside: tuple[str, ...]  # per numeric field, its out-of-range message after the value

    @classmethod
    def from_summary(cls, summary: TrainingSummary) -> InputChecks:
        names = tuple(sorted(summary.missing_share))
        is_text = np.array([is_text_field(n) for n in names], dtype=bool)
        numeric = [n for n, text in zip(names, is_text, strict=True) if not text]
        ranges = [summary.numeric_ranges.get(n, (-np.inf, np.inf)) for n in numeric]
        texts = [n for n, text in zip(names, is_text, strict=True) if text]
        seen = tuple(frozenset(summary.categories[n]) if n in summary.categories else None
                     for n in texts)
        units = field_units()
        low, high = (np.array([r[i] for r in ranges], dtype=float) for i in (0, 1))
        outside = tuple(_outside_message(units.get(n, ""), lo, hi)
                        for n, (lo, hi) in zip(numeric, ranges, strict=True))
        return cls(names, is_text, np.flatnonzero(~is_text), low, high, np.flatnonzero(is_text),
                   seen, tuple(_imputed_message(summary, n, units.get(n, "")) for n in names),
                   outside)

    def messages(self, records: pd.DataFrame) -> list[list[str]]:
        """Per record, a message for every missing, out-of-range or unseen input.

        ``records``: validated records as given (a field absent from the frame is missing).
        """
        numbers = numeric_block(records, [self.names[j] for j in self.numeric])
        texts = text_block(records, [self.names[j] for j in self.text])
        missing = np.zeros((len(records), len(self.names)), dtype=bool)
        flagged = np.zeros_like(missing)
        missing[:, self.numeric] = np.isnan(numbers)
        flagged[:, self.numeric] = (numbers < self.low) | (numbers > self.high)
        missing[:, self.text] = pd.isna(texts)
        flagged[:, self.text] = self._unseen(texts) & ~missing[:, self.text]
        column = np.zeros(len(self.names), dtype=int)  # field -> its column in numbers / texts
        column[self.numeric], column[self.text] = range(len(self.numeric)), range(len(self.text))
        messages: list[list[str]] = [[] for _ in range(len(records))]
        rows, fields = (found.tolist() for found in np.nonzero(missing | flagged))
        for i, j in zip(rows, fields, strict=True):
            if missing[i, j]:
                messages[i].append(self.imputed[j])
            elif self.is_text[j]:
                messages[i].append(f"{self.names[j]} = {texts[i, column[j]]!r} was not seen in "
                                   "training")
            else:
                k = column[j]
                messages[i].append(f"{self.names[j]} = {_fmt(numbers[i, k])}{self.outside[k]}")
        return messages

    def _unseen(self, texts: np.ndarray) -> np.ndarray:
        unseen = np.zeros(texts.shape, dtype=bool)
        for k, levels in enumerate(self.seen):
            if levels is not None:
                unseen[:, k] = [str(value) not in levels for value in texts[:, k]]
        return unseen


def _imputed_message(summary: TrainingSummary, name: str, unit: str) -> str:
    """A blank field the model reads: imputed from the patient's other fields (chained
    equations), never a training median; the explanation shows the value used."""
    return (f"{name} not recorded: imputed from the patient's other fields (the explanation "
            "shows the value used)")


def _outside_message(unit: str, low: float, high: float) -> str:
    """What follows the value in an out-of-range message: ``name = value`` + this.

    Made once per field (the value's text never starts or ends with a space, so dropping the
    doubled space of an empty unit here gives the same text as dropping it in the whole).
    """
    return (f" {unit} is outside the training range {_fmt(low)}-{_fmt(high)} {unit}; "
            "the prediction extrapolates").replace("  ", " ")


def _fmt(value: float) -> str:
    return f"{value:.4g}"
