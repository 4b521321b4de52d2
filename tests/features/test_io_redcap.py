"""Every reader of patient files takes a REDCap export of the project as it comes.

``train``, ``predict``, ``check`` and the upload page read through ``features.io``; a REDCap
export (raw or labels, variable-name or label headers, events as rows) is converted there, before
a centre's mapping and validation. The export is made by the test helper ``to_redcap_export``,
written from REDCap's conventions independently of the reader.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ssc_response.features.file_errors import FileProblem
from ssc_response.features.io import iter_table, read_cohort, read_uploaded_table
from ssc_response.features.validation import validate_frame
from ssc_response.training.simulation import simulate_cohort
from tests.redcap_export import to_redcap_export


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return validate_frame(simulate_cohort(40, seed=3))


@pytest.mark.parametrize("labels", [False, True], ids=["raw", "labels"])
def test_read_cohort_converts_an_export_file(cohort: pd.DataFrame, labels: bool,
                                             tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    to_redcap_export(cohort, labels, missing_code="UNK").to_csv(path, index=False)

    read = read_cohort(path)

    pd.testing.assert_frame_equal(read, cohort, check_exact=False, rtol=1e-12)


def test_a_labels_export_with_repeated_complete_headers_is_read(cohort: pd.DataFrame,
                                                                  tmp_path: Path) -> None:
    """REDCap's "CSV (labels)" export heads every form status "Complete?": not a duplicate."""
    path = tmp_path / "labels.csv"
    export = to_redcap_export(cohort, labels=True, missing_code="NASK", headers=True)
    export.to_csv(path, index=False)
    assert path.read_text(encoding="utf-8").splitlines()[0].count("Complete?") > 1

    pd.testing.assert_frame_equal(read_cohort(path), cohort, check_exact=False, rtol=1e-12)


def test_chunked_reading_keeps_each_patients_events_together(cohort: pd.DataFrame,
                                                             tmp_path: Path) -> None:
    """``predict`` reads in chunks; an export's baseline and follow-up rows must not be split."""
    path = tmp_path / "export.csv"
    to_redcap_export(cohort, labels=False).to_csv(path, index=False)

    chunks = list(iter_table(path, rows=7))

    assert len(chunks) == 1
    assert list(validate_frame(chunks[0])["patient_id"]) == list(cohort["patient_id"])


def test_the_upload_reader_converts_the_same_export(cohort: pd.DataFrame) -> None:
    export = to_redcap_export(cohort, labels=True, missing_code="ND")
    content = export.to_csv(index=False).encode("utf-8")

    read = validate_frame(read_uploaded_table(content, "export.csv"))

    pd.testing.assert_frame_equal(read, cohort, check_exact=False, rtol=1e-12)


def test_an_export_the_reader_cannot_use_is_a_one_line_file_problem(cohort: pd.DataFrame,
                                                                    tmp_path: Path) -> None:
    export = to_redcap_export(cohort.head(3), labels=False)
    doubled = pd.concat([export, export.iloc[[0]]])  # one patient with two baseline rows
    path = tmp_path / "export.csv"
    doubled.to_csv(path, index=False)

    with pytest.raises(FileProblem, match="REDCap export cannot be read"):
        read_cohort(path)
