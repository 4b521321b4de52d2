"""The probability interval: how much P(response) would move with another cohort of this size.

It is an interval for the *estimation* uncertainty of a patient's probability (a confidence
interval for the risk the model estimates), not a range of outcomes: the outcome is yes or no.

Built from B bootstrap refits of the champion's family, each of which repeats what made the
champion - tuning on its own grouped inner cross-validation and recalibration on its own
out-of-fold scores (``training.procedure.fit_on_features``) - on the champion's fitted
preprocessing (held fixed: its own sampling variation is ignored, a small narrowing; a family
that standardises its inputs does so inside each member's own fit). The
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
from sklearn.linear_model import LogisticRegression

from ssc_response.models.calibration import RecalibratedClassifier


class ProbabilityInterval:
    """Bootstrap standard error of the log-odds, from refitted members.

    Attributes
    ----------
    members_ : list of fitted classifiers with ``decision_function`` (recalibrated log-odds)
        Fitted on the champion's features (its fitted preprocessing's output): as a frame
        (those with ``feature_names_in_``, which check the names themselves) or as its float
        array (``training.procedure.fit_on_features``), which skips scikit-learn's per-call
        checks of a frame's names and dtypes.
    feature_names_ : list of str or None
        The features' columns, in order: when given, the members without ``feature_names_in_``
        get the float array of the features after one check of their columns; when ``None``,
        every member gets the features as passed.
    """

    def __init__(self, members: Sequence[Any],
                 feature_names: Sequence[str] | None = None) -> None:
        if len(members) < 2:
            raise ValueError(f"need at least 2 bootstrap members; got {len(members)}")
        self.members_ = list(members)
        self.feature_names_ = None if feature_names is None else [str(n) for n in feature_names]

    @property
    def n_members(self) -> int:
        return len(self.members_)

    def standard_error(self, features: Any) -> np.ndarray:
        """Per patient: SD of the members' log-odds (ddof=1)."""
        logits = self.member_logits(features)
        return np.asarray(np.std(logits, axis=1, ddof=1), dtype=float)

    def member_logits(self, features: Any) -> np.ndarray:
        """Per patient, every member's log-odds (patients x members).

        Members that are recalibrated logistic regressions read the checked float array
        together: their own fitted coefficients, stacked, in one matrix product - what each
        one's ``decision_function`` computes (``X @ coef_.T + intercept_``, then the
        recalibration), without fifty rounds of scikit-learn's per-call input checks (about
        half a prediction's time with 50 members).
        """
        array = features
        names = getattr(self, "feature_names_", None)  # None in bundles saved before it existed
        if names is not None and not all(_reads_frames(m) for m in self.members_):
            array = self._checked_array(features, names)
            if all(_recalibrated_logistic(m) for m in self.members_):
                return _stacked_logits(self.members_, array)
        return np.column_stack([
            np.asarray(m.decision_function(features if _reads_frames(m) else array), dtype=float)
            for m in self.members_])

    def instability(self, features: Any, probability: np.ndarray) -> np.ndarray:
        """Per patient, the mean absolute difference between the members' probabilities and
        the served ``probability``: Riley & Collins' (2023) per-patient prediction
        instability across bootstrap refits of the whole procedure."""
        members = expit(self.member_logits(features))
        return np.asarray(np.mean(np.abs(members - np.asarray(probability)[:, None]), axis=1),
                          dtype=float)

    def interval(self, features: Any, logit: np.ndarray,
                 level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """``expit(logit ± z * SE)`` per patient, ``logit`` being the served estimate's."""
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must be strictly between 0 and 1; got {level!r}")
        half = float(norm.ppf(0.5 + level / 2)) * self.standard_error(features)
        centre = np.asarray(logit, dtype=float)
        return expit(centre - half), expit(centre + half)

    @staticmethod
    def _checked_array(features: Any, names: list[str]) -> np.ndarray:
        """``features`` as the float array the members were fitted on, after checking that its
        columns are ``names``, in that order."""
        columns = [str(c) for c in getattr(features, "columns", [])]
        if columns != names:
            raise ValueError(f"the features' columns {columns[:5]}... are not those the "
                             f"members were fitted on {names[:5]}...")
        return np.asarray(features.to_numpy(dtype=float), dtype=float)

    def relative_mc_error(self) -> float:
        """Monte-Carlo relative error of the standard error from this many members."""
        return float(1.0 / np.sqrt(2.0 * (self.n_members - 1)))


def _recalibrated_logistic(member: Any) -> bool:
    """Whether ``member`` is a recalibrated binary logistic regression fitted on an array."""
    inner = getattr(member, "estimator_", None)
    return (isinstance(member, RecalibratedClassifier) and isinstance(inner, LogisticRegression)
            and np.shape(inner.coef_)[0] == 1 and not _reads_frames(member))


def _stacked_logits(members: Sequence[Any], array: np.ndarray) -> np.ndarray:
    """Every member's recalibrated log-odds (patients x members) in one matrix product."""
    coef = np.vstack([m.estimator_.coef_ for m in members])
    raw = array @ coef.T + np.concatenate([m.estimator_.intercept_ for m in members])
    return np.column_stack([m.recalibrated(raw[:, j]) for j, m in enumerate(members)])


def _reads_frames(member: Any) -> bool:
    """Whether ``member`` was fitted on a frame (then it checks the names itself)."""
    return hasattr(member, "feature_names_in_")
