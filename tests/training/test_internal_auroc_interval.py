"""The internal validation's AUROC interval is truncated to [0, 1], as pROC truncates DeLong's.

The issue's case: n = 20 and AUROC 0.98, whose Wald upper bound was 1.027.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from ssc_response.training.assessment import _cv_estimates, score
from ssc_response.training.metrics import auroc, delong_variance

pytestmark = pytest.mark.model


def test_a_near_perfect_auroc_at_twenty_patients_has_its_interval_capped_at_one() -> None:
    y = np.array([1] * 10 + [0] * 10)
    p = np.concatenate([np.linspace(0.55, 0.95, 10), np.linspace(0.05, 0.45, 10)])
    p[0] = 0.40  # below the two highest negatives (0.406, 0.45): AUROC 0.98
    assert auroc(y, p) == pytest.approx(0.98, abs=1e-12)
    untruncated = 0.98 + norm.ppf(0.975) * np.sqrt(delong_variance(y, p))
    assert untruncated > 1.0
    delta = np.zeros(20)
    per_repeat = pd.DataFrame([score(y, p, delta, delta)])
    estimate = _cv_estimates(per_repeat, y, p[None, :], delta, delta[None, :], 0.95)["auroc"]
    assert estimate.high == 1.0
    assert estimate.low == pytest.approx(0.98 - (untruncated - 0.98), abs=1e-12)
