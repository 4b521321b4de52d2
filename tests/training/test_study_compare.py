"""Two studies of the same cohorts compared seed by seed (issue 19's "no worse than before")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ssc_response.cli.main import build_app
from ssc_response.training.study_compare import compare_studies, comparison_markdown


def results(aurocs: list[float], slopes: list[float], n: int = 150) -> pd.DataFrame:
    return pd.DataFrame({
        "scenario": "founding_centre", "n": n, "seed": range(1, len(aurocs) + 1),
        "status": "ok",
        "external_auroc": aurocs, "reported_auroc": aurocs,
        "external_calibration_slope": slopes, "reported_calibration_slope": slopes,
    })


def test_paired_differences_and_their_monte_carlo_error_by_hand() -> None:
    """Hand-computed: AUROC differences new - old = -0.02, 0.00, +0.01: mean -0.01/3 = -0.00333,
    SD (ddof 1) = sqrt(((-0.01667)² + 0.00333² + 0.01333²) / 2) = 0.015275, SE = 0.015275 / √3
    = 0.008819. Slopes: medians 1.0 (old) and 1.2 (new), difference +0.2 > 0.1: fails."""
    old = results([0.70, 0.75, 0.80], [0.9, 1.0, 1.1])
    new = results([0.68, 0.75, 0.81], [1.1, 1.2, 1.3])

    row = compare_studies(old, new).iloc[0]

    assert row["seeds"] == 3
    assert row["external_auroc_diff"] == pytest.approx(-0.01 / 3, abs=1e-12)
    assert row["external_auroc_diff_se"] == pytest.approx(0.008819, abs=1e-6)
    assert bool(row["external_auroc_ok"])
    assert row["external_slope_diff"] == pytest.approx(0.2, abs=1e-12)
    assert row["external_slope_paired_diff"] == pytest.approx(0.2, abs=1e-12)
    assert not bool(row["external_slope_ok"])
    assert not bool(row["external_slope_nearer_one"])  # |1.2 - 1| > |1.0 - 1|
    assert "| 1.00 | 1.20 | +0.20; +0.20 ± 0.00 | **no** |" in comparison_markdown(
        compare_studies(old, new))


def test_a_slope_moving_towards_one_is_said_to_be_nearer_one() -> None:
    old = results([0.70, 0.70, 0.70], [0.3, 0.4, 0.5])  # median 0.4: overfitted
    new = results([0.70, 0.70, 0.70], [0.8, 0.9, 1.0])  # median 0.9

    row = compare_studies(old, new).iloc[0]

    assert not bool(row["external_slope_ok"]) and bool(row["external_slope_nearer_one"])
    assert "no, but nearer 1" in comparison_markdown(compare_studies(old, new))


def test_only_cohorts_both_studies_ran_are_paired() -> None:
    old = results([0.70, 0.75, 0.80], [1.0, 1.0, 1.0])
    new = results([0.60, 0.75, 0.80], [1.0, 1.0, 1.0])
    new.loc[0, "status"] = "skipped: one class"  # seed 1 (the worse one) not run by the new

    row = compare_studies(old, new).iloc[0]

    assert row["seeds"] == 2
    assert row["external_auroc_diff"] == pytest.approx(0.0, abs=1e-12)


def test_a_drop_of_more_than_the_margin_fails_and_the_table_says_so(tmp_path: Path) -> None:
    old = results([0.80, 0.80], [1.0, 1.0])
    new = results([0.78, 0.78], [1.05, 1.05])

    comparison = compare_studies(old, new)

    assert not bool(comparison.loc[0, "external_auroc_ok"])
    assert np.isclose(comparison.loc[0, "external_auroc_diff_se"], 0.0, atol=1e-12)
    table = comparison_markdown(comparison)
    assert "| founding_centre | 150 | 2 | 0.800 | 0.780 | -0.020 ± 0.000 | **no** |" in table
    old.to_csv(tmp_path / "old.csv", index=False)
    new.to_csv(tmp_path / "new.csv", index=False)
    command = CliRunner().invoke(build_app(), ["study-compare", str(tmp_path / "old.csv"),
                                               str(tmp_path / "new.csv")])
    assert command.exit_code == 0, command.output
    assert "deployment (fresh patients)" in command.output and "**no**" in command.output
    missing = CliRunner().invoke(build_app(), ["study-compare", str(tmp_path / "old.csv"),
                                               str(tmp_path / "absent.csv")])
    assert missing.exit_code == 2
