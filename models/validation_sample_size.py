"""Is a cohort large enough to validate a binary-outcome model? Riley et al. 2021's criteria.

Riley RD, Debray TPA, Collins GS, et al. Minimum sample size for external validation of a
clinical prediction model with a binary outcome. Stat Med 2021;40:4230-4251; the reference
implementation is ``pmvalsampsize`` (Ensor, Riley et al.). Four criteria, each the smallest n
that gives a 95 % CI of the target width, with pmvalsampsize's default widths:

1. **O/E** (width 0.2 on the ratio scale, at O/E = 1):
   ``SE(ln O/E) = asinh(width / 2) / z``, ``n = (1 - phi) / (phi SE^2)``;
2. **calibration slope** (width 0.2, at slope 1): ``n = I_a / (SE^2 (I_a I_b - I_ab^2))`` with
   the Fisher information of the calibration model per patient, ``I_a = E[p(1-p)]``,
   ``I_ab = E[LP p(1-p)]``, ``I_b = E[LP^2 p(1-p)]``;
3. **C statistic** (width 0.1): Newcombe's variance of C (Riley's eq. 9), solved for n;
4. **standardised net benefit** at each decision threshold (width 0.2):
   ``var = [sens(1-sens)/phi + w^2 spec(1-spec)/(1-phi) + w^2 (1-spec)^2/(phi(1-phi))] / n``
   with ``w = (1-phi)/phi * pt/(1-pt)``.

Where pmvalsampsize draws the linear predictor from an assumed distribution, this module uses
the model's own predictions for the cohort (assumed well calibrated, as pmvalsampsize assumes):
the distribution the validation will actually meet. ``phi`` is the cohort's outcome rate and
the anticipated C is the model's internally validated one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import brentq
from scipy.stats import norm

from ssc_response.models.performance import logit_of

Z = float(norm.ppf(0.975))
DEFAULT_WIDTHS = {"oe": 0.2, "slope": 0.2, "c": 0.1, "net_benefit": 0.2}


@dataclass(frozen=True)
class ValidationSampleSize:
    """Minimum n per criterion, the largest of them, and the cohort's n."""

    criteria: dict[str, int]
    n_available: int

    @property
    def n_required(self) -> int:
        return max(self.criteria.values())

    @property
    def shortfall(self) -> int:
        return max(0, self.n_required - self.n_available)

    def warning(self) -> str | None:
        """In words: which criteria the cohort misses, by how many patients; None if none."""
        if not self.shortfall:
            return None
        missed = ", ".join(f"{name} needs {n}" for name, n in self.criteria.items()
                           if n > self.n_available)
        return (f"the cohort has {self.n_available} patients with a known outcome; Riley et al. "
                f"2021 ask for {self.n_required} to estimate performance precisely ({missed}): "
                f"{self.shortfall} short. Intervals will be wide; read them, not the estimates.")


def n_for_oe(phi: float, width: float = DEFAULT_WIDTHS["oe"]) -> int:
    """Criterion 1: the CI of O/E (= 1) no wider than ``width``."""
    se = math.asinh(width / 2) / Z
    return math.ceil((1 - phi) / (phi * se**2))


def n_for_slope(p: npt.ArrayLike, width: float = DEFAULT_WIDTHS["slope"]) -> int:
    """Criterion 2: the CI of the calibration slope (= 1) no wider than ``width``."""
    probability = np.asarray(p, dtype=float)
    lp = logit_of(probability)
    weight = probability * (1 - probability)
    i_a, i_ab, i_b = weight.mean(), (lp * weight).mean(), (lp * lp * weight).mean()
    se = width / (2 * Z)
    return math.ceil(i_a / (se**2 * (i_a * i_b - i_ab**2)))


def c_variance(c: float, phi: float, n: float) -> float:
    """Newcombe's (2006) variance of the C statistic at n patients (Riley et al. 2021, eq. 9)."""
    half = n / 2 - 1
    return c * (1 - c) * (1 + half * (1 - c) / (2 - c) + half * c / (1 + c)) / (
        n * n * phi * (1 - phi))


def n_for_c(c: float, phi: float, width: float = DEFAULT_WIDTHS["c"]) -> int:
    """Criterion 3: the CI of C no wider than ``width``."""
    def excess(n: float) -> float:
        return 2 * Z * math.sqrt(c_variance(c, phi, n)) - width

    return math.ceil(brentq(excess, 4.0, 1e8))


def n_for_net_benefit(p: npt.ArrayLike, phi: float, threshold: float,
                      width: float = DEFAULT_WIDTHS["net_benefit"]) -> int:
    """Criterion 4: the CI of the standardised net benefit at ``threshold`` no wider than
    ``width``; sensitivity and specificity expected under calibrated predictions ``p``."""
    probability = np.asarray(p, dtype=float)
    treated = probability >= threshold
    sens = float(np.sum(probability * treated) / np.sum(probability))
    spec = float(np.sum((1 - probability) * ~treated) / np.sum(1 - probability))
    w = (1 - phi) / phi * threshold / (1 - threshold)
    unit_variance = (sens * (1 - sens) / phi + w**2 * spec * (1 - spec) / (1 - phi)
                     + w**2 * (1 - spec) ** 2 / (phi * (1 - phi)))
    se = width / (2 * Z)
    return math.ceil(unit_variance / se**2)


def validation_sample_size(p: npt.ArrayLike, phi: float, anticipated_c: float,
                           thresholds: Sequence[float], n_available: int,
                           ) -> ValidationSampleSize:
    """Every criterion for predictions ``p`` of a cohort with outcome rate ``phi``."""
    criteria = {"O/E": n_for_oe(phi), "calibration slope": n_for_slope(p),
                "C statistic": n_for_c(anticipated_c, phi)}
    for threshold in thresholds:
        criteria[f"net benefit at {threshold:.0%}"] = n_for_net_benefit(p, phi, threshold)
    return ValidationSampleSize(criteria, n_available)
