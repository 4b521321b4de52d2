"""The probability interval: how much P(response) would move with another cohort of this size.

It is an interval for the *estimation* uncertainty of a patient's probability (a confidence
interval for the risk the model estimates), not a range of outcomes: the outcome is yes or no.

Built from B bootstrap refits of the champion's family, each of which repeats what made the
champion - tuning on its own grouped inner cross-validation and recalibration on its own
out-of-fold scores (``training.procedure.fit_on_features``) - on the champion's fitted
preprocessing (held fixed: its own sampling variation is ignored, a small narrowing). The
members' log-odds at a patient give a bootstrap standard error; the interval is

    expit(logit p̂ ± z * SE)

around the served estimate ``p̂``. A normal interval on the log-odds scale needs only the
standard error, which B = 50 refits estimate to about ±10 % (relative Monte-Carlo error
1 / sqrt(2 (B - 1))); percentiles of so few refits would rest on their two or three most
extreme values. The simulation study (``ssc-response study``) measures its coverage of the
true probability.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import expit
from scipy.stats import norm


class ProbabilityInterval:
    """Bootstrap standard error of the log-odds, from refitted members.

    Attributes
    ----------
    members_ : list of fitted classifiers with ``decision_function`` (recalibrated log-odds)
        Fitted on the champion's features (its fitted preprocessing's output).
    """

    def __init__(self, members: Sequence[Any]) -> None:
        if len(members) < 2:
            raise ValueError(f"need at least 2 bootstrap members; got {len(members)}")
        self.members_ = list(members)

    @property
    def n_members(self) -> int:
        return len(self.members_)

    def standard_error(self, features: Any) -> np.ndarray:
        """Per patient: SD of the members' log-odds (ddof=1)."""
        logits = np.column_stack([np.asarray(m.decision_function(features), dtype=float)
                                  for m in self.members_])
        return np.asarray(np.std(logits, axis=1, ddof=1), dtype=float)

    def interval(self, features: Any, logit: np.ndarray,
                 level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """``expit(logit ± z * SE)`` per patient, ``logit`` being the served estimate's."""
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must be strictly between 0 and 1; got {level!r}")
        half = float(norm.ppf(0.5 + level / 2)) * self.standard_error(features)
        centre = np.asarray(logit, dtype=float)
        return expit(centre - half), expit(centre + half)

    def relative_mc_error(self) -> float:
        """Monte-Carlo relative error of the standard error from this many members."""
        return float(1.0 / np.sqrt(2.0 * (self.n_members - 1)))
