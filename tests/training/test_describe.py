"""Before-and-after statistics: Hodges–Lehmann by hand, Wilcoxon against scipy.

Hand computations are written out in the docstrings; the p-values are checked against
``scipy.stats.wilcoxon`` called on the differences directly, the Wilson intervals against
``statsmodels.stats.proportion.proportion_confint`` (an independent implementation).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ssc_response.training.describe import (
    BEFORE_AFTER_COLUMNS,
    _interval_rank,
    before_after_table,
    hodges_lehmann,
    signed_rank_quantile,
)

TOLERANCE = 1e-12


def test_hodges_lehmann_of_five_differences_by_hand() -> None:
    """d = (-3, 1, 2, 4, 20): the 15 Walsh averages (d_i + d_j)/2, i <= j, sorted, are
    -3, -1, -0.5, 0.5, 1, 1.5, 2, 2.5, 3, 4, 8.5, 10.5, 11, 12, 20; the 8th is 2.5.
    Five pairs cannot give a 95 % interval (the smallest two-sided level is 2/32 = 6.25 %)."""
    estimate, low, high = hodges_lehmann(np.array([-3.0, 1, 2, 4, 20]))
    assert estimate == pytest.approx(2.5, abs=TOLERANCE)
    assert math.isnan(low) and math.isnan(high)


def test_signed_rank_quantile_of_nine_pairs_by_hand() -> None:
    """Subsets of {1..9} with rank sum <= 5: {}, {1}, {2}, {3}, {1,2}, {4}, {1,3}, {5}, {1,4},
    {2,3} = 10 of 512 (1.95 % < 2.5 %); sum 6 adds {6}, {1,5}, {2,4}, {1,2,3}: 14/512 = 2.73 %.
    So the 2.5 % quantile is 6 (R: qsignrank(0.025, 9) = 6)."""
    assert signed_rank_quantile(0.025, 9) == 6


def test_hodges_lehmann_interval_of_nine_pairs_by_hand() -> None:
    """d = (-3, 1, 2, 4, 5, 7, 10, 12, 20), k = 6: the interval runs from the 6th smallest
    Walsh average (-3, -1, -0.5, 0.5, 1, 1 -> 1) to the 6th largest
    (20, 16, 15, 13.5, 12.5, 12 -> 12)."""
    _, low, high = hodges_lehmann(np.array([-3.0, 1, 2, 4, 5, 7, 10, 12, 20]))
    assert (low, high) == pytest.approx((1.0, 12.0), abs=TOLERANCE)


@pytest.mark.parametrize("n", [400, 600])
def test_normal_approximation_is_within_two_ranks_of_the_exact_interval(n: int) -> None:
    """Of n(n+1)/2 = 80,200 or 180,300 Walsh averages, two ranks is a negligible shift; the
    normal law's heavier tails put its limit slightly outside the exact one (conservative)."""
    exact = max(signed_rank_quantile(0.025, n), 1)
    assert 0 <= exact - _interval_rank(n, 0.95) <= 2


def small_table() -> pd.DataFrame:
    return pd.DataFrame({
        "mrss_total": pd.array([30, 25, 22, 18, 28, 35, 20, None], dtype="Int64"),
        "mrss_total_followup": pd.array([22, 24, 15, 19, 20, 26, 20, 10], dtype="Int64"),
        "haq_di": [1.5, 1.0, 0.5, 2.0, np.nan, 1.25, 1.0, 0.75],
        "haq_di_followup": [1.0, 1.0, 0.625, 1.5, 1.0, 0.75, 0.875, np.nan],
    })


def test_before_after_counts_pairs_and_matches_scipy() -> None:
    table = before_after_table(small_table()).set_index("measure")
    assert list(table.reset_index().columns) == list(BEFORE_AFTER_COLUMNS)
    mrss = table.loc["mrss_total"]
    before = np.array([30, 25, 22, 18, 28, 35, 20.0])
    after = np.array([22, 24, 15, 19, 20, 26, 20.0])
    assert mrss["n_paired"] == 7  # the patient without a baseline does not count
    assert mrss["median_before"] == pytest.approx(25.0)
    assert mrss["median_after"] == pytest.approx(20.0)
    expected_p = stats.wilcoxon(after - before).pvalue
    assert mrss["wilcoxon_p"] == pytest.approx(expected_p, rel=TOLERANCE)
    haq = table.loc["haq_di"]
    haq_before = np.array([1.5, 1.0, 0.5, 2.0, 1.25, 1.0])
    haq_after = np.array([1.0, 1.0, 0.625, 1.5, 0.75, 0.875])
    assert haq["n_paired"] == 6
    assert haq["wilcoxon_p"] == pytest.approx(stats.wilcoxon(haq_after - haq_before).pvalue,
                                              rel=TOLERANCE)


def test_a_change_of_mrss_is_negative_when_skin_improves() -> None:
    """Differences -8 -1 -7 +1 -8 -9 0 (follow-up minus baseline): Walsh averages are mostly
    negative, so the estimate and the upper limit are below zero."""
    mrss = before_after_table(small_table()).set_index("measure").loc["mrss_total"]
    assert mrss["median_change"] < 0 and mrss["change_ci_low"] <= mrss["median_change"]


def test_measures_without_follow_up_have_no_pairs() -> None:
    table = before_after_table(small_table()).set_index("measure")
    assert table.loc["fvc_pct_pred", "n_paired"] == 0
    assert math.isnan(table.loc["fvc_pct_pred", "median_change"])
