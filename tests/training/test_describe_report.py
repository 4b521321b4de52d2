"""The report's files and page, with and without follow-up visits."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ssc_response.features.schema import outcome_fields
from ssc_response.features.validation import validate_frame
from ssc_response.training.describe_report import write_report
from ssc_response.training.describe_run import describe_cohort
from ssc_response.training.simulation import simulate_cohort


def test_a_baseline_only_cohort_gets_table_1_and_says_why_nothing_else(tmp_path: Path) -> None:
    cohort = validate_frame(simulate_cohort(30, seed=8)).drop(columns=outcome_fields())
    tables = describe_cohort(cohort)
    assert (tables.before_after["n_paired"] == 0).all()
    assert tables.responders.empty
    assert "Overall" in tables.table1.columns and "responder" not in tables.table1.columns
    paths = write_report(tables, cohort, tmp_path, "baseline only")
    page = paths[0].read_text(encoding="utf-8")
    assert "No follow-up visits: nothing to compare." in page
    assert "<img" not in page
    assert list(pd.read_csv(tmp_path / "before_after.csv")["measure"])[0] == "mrss_total"


def test_the_page_escapes_what_it_shows(tmp_path: Path) -> None:
    cohort = validate_frame(simulate_cohort(12, seed=9))
    paths = write_report(describe_cohort(cohort), cohort, tmp_path, "<script>x</script>")
    page = paths[0].read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page
