"""``ssc-response describe`` end to end: a REDCap export in, the report out, one MLflow run.

Real components: the real program, a REDCap export made from a simulated cohort, a temporary
SQLite MLflow store.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ssc_response.cli.main import build_app
from ssc_response.training.describe_run import DESCRIBE_EXPERIMENT
from ssc_response.training.simulation import simulate_cohort
from tests.centre_files import centre_workbook, original_records, write_mapping
from tests.redcap_export import to_redcap_export

runner = CliRunner()
BEFORE_AFTER = ["measure", "n_paired", "median_before", "median_after", "median_change",
                "change_ci_low", "change_ci_high", "wilcoxon_p"]


def describe(data: Path, output: Path) -> object:
    return runner.invoke(build_app(), ["describe", "--data", str(data), "--output", str(output)])


def test_describes_a_redcap_export_as_the_cohort_itself(tmp_path: Path, tmp_mlflow: str) -> None:
    import mlflow

    cohort = simulate_cohort(40, seed=5)
    cohort.to_csv(tmp_path / "cohort.csv", index=False)
    to_redcap_export(cohort, labels=True, missing_code="ND").to_csv(tmp_path / "redcap.csv",
                                                                    index=False)
    result = describe(tmp_path / "redcap.csv", tmp_path / "from_redcap")
    assert result.exit_code == 0, result.output
    assert "REDCap export" in result.output
    assert describe(tmp_path / "cohort.csv", tmp_path / "from_csv").exit_code == 0
    out = tmp_path / "from_redcap"
    for name in ("report.html", "table1.csv", "before_after.csv", "responders.csv",
                 "before_after_mrss_total.png"):
        assert (out / name).is_file(), name
    table = pd.read_csv(out / "before_after.csv")
    assert list(table.columns) == BEFORE_AFTER
    pd.testing.assert_frame_equal(table, pd.read_csv(tmp_path / "from_csv" / "before_after.csv"),
                                  rtol=1e-12)
    runs = mlflow.search_runs(experiment_names=[DESCRIBE_EXPERIMENT])
    assert len(runs) == 2
    assert set(runs["tags.data.redcap_export"]) == {"true", "false"}
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(runs["run_id"][0],
                                                                      "describe")}
    assert "describe/report.html" in artifacts


@pytest.mark.parametrize("content", ["patient_id,age_years,sex,disease_duration_months\n"
                                     "P1,12,F,10\n"], ids=["age below 18"])
def test_bad_data_exits_2_and_writes_nothing(tmp_path: Path, tmp_mlflow: str,
                                              content: str) -> None:
    data = tmp_path / "bad.csv"
    data.write_text(content, encoding="utf-8")
    result = describe(data, tmp_path / "report")
    assert result.exit_code == 2
    assert "age_years" in result.output and "nothing was written" in result.output
    assert not (tmp_path / "report").exists()


def test_an_unreadable_redcap_export_exits_2_and_writes_nothing(tmp_path: Path,
                                                               tmp_mlflow: str) -> None:
    data = tmp_path / "redcap.csv"
    data.write_text("patient_id,redcap_event_name,age_years\nP1,baseline_arm_1,40\n"
                    "P1,baseline_arm_1,41\n", encoding="utf-8")
    result = describe(data, tmp_path / "report")
    assert result.exit_code == 2
    assert "'P1' has more than one baseline row" in result.output
    assert not (tmp_path / "report").exists()


def test_a_centre_workbook_through_its_mapping_describes_like_the_original(
        tmp_path: Path, tmp_mlflow: str) -> None:
    """--mapping (and .xlsx) as for every command that reads patients: same tables."""
    original = tmp_path / "original.csv"
    pd.DataFrame(original_records()).to_csv(original, index=False)
    workbook = centre_workbook(tmp_path / "centre.xlsx")
    mapping = write_mapping(tmp_path)

    mapped = runner.invoke(build_app(), ["describe", "--data", str(workbook), "--mapping",
                                         str(mapping), "--output", str(tmp_path / "mapped")])
    plain = describe(original, tmp_path / "plain")

    assert mapped.exit_code == 0, mapped.output
    assert plain.exit_code == 0, plain.output
    for table in ("before_after.csv", "responders.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "mapped" / table),
                                      pd.read_csv(tmp_path / "plain" / table))
