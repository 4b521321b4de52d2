"""``ssc-response redcap-dictionary`` writes the dictionary file; a bad target exits 2."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from ssc_response.cli.main import build_app

runner = CliRunner()


def test_writes_a_dictionary_redcap_can_read(tmp_path: Path) -> None:
    target = tmp_path / "ssc_response_redcap.csv"
    result = runner.invoke(build_app(), ["redcap-dictionary", "--output", str(target)])
    assert result.exit_code == 0, result.output
    with target.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows[0]) == 18
    assert rows[0]["Variable / Field Name"] == "patient_id"


def test_a_missing_folder_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "absent" / "dictionary.csv"
    result = runner.invoke(build_app(), ["redcap-dictionary", "--output", str(target)])
    assert result.exit_code == 2
    assert "no such folder" in result.output
    assert not target.parent.exists()


def test_writes_the_event_mapping_of_a_longitudinal_project(tmp_path: Path) -> None:
    mapping = tmp_path / "events.csv"
    result = runner.invoke(build_app(), ["redcap-dictionary", "--output",
                                         str(tmp_path / "d.csv"), "--event-mapping",
                                         str(mapping)])
    assert result.exit_code == 0, result.output
    with mapping.open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert set(rows[0]) == {"arm_num", "unique_event_name", "form"}  # REDCap's upload columns
    events = {row["form"]: row["unique_event_name"] for row in rows}
    assert events["follow_up"] == "month_12_arm_1"
    assert events["mrss"] == events["skin_biopsy"] == "baseline_arm_1"
