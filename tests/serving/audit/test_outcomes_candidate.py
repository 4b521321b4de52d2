"""DeLong's paired ΔAUROC against an independent, direct computation of his formulas.

The reference below follows DeLong, DeLong & Clarke-Pearson (Biometrics 1988;44:837-845)
literally: the kernel psi(X, Y) = 1 if X > Y, 1/2 if equal, 0 otherwise, over every
(positive, negative) pair; the structural components V10 and V01; the 2x2 covariance matrix
S = S10 / m + S01 / n; var(A2 - A1) = S11 + S22 - 2 S12. No ranks, unlike the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from ssc_response.serving.audit.outcomes_candidate import paired_auroc_difference


def _delong_reference(y: np.ndarray, first: np.ndarray, second: np.ndarray) -> tuple[float, float]:
    positives, negatives = y == 1, y == 0
    components = []
    for p in (first, second):
        x, z = p[positives][:, None], p[negatives][None, :]
        psi = (x > z) + 0.5 * (x == z)
        components.append((psi.mean(axis=1), psi.mean(axis=0), psi.mean()))
    s10 = np.cov(np.vstack([components[0][0], components[1][0]]))
    s01 = np.cov(np.vstack([components[0][1], components[1][1]]))
    s = s10 / positives.sum() + s01 / negatives.sum()
    return components[1][2] - components[0][2], float(s[0, 0] + s[1, 1] - 2 * s[0, 1])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_paired_difference_equals_delong_written_out(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 60)
    first = np.round(rng.random(60) * 0.6 + 0.3 * y, 2)  # rounded: ties occur
    second = np.round(0.7 * first + 0.3 * rng.random(60), 2)
    found = paired_auroc_difference(y, first, second)
    value, variance = _delong_reference(y, first, second)
    half = norm.ppf(0.975) * np.sqrt(variance)
    assert found.value == pytest.approx(value, abs=1e-12)
    assert (found.low, found.high) == pytest.approx((value - half, value + half), abs=1e-12)


def test_the_same_predictions_differ_by_exactly_nothing() -> None:
    y = np.array([0, 0, 1, 1, 0, 1])
    p = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    found = paired_auroc_difference(y, p, p)
    assert (found.value, found.low, found.high) == (0.0, 0.0, 0.0)
