"""Riley et al. (2021) validation sample size, against pmvalsampsize's own procedures.

pmvalsampsize finds the SE of ln(O/E) and of the standardised net benefit by stepping the SE up
in increments of 1e-4 until the CI is as wide as asked, and the C criterion by scanning n = 1,
2, ... for the first width within target; those searches are re-done here independently of the
closed forms under test. The calibration slope's n is checked by simulation: a statsmodels GLM on
that many calibrated patients has the target standard error.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy.special import expit

from ssc_response.models.validation_sample_size import (
    c_variance,
    n_for_c,
    n_for_net_benefit,
    n_for_oe,
    n_for_slope,
    validation_sample_size,
)

pytestmark = pytest.mark.model


def _stepped_se(width_of: object, target: float) -> float:
    se = 0.0
    while width_of(se) < target:  # type: ignore[operator]
        se += 1e-4
    return se


@pytest.mark.parametrize("phi", [0.05, 0.2, 0.5])
def test_oe_criterion_matches_pmvalsampsizes_stepped_search(phi: float) -> None:
    se = _stepped_se(lambda s: math.exp(1.96 * s) - math.exp(-1.96 * s), 0.2)
    expected = (1 - phi) / (phi * se**2)
    assert n_for_oe(phi) == pytest.approx(expected, rel=0.01)


@pytest.mark.parametrize(("c", "phi"), [(0.7, 0.3), (0.8, 0.1)])
def test_c_criterion_is_the_first_n_whose_newcombe_width_is_within_target(c: float,
                                                                          phi: float) -> None:
    def width(n: int) -> float:
        half = n / 2 - 1
        variance = c * (1 - c) * (1 + half * (1 - c) / (2 - c) + half * c / (1 + c)) / (
            n * n * phi * (1 - phi))
        return 2 * 1.959964 * math.sqrt(variance)

    first = next(n for n in range(4, 100_000) if width(n) <= 0.1)
    assert n_for_c(c, phi) == first
    assert c_variance(c, phi, first) > 0


def test_slope_criterion_gives_the_target_standard_error_by_simulation() -> None:
    rng = np.random.default_rng(12)
    lp = rng.normal(-0.5, 1.2, 200_000)
    n = n_for_slope(expit(lp))
    standard_errors = []
    for _ in range(20):  # one draw's SE varies by ~2.5 %; the mean of 20 by ~0.5 %
        sample = rng.normal(-0.5, 1.2, n)
        y = (rng.uniform(size=n) < expit(sample)).astype(int)
        fit = sm.GLM(y, sm.add_constant(sample), family=sm.families.Binomial()).fit()
        standard_errors.append(fit.bse[1])
    assert np.mean(standard_errors) == pytest.approx(0.2 / (2 * 1.959964), rel=0.02)


def test_net_benefit_criterion_with_hand_sensitivity_and_specificity() -> None:
    # Calibrated predictions 0.1, 0.3, 0.6, 0.8 at threshold 0.5: expected events 1.8;
    # sensitivity (0.6 + 0.8) / 1.8; specificity (0.9 + 0.7) / 2.2; phi 0.45.
    p = np.array([0.1, 0.3, 0.6, 0.8])
    sens, spec, phi = 1.4 / 1.8, 1.6 / 2.2, 0.45
    w = (1 - phi) / phi
    se = _stepped_se(lambda s: 2 * 1.96 * s, 0.2)
    expected = (sens * (1 - sens) / phi + w * w * spec * (1 - spec) / (1 - phi)
                + w * w * (1 - spec) ** 2 / (phi * (1 - phi))) / se**2
    assert n_for_net_benefit(p, phi, 0.5) == pytest.approx(expected, rel=0.01)


def test_the_shortfall_is_named_and_counted() -> None:
    rng = np.random.default_rng(1)
    p = expit(rng.normal(0, 1, 150))
    result = validation_sample_size(p, 0.5, 0.75, [0.3], n_available=150)
    assert result.n_required == max(result.criteria.values())
    assert result.shortfall == result.n_required - 150 > 0
    warning = result.warning()
    assert warning is not None and "calibration slope needs" in warning
    assert validation_sample_size(p, 0.5, 0.75, [], n_available=10**6).warning() is None
