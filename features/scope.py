"""Intended use: the population a model is for, and the refusals of patients outside it.

An experiment declares its population (``population`` in the YAML: cutaneous subset, cell
product, age and disease-duration ranges); training sets aside the rows outside it, and the
served bundle carries the same rules (:class:`Population`, stored as plain JSON) so that a
request outside them is refused with the field and the rule in words, and nothing is predicted.

A blank scope field is not a refusal: the record does not say the patient is outside the
population, and the contract already requires what every prediction needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ssc_response.features._rules import ContractError, Problem
from ssc_response.features.columns import numeric_block, text_block

# What each level means, for the refusal's words (the data dictionary's descriptions).
LEVEL_WORDS: dict[str, dict[str, str]] = {
    "cutaneous_subset": {"diffuse": "diffuse SSc", "limited": "limited SSc"},
    "cell_product": {
        "auto_bm_msc": "autologous bone-marrow MSC",
        "auto_bm_mnc": "autologous bone-marrow mononuclear cells",
        "allo_bm_msc": "allogeneic bone-marrow MSC",
        "uc_msc": "umbilical-cord MSC",
        "ad_svf": "adipose stromal vascular fraction",
    },
}
RANGE_WORDS: dict[str, str] = {
    "age_years": "patients aged {low:g}-{high:g} years",
    "disease_duration_months": "a disease duration of {low:g}-{high:g} months",
}
NEEDED_RULE = "needed for a prediction"


class OutOfScopeError(ContractError):
    """A patient outside the population the model is for (a 422; nothing predicted)."""


class NotEnoughInformationError(ContractError):
    """Blank fields leave the prediction too uncertain, or a required field is blank (a 422
    naming the fields to record, most informative first)."""


def _level_words(name: str, level: str) -> str:
    return LEVEL_WORDS.get(name, {}).get(level, level)


def _joined(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


@dataclass(frozen=True)
class Population:
    """Allowed levels of category fields and inclusive ranges of numeric fields."""

    levels: Mapping[str, Sequence[str]] = field(default_factory=dict)
    ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"levels": {k: list(v) for k, v in self.levels.items()},
                "ranges": {k: [float(lo), float(hi)] for k, (lo, hi) in self.ranges.items()}}

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | None) -> Population:
        """The rules a bundle carries (an empty population, no rule, for older bundles)."""
        value = value or {}
        return cls({k: tuple(v) for k, v in value.get("levels", {}).items()},
                   {k: (float(v[0]), float(v[1])) for k, v in value.get("ranges", {}).items()})

    def describe(self) -> str:
        """The population in one sentence (model card)."""
        parts = [_joined([_level_words(n, lv) for lv in levels])
                 for n, levels in self.levels.items()]
        parts += [RANGE_WORDS.get(n, f"{n} {{low:g}}-{{high:g}}").format(low=lo, high=hi)
                  for n, (lo, hi) in self.ranges.items()]
        return "; ".join(parts) if parts else "no population declared"

    def rule(self, name: str) -> str:
        """The rule of one field in words, without the value entered."""
        if name in self.levels:
            words = _joined([_level_words(name, lv) for lv in self.levels[name]])
            return f"this model is for {words}"
        low, high = self.ranges[name]
        return "this model is for " + RANGE_WORDS.get(
            name, f"{name} {{low:g}}-{{high:g}}").format(low=low, high=high)

    def outside(self, frame: pd.DataFrame) -> np.ndarray:
        """Per row: is any recorded scope field outside the population?"""
        return np.asarray([bool(p) for p in self.problems(frame)], dtype=bool)

    def problems(self, frame: pd.DataFrame) -> list[list[Problem]]:
        """Per row (1-based within ``frame``), the scope rules its recorded values break."""
        found: list[list[Problem]] = [[] for _ in range(len(frame))]
        names = list(self.levels)
        texts = text_block(frame, names)
        for j, name in enumerate(names):
            for i, value in enumerate(texts[:, j]):
                if not pd.isna(value) and str(value) not in self.levels[name]:
                    entered = _level_words(name, str(value))
                    found[i].append(Problem(i + 1, name, value,
                                            f"{self.rule(name)}; you entered {entered}"))
        numbers = numeric_block(frame, list(self.ranges))
        for j, (name, (low, high)) in enumerate(self.ranges.items()):
            values = numbers[:, j]
            for i in np.flatnonzero((values < low) | (values > high)).tolist():
                found[i].append(Problem(i + 1, name, float(values[i]),
                                        f"{self.rule(name)}; you entered {values[i]:g}"))
        return found
