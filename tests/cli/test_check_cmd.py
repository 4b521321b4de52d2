"""``check`` and the file options of every command that reads patients (issue 20).

Every bad file gets one line naming the cause, exit code 2 and no output file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import typer
from click.testing import Result
from typer.testing import CliRunner

from ssc_response.cli import check_cmd, features_cmd
from tests.factories import make_followup, make_patient
from tests.features.test_mapping import centre_workbook, original_records, write_mapping

runner = CliRunner()


def run(*args: str | Path) -> Result:
    app = typer.Typer()
    app.callback()(lambda: None)  # keep the commands sub-commands, as in the real program
    check_cmd.register(app)
    features_cmd.register(app)
    return runner.invoke(app, [str(arg) for arg in args])


def test_check_prints_the_mapping_and_the_table_holds(tmp_path: Path) -> None:
    workbook = centre_workbook(tmp_path / "centre.xlsx")
    result = run("check", "--data", workbook, "--mapping", write_mapping(tmp_path))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "  renamed 'Geschlecht' -> sex" in lines
    assert "  converted crp_mg_l from mg/dL to mg/L (x 10)" in lines
    assert "  recoded sex: 'w' -> 'F', 'm' -> 'M'" in lines
    assert "  dropped 'Station'" in lines
    width = len(original_records()[0])  # every field of the original table
    assert lines[-1] == (f"centre.xlsx: 2 patients, {width} fields; every rule of the data "
                         "contract holds")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["centre.xlsx", "centre.yaml"]


def test_check_lists_unmapped_columns_and_broken_rules_by_row(tmp_path: Path) -> None:
    records = [make_patient(patient_id="A", sex="x"), make_patient(patient_id="B")]
    path = tmp_path / "centre.csv"
    pd.DataFrame(records).assign(Ward="4B").to_csv(path, index=False)
    mapping = write_mapping(tmp_path, "codes:\n  sex: {w: F}\n")
    result = run("check", "--data", path, "--mapping", mapping)
    assert result.exit_code == 2
    assert "  column 'Ward' maps to no field of the data dictionary" in result.stdout
    assert "row 1, field 'sex', value 'x': must be one of" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("error: ")
    assert "nothing was written" in result.stderr


BAD = {
    "empty.csv": (b"", "empty.csv: the file is empty: it has no header row and no patients"),
    "header.csv": (b"patient_id,age_years\n", "header.csv: the file has a header row but no "
                                              "patients"),
    "latin1.csv": ("patient_id,biopsy_site\nA,avant-bras é\n".encode("cp1252"),
                   "latin1.csv: the file is not UTF-8 (line 2); save it as UTF-8 or pass "
                   "--encoding cp1252"),
    "twice.csv": (b"patient_id,sex,sex\nA,F,F\n", "twice.csv: the header row names the same "
                                                  "column more than once ('sex')"),
}


@pytest.mark.parametrize("command", ["check", "features"])
@pytest.mark.parametrize("name", BAD)
def test_a_bad_file_gets_one_line_exit_2_and_nothing_written(tmp_path: Path, name: str,
                                                             command: str) -> None:
    content, message = BAD[name]
    (tmp_path / name).write_bytes(content)
    output = ["--output", tmp_path / "out.csv"] if command == "features" else []
    result = run(command, "--data", tmp_path / name, *output)
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {message}")
    assert "Traceback" not in result.output
    assert not (tmp_path / "out.csv").exists()


def test_unknown_encoding_and_missing_sheet(tmp_path: Path) -> None:
    csv_path = tmp_path / "c.csv"
    pd.DataFrame([make_patient()]).to_csv(csv_path, index=False)
    result = run("features", "--data", csv_path, "--output", tmp_path / "out.csv",
                 "--encoding", "klingon")
    assert result.exit_code == 2
    assert "error: c.csv: unknown encoding 'klingon': name one such as utf-8" in result.stderr
    workbook = centre_workbook(tmp_path / "centre.xlsx")
    result = run("features", "--data", workbook, "--output", tmp_path / "out.csv",
                 "--sheet", "Baseline")
    assert result.exit_code == 2
    assert result.stderr.strip() == ("error: centre.xlsx: the workbook has no sheet named "
                                     "'Baseline'; its sheets are 'Sheet'")
    assert not (tmp_path / "out.csv").exists()


def test_a_latin1_file_reads_with_its_encoding(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    pd.DataFrame([{**make_patient(), **make_followup()}]).to_csv(path, index=False,
                                                                 encoding="cp1252")
    result = run("features", "--data", path, "--output", tmp_path / "out.csv",
                 "--encoding", "cp1252")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.csv").exists()


def test_a_broken_mapping_file_exits_2(tmp_path: Path) -> None:
    csv_path = tmp_path / "c.csv"
    pd.DataFrame([make_patient()]).to_csv(csv_path, index=False)
    mapping = write_mapping(tmp_path, "units:\n  dlco_pct_pred: mmol/min/kPa\n")
    result = run("check", "--data", csv_path, "--mapping", mapping)
    assert result.exit_code == 2
    assert "not a unit conversion" in result.stderr
