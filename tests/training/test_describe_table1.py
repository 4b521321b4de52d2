"""Table 1: rows, groups, missing counts and the median-or-mean rule, checked by hand."""

from __future__ import annotations

import pandas as pd

from ssc_response.training.describe_table1 import GROUP_COLUMN, table_one


def small_cohort() -> pd.DataFrame:
    return pd.DataFrame({
        "patient_id": pd.array(["A", "B", "C", "D"], dtype="string"),
        "age_years": [40.0, 50.0, None, 60.0],
        "sex": pd.array(["F", "F", "M", "F"], dtype="string"),
        "mrss_total": pd.array([20, 30, 25, 22], dtype="Int64"),
        "mrss_face": pd.array([1, 2, 1, 1], dtype="Int64"),
        "crp_mg_l": [1.0, 1.0, 1.5, 120.0],
        "delta_skin": pd.array([True, False, None, True], dtype="boolean"),
    })


def rows_of(table: pd.DataFrame, name: str) -> pd.DataFrame:
    return table[table["variable"].str.split(",").str[0] == name]


def test_missing_count_and_percent_by_hand() -> None:
    table = table_one(small_cohort())
    age = rows_of(table, "age_years").iloc[0]
    assert (age["Missing"], age["Missing %"]) == ("1", "25.0")  # 1 of 4 patients
    assert age["Overall"] == "50.0 (10.0)"  # mean of 40, 50, 60; SD 10
    skin = rows_of(table, "delta_skin")
    assert len(skin) == 1  # the "yes" row only
    assert (skin.iloc[0]["Missing"], skin.iloc[0]["Missing %"]) == ("1", "25.0")
    assert (skin.iloc[0]["level"], skin.iloc[0]["Overall"]) == ("yes", "2 (66.7)")  # of 3 known


def test_scores_and_skewed_measures_are_medians() -> None:
    table = table_one(small_cohort())
    mrss = rows_of(table, "mrss_total").iloc[0]
    assert "median" in mrss["variable"]
    assert mrss["Overall"] == "23.5 [21.5,26.2]"  # 20 22 25 30: Q1 21.5, Q3 26.25
    assert "median" in rows_of(table, "crp_mg_l").iloc[0]["variable"]  # skewness 1.15 > 1
    assert "mean" in rows_of(table, "age_years").iloc[0]["variable"]


def test_sites_and_id_are_left_out() -> None:
    names = set(table_one(small_cohort())["variable"].str.split(",").str[0])
    assert "mrss_face" not in names and "patient_id" not in names


def test_groups_by_response_with_unknowns_apart() -> None:
    responder = pd.Series(pd.array([True, False, None, True], dtype="boolean"))
    table = table_one(small_cohort(), responder)
    assert {"Overall", "responder", "non-responder", "outcome unknown"} <= set(table.columns)
    n_row = table[table["variable"] == "n"].iloc[0]
    counts = (n_row["responder"], n_row["non-responder"], n_row["outcome unknown"])
    assert tuple(map(str, counts)) == ("2", "1", "1")
    assert GROUP_COLUMN not in set(table["variable"])


def test_a_level_nobody_has_and_a_field_nobody_has_still_show() -> None:
    cohort = small_cohort().assign(
        pah=pd.array([False] * 4, dtype="boolean"),
        arthritis=pd.array([None] * 4, dtype="boolean"))
    table = table_one(cohort)
    pah = rows_of(table, "pah")
    assert pah[["level", "Overall"]].values.tolist() == [["yes", "0 (0.0)"]]
    arthritis = rows_of(table, "arthritis").iloc[0]
    assert (arthritis["Missing"], arthritis["Missing %"]) == ("4", "100.0")
    names = list(dict.fromkeys(table["variable"].str.split(",").str[0]))
    assert names.index("arthritis") < names.index("pah")  # dictionary order kept
