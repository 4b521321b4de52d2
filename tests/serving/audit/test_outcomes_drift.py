"""O/E over time: cumulative by visit month, and drift when the latest band excludes 1.

Expected values are computed by hand from the O/E definition of Debray et al. (BMJ 2017) and
Riley et al. (2021): O/E = sum(y) / sum(p), with SE(log O/E) = sqrt((1 - O/n) / O).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from ssc_response.features.derived_columns import OutcomeThresholds
from ssc_response.serving.audit.outcomes_validation import ResponseRule, oe_over_time

RULE = ResponseRule("skin_responder", OutcomeThresholds())


def _table(months: list[str], y: list[int], p: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"visit_date": [f"{m}-15" for m in months], "skin_responder": y,
                         "probability": p})


def _hand(y: list[int], p: list[float]) -> tuple[float, float, float]:
    observed, n = sum(y), len(y)
    ratio = observed / sum(p)
    se = math.sqrt((1 - observed / n) / observed)
    z = 1.959963984540054  # the 97.5 % normal quantile
    return ratio, ratio * math.exp(-z * se), ratio * math.exp(z * se)


def test_cumulative_points_by_month_match_the_hand_computation() -> None:
    months = ["2027-01"] * 20 + ["2027-02"] * 20
    y = [1] * 6 + [0] * 14 + [1] * 8 + [0] * 12
    p = [0.3] * 20 + [0.35] * 20
    points = oe_over_time(_table(months, y, p), RULE)
    assert [(pt.month, pt.n) for pt in points] == [("2027-01", 20), ("2027-02", 40)]
    for point, upto in zip(points, (20, 40), strict=True):
        assert (point.oe, point.low, point.high) == pytest.approx(_hand(y[:upto], p[:upto]),
                                                                  rel=1e-12)
    assert not points[-1].drifted  # 14 observed, 13 expected: calibrated


def test_underestimated_risks_drift_out_of_the_band() -> None:
    months = ["2027-01"] * 40 + ["2027-02"] * 40
    y = [1] * 10 + [0] * 30 + [1] * 30 + [0] * 10  # the second month: 75 % respond
    p = [0.25] * 80
    points = oe_over_time(_table(months, y, p), RULE)
    assert not points[0].drifted
    ratio, low, _ = _hand(y, p)
    assert points[-1].drifted and low > 1 and points[-1].oe == pytest.approx(ratio, rel=1e-12)
