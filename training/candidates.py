"""What the modelling procedure chooses among: candidates (a family at one point of its search
space), the response rule they share, and the procedure's specification, all read from an
experiment file. :mod:`training.procedure` runs it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sklearn.base import BaseEstimator
from sklearn.model_selection import ParameterGrid

from ssc_response.features.pipeline import FeatureSpec
from ssc_response.models.estimators import DELTA_ALPHAS, family

DELTA_FAMILY = "delta_mrss_regression"


@dataclass(frozen=True)
class ResponseRule:
    """The skin-response rule the labels and the ΔmRSS model share (decrease > abs and >= rel)."""

    abs_threshold: float = 5.0
    rel_threshold: float = 0.25
    strict: bool = True

    def params(self) -> dict[str, Any]:
        return {"abs_threshold": self.abs_threshold, "rel_threshold": self.rel_threshold,
                "strict": self.strict}


@dataclass(frozen=True)
class Candidate:
    """One family at one point of its search space (``estimator__`` parameters)."""

    family: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        shown = ", ".join(f"{k.removeprefix('estimator__')}={v}" for k, v in self.params)
        return f"{self.family}({shown})" if shown else self.family

    @property
    def target(self) -> str:
        """``"delta"`` when the family learns the change in mRSS, else ``"binary"``."""
        return family(self.family).target

    @property
    def reads_columns(self) -> bool:
        """``True`` when the family reads an input by name (it must be fitted on a frame)."""
        return family(self.family).reads_columns

    def estimator(self, seed: int, rule: ResponseRule) -> BaseEstimator:
        """An unfitted estimator of this family with these parameters (and the rule)."""
        made = family(self.family).make(seed)
        params = {k.removeprefix("estimator__"): v for k, v in self.params}
        if self.target == "delta":
            params |= rule.params()
        return made.set_params(**params)


def candidates_from(estimators: Mapping[str, Mapping[str, Sequence[Any]]]) -> tuple[Candidate, ...]:
    """Every (family, grid point) of an experiment's ``estimators`` block, in file order."""
    found = []
    for name, space in estimators.items():
        for point in ParameterGrid(dict(space)):
            found.append(Candidate(name, tuple(sorted(point.items()))))
    return tuple(found)


@dataclass(frozen=True)
class ProcedureSpec:
    """What the procedure chooses among, and how (all of it comes from the experiment file)."""

    candidates: tuple[Candidate, ...]
    features: FeatureSpec
    rule: ResponseRule = ResponseRule()
    inner_splits: int = 5
    selection_metric: str = "brier"
    seed: int = 0

    def delta_candidates(self) -> tuple[Candidate, ...]:
        """The ΔmRSS candidates: those listed, else the default penalty grid."""
        listed = tuple(c for c in self.candidates if c.family == DELTA_FAMILY)
        return listed or tuple(Candidate(DELTA_FAMILY, (("estimator__alpha", a),))
                               for a in DELTA_ALPHAS)
