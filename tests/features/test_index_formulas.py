"""Clinical indices, row by row against the worked examples of shared/clinical-reference.md.

Each table under tests/data names its source per row (``source`` column) and in its header.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ssc_response.features import index_formulas
from ssc_response.features.schema import MRSS_SITE_FIELDS

DATA = Path(__file__).parents[1] / "data"

ESCSG_ITEMS = [
    "mrss_total",
    "scleredema",
    "delta_skin",
    "digital_necrosis",
    "delta_vascular",
    "arthritis",
    "dlco_pct_pred",
    "delta_cardiopulmonary",
    "esr_mm_h",
    "hypocomplementemia",
]
EUSTAR_ITEMS = [
    "delta_skin",
    "mrss_total",
    "digital_ulcers",
    "tendon_friction_rubs",
    "crp_mg_l",
    "dlco_pct_pred",
]
ACR_ITEMS = [
    "skin_thickening_proximal_mcp",
    "puffy_fingers",
    "sclerodactyly",
    "digital_tip_ulcers",
    "pitting_scars",
    "telangiectasia",
    "abnormal_nailfold_capillaries",
    "pah",
    "ild",
    "raynaud_phenomenon",
    "anti_centromere",
    "anti_topo1",
    "anti_rnap3",
]
NUMERIC_ITEMS = {"mrss_total", "dlco_pct_pred", "esr_mm_h", "crp_mg_l"}


def load(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name, comment="#")


def rows(name: str) -> list[Any]:
    return [pytest.param(row, id=row["case"]) for row in load(name).to_dict("records")]


def expected_bool(value: float) -> Any:
    return pd.NA if pd.isna(value) else bool(value)


def same_score(actual: Any, expected: float) -> bool:
    """Equal points, or both not assessable (NaN). Weights are multiples of 0.25: exact."""
    return bool(np.isnan(actual)) if pd.isna(expected) else actual == expected


def assert_range(scores: index_formulas.ScoreRange, row: dict[str, Any]) -> None:
    assert (scores.low, scores.high) == (row["expected_low"], row["expected_high"])


def as_nullable(table: pd.DataFrame, items: list[str]) -> dict[str, pd.Series]:
    """Table columns in the dtypes of a validated frame, on a non-default index."""
    index = pd.Index([f"p{i}" for i in range(len(table))])
    return {
        name: pd.Series(
            table[name].to_numpy(),
            index=index,
            dtype="float64" if name in NUMERIC_ITEMS else "boolean",
        )
        for name in items
    }


# --- EScSG: clinical-reference.md §2.3 worked cases A-E + hand-computed cut-offs ------------


@pytest.mark.parametrize("row", rows("escsg_activity_index.csv"))
def test_escsg_worked_examples(row: dict[str, Any]) -> None:
    """§2.3 A-E and hand-computed boundary rows (see the row's ``source``)."""
    items = {name: row[name] for name in ESCSG_ITEMS}
    assert_range(index_formulas.escsg_activity_range(**items), row)
    index = index_formulas.escsg_activity_index(**items)
    assert same_score(index, row["expected_index"])
    assert index_formulas.escsg_active(index) is expected_bool(row["expected_active_ge3"])
    strict = index_formulas.escsg_activity_index(**items, inclusive=False)
    assert same_score(strict, row["expected_index_gt3"])
    assert (index_formulas.escsg_active(strict, inclusive=False)
            is expected_bool(row["expected_active_gt3"]))


def test_escsg_series_matches_table_and_keeps_index() -> None:
    """Vectorised over the §2.3 table with validated (nullable) dtypes."""
    table = load("escsg_activity_index.csv")
    columns = as_nullable(table, ESCSG_ITEMS)
    result = index_formulas.escsg_activity_index(**columns)
    assert isinstance(result, pd.Series)
    assert result.index.equals(columns["mrss_total"].index)
    np.testing.assert_array_equal(result.to_numpy(), table["expected_index"].to_numpy())
    active = index_formulas.escsg_active(result)
    assert active.dtype == "boolean"
    assert active.tolist() == [expected_bool(v) for v in table["expected_active_ge3"]]
    scores = index_formulas.escsg_activity_range(**columns)
    assert scores.high.index.equals(result.index)
    np.testing.assert_array_equal(scores.high.to_numpy(), table["expected_high"].to_numpy())


def test_escsg_numpy_matches_scalar() -> None:
    table = load("escsg_activity_index.csv")
    result = index_formulas.escsg_activity_index(**{n: table[n].to_numpy() for n in ESCSG_ITEMS})
    assert isinstance(result, np.ndarray)
    scalars = [
        index_formulas.escsg_activity_index(**{n: r[n] for n in ESCSG_ITEMS})
        for r in table.to_dict("records")
    ]
    np.testing.assert_array_equal(result, scalars)


def test_escsg_weights_sum_to_ten() -> None:
    """§2.1: maximum 10.0 [S34]."""
    assert sum(index_formulas.ESCSG_WEIGHTS.values()) == 10.0


def test_escsg_active_missing_index_is_na() -> None:
    assert index_formulas.escsg_active(np.array([3.0, np.nan])).tolist() == [True, pd.NA]
    assert index_formulas.escsg_active(None) is pd.NA


# --- revised EUSTAR: §3 worked cases A-D + hand-computed cut-offs ----------------------------


@pytest.mark.parametrize("row", rows("eustar_activity_index.csv"))
def test_eustar_worked_examples(row: dict[str, Any]) -> None:
    """§3 A-D (CRP converted to mg/L) and hand-computed CRP / DLCO / 2.5 boundaries."""
    items = {name: row[name] for name in EUSTAR_ITEMS}
    assert_range(index_formulas.eustar_activity_range(**items), row)
    index = index_formulas.eustar_activity_index(**items)
    assert same_score(index, row["expected_index"])
    assert index_formulas.eustar_active(index) is expected_bool(row["expected_active"])


def test_eustar_series_matches_table() -> None:
    table = load("eustar_activity_index.csv")
    result = index_formulas.eustar_activity_index(**as_nullable(table, EUSTAR_ITEMS))
    np.testing.assert_array_equal(result.to_numpy(), table["expected_index"].to_numpy())
    assert result.index[0] == "p0"


def test_eustar_weights_sum_to_ten() -> None:
    """§3: range 0-10."""
    assert sum(index_formulas.EUSTAR_WEIGHTS.values()) == 10.0


def test_eustar_threshold_parameter() -> None:
    assert index_formulas.eustar_active(2.25) is False
    assert index_formulas.eustar_active(2.25, threshold=2.0) is True


# --- ACR/EULAR 2013: §4 worked cases A-F + hand-computed category maxima ---------------------


@pytest.mark.parametrize("row", rows("acr_eular_2013_score.csv"))
def test_acr_eular_worked_examples(row: dict[str, Any]) -> None:
    """§4 A-F and hand-computed rows (see ``source``)."""
    findings = {name: row[name] for name in ACR_ITEMS}
    assert_range(index_formulas.acr_eular_2013_range(**findings), row)
    score = index_formulas.acr_eular_2013_score(**findings)
    assert same_score(score, row["expected_score"])
    assert (index_formulas.acr_eular_2013_classified(score)
            is expected_bool(row["expected_classified"]))


def test_acr_eular_series_matches_table() -> None:
    table = load("acr_eular_2013_score.csv")
    result = index_formulas.acr_eular_2013_score(**as_nullable(table, ACR_ITEMS))
    np.testing.assert_array_equal(result.to_numpy(), table["expected_score"].to_numpy())
    classified = index_formulas.acr_eular_2013_classified(result)
    assert classified.tolist() == [expected_bool(v) for v in table["expected_classified"]]
    scores = index_formulas.acr_eular_2013_range(**as_nullable(table, ACR_ITEMS))
    np.testing.assert_array_equal(scores.low.to_numpy(), table["expected_low"].to_numpy())


# --- hypocomplementaemia from C3/C4 (hand-computed, dictionary default limits) ---------------


@pytest.mark.parametrize("row", rows("hypocomplementemia.csv"))
def test_hypocomplementemia(row: dict[str, Any]) -> None:
    result = index_formulas.hypocomplementemia_from_complement(row["c3_g_l"], row["c4_g_l"])
    assert result is expected_bool(row["expected"])


def test_hypocomplementemia_series_and_limits() -> None:
    table = load("hypocomplementemia.csv")
    result = index_formulas.hypocomplementemia_from_complement(table["c3_g_l"], table["c4_g_l"])
    assert result.dtype == "boolean"
    assert result.tolist() == [expected_bool(v) for v in table["expected"]]
    assert index_formulas.hypocomplementemia_from_complement(0.95, 0.2, c3_lower_limit_g_l=1.0)


# --- mRSS total from sites (§1.1) ----------------------------------------------------------


def test_mrss_total_from_sites_sums_and_propagates_missing() -> None:
    sites = pd.DataFrame(
        {name: pd.array([1, 3, 2], dtype="Int64") for name in MRSS_SITE_FIELDS},
        index=["a", "b", "c"],
    )
    sites.loc["c", "mrss_face"] = pd.NA
    total = index_formulas.mrss_total_from_sites(sites)
    assert total.index.tolist() == ["a", "b", "c"]
    assert total.tolist()[:2] == [17.0, 51.0]
    assert np.isnan(total["c"])


def test_mrss_total_from_sites_needs_every_site() -> None:
    sites = pd.DataFrame({name: [1] for name in MRSS_SITE_FIELDS[:-1]})
    with pytest.raises(KeyError, match="mrss_feet_l"):
        index_formulas.mrss_total_from_sites(sites)


# --- input handling shared by every calculator ---------------------------------------------


def _escsg_with_mrss(mrss: Any) -> Any:
    return index_formulas.escsg_activity_index(mrss, 0, 0, 0, 0, 0, 90, 0, 10, 0)


def test_object_array_with_none_is_missing() -> None:
    """mRSS > 14 is the only item at stake (1 point of at most 1.0): not active either way."""
    scores = index_formulas.escsg_activity_range(
        np.array([20, None, pd.NA], dtype=object), 0, 0, 0, 0, 0, 90, 0, 10, 0)
    np.testing.assert_array_equal(scores.low, [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(scores.high, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(_escsg_with_mrss(np.array([20, None], dtype=object)), [1, 0])


def test_list_input_returns_numpy() -> None:
    assert isinstance(_escsg_with_mrss([20, 10]), np.ndarray)


def test_scalar_input_returns_python_float() -> None:
    assert type(_escsg_with_mrss(20)) is float


@pytest.mark.parametrize(
    "text",
    [
        pd.Series(["20"], dtype="string"),
        pd.Series(["20"]),
        np.array(["20"]),
        np.array(["20"], dtype=object),
    ],
)
def test_text_input_is_refused(text: Any) -> None:
    with pytest.raises(TypeError, match="expected numbers or booleans"):
        _escsg_with_mrss(text)


def test_series_with_different_indexes_are_refused() -> None:
    with pytest.raises(ValueError, match="share one index"):
        index_formulas.eustar_activity_index(
            pd.Series([True], index=["a"]), pd.Series([20], index=["b"]), 0, 0, 0, 90
        )


def test_boolean_numpy_result_is_nullable_array() -> None:
    result = index_formulas.acr_eular_2013_classified(np.array([9.0, 8.0, np.nan]))
    assert isinstance(result, pd.arrays.BooleanArray)
    assert result.tolist() == [True, False, pd.NA]
