"""Table I/O: raw CSV reading, CSV and Parquet round trips, atomic writes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ssc_response.features import io
from ssc_response.features.file_errors import FileProblem, FileTooLarge, TooManyRows
from ssc_response.features.validation import ContractError, validate_frame
from tests.factories import make_followup, make_patient

pytestmark = pytest.mark.contract  # the data contract: dictionary, rules, files


def typed_cohort() -> pd.DataFrame:
    records = [
        {**make_patient(patient_id="A"), **make_followup()},
        make_patient(patient_id="B", pah=None, crp_mg_l=None, fibrosis_grade=None, sex="M"),
    ]
    return validate_frame(pd.DataFrame(records))


@pytest.mark.parametrize("name", ["cohort.csv", "cohort.parquet", "cohort.pq", "COHORT.CSV"])
def test_round_trip_keeps_values_and_dtypes(tmp_path: Path, name: str) -> None:
    cohort = typed_cohort()
    io.write_table(cohort, tmp_path / name)
    pd.testing.assert_frame_equal(io.read_cohort(tmp_path / name), cohort)


def test_csv_writes_missing_as_blank_and_booleans_as_words(tmp_path: Path) -> None:
    io.write_table(typed_cohort(), tmp_path / "cohort.csv")
    text = pd.read_csv(tmp_path / "cohort.csv", dtype=str, keep_default_na=False)
    assert list(text["pah"]) == ["false", ""]
    assert list(text["delta_skin"]) == ["true", "true"]
    assert list(text["fibrosis_grade"]) == ["2", ""]


def test_csv_is_read_as_raw_text(tmp_path: Path) -> None:
    path = tmp_path / "raw.csv"
    path.write_text("patient_id,crp_mg_l,pah,mrss_total\nA,NA,,3.0\n", encoding="utf-8")
    raw = io.read_table(path)
    assert raw.iloc[0].tolist() == ["A", "NA", "", "3.0"]


def test_csv_byte_order_mark_does_not_rename_the_first_column(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text("patient_id,age_years\nA,40\n", encoding="utf-8-sig")
    assert list(io.read_table(path).columns) == ["patient_id", "age_years"]


def test_csv_problems_use_data_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "cohort.csv"
    rows = [make_patient(patient_id="A"), make_patient(patient_id="B", age_years="12")]
    pd.DataFrame(rows).to_csv(path, index=False)
    with pytest.raises(ContractError) as caught:
        io.read_cohort(path)
    assert str(caught.value.problems[0]) == (
        "row 2, field 'age_years', value '12': must be between 18 and 90 years"
    )


@pytest.mark.parametrize("name", ["cohort.xls", "cohort", "cohort.csv.gz"])
def test_unknown_extension_is_refused_clearly(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match=r"unsupported file type .* expected one of \.csv"):
        io.read_table(tmp_path / name)
    with pytest.raises(ValueError, match="unsupported file type"):
        io.write_table(typed_cohort(), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def failing_write(frame: pd.DataFrame, path: Path, kind: str) -> None:
    path.write_text("half a tab")
    raise OSError("disk full")


def test_failed_write_leaves_no_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(io, "_write", failing_write)
    with pytest.raises(OSError, match="disk full"):
        io.write_table(typed_cohort(), tmp_path / "out.csv")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.parquet"
    target.write_bytes(b"previous results")
    monkeypatch.setattr(io, "_write", failing_write)
    with pytest.raises(OSError):
        io.write_table(typed_cohort(), target)
    assert target.read_bytes() == b"previous results"
    assert list(tmp_path.iterdir()) == [target]


def test_write_replaces_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old")
    io.write_table(typed_cohort(), target)
    assert io.read_cohort(target)["patient_id"].tolist() == ["A", "B"]
    assert list(tmp_path.iterdir()) == [target]


# --- reading a centre's files: formats, encodings and bad files (issue 20) -----------------

def write_xlsx(path: Path, rows: list[list[object]], sheet: str = "Patients") -> Path:
    from openpyxl import Workbook

    book = Workbook()
    worksheet = book.active
    assert worksheet is not None
    worksheet.title = sheet
    for row in rows:
        worksheet.append(row)
    notes = book.create_sheet("Notes")
    notes.append(["written by the test"])
    notes.append(["a second line"])
    book.save(path)
    return path


def cohort_rows() -> list[list[object]]:
    patients = [make_patient(patient_id="A"), make_patient(patient_id="B", sex="M")]
    names = list(patients[0])
    return [names, *[[patient[name] for name in names] for patient in patients]]


def test_xlsx_reads_the_first_sheet_like_the_csv(tmp_path: Path) -> None:
    rows = cohort_rows()
    pd.DataFrame(rows[1:], columns=rows[0]).to_csv(tmp_path / "cohort.csv", index=False)
    workbook = write_xlsx(tmp_path / "cohort.xlsx", rows)
    pd.testing.assert_frame_equal(io.read_cohort(workbook), io.read_cohort(tmp_path / "cohort.csv"))


def test_xlsx_sheet_is_chosen_by_name(tmp_path: Path) -> None:
    workbook = write_xlsx(tmp_path / "cohort.xlsx", cohort_rows())
    assert list(io.read_table(workbook, io.ReadOptions(sheet="Notes")).columns) == [
        "written by the test"]


def test_a_sheet_that_does_not_exist_is_named_with_the_sheets_there_are(tmp_path: Path) -> None:
    workbook = write_xlsx(tmp_path / "cohort.xlsx", cohort_rows())
    with pytest.raises(FileProblem) as caught:
        io.read_table(workbook, io.ReadOptions(sheet="Baseline"))
    assert str(caught.value) == ("the workbook has no sheet named 'Baseline'; its sheets are "
                                 "'Patients', 'Notes'")


def test_latin1_csv_names_the_line_and_the_remedy(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("patient_id,biopsy_site\nA,forearm\nB,avant-bras gauche é\n".encode("cp1252"))
    with pytest.raises(FileProblem) as caught:
        io.read_table(path)
    assert str(caught.value) == ("the file is not UTF-8 (line 3); save it as UTF-8 or pass "
                                 "--encoding cp1252")
    raw = io.read_table(path, io.ReadOptions(encoding="cp1252"))
    assert raw["biopsy_site"].tolist() == ["forearm", "avant-bras gauche é"]


@pytest.mark.parametrize("encoding", ["klingon", "rot13"])
def test_an_unknown_encoding_is_refused(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "cohort.csv"
    path.write_text("patient_id\nA\n")
    with pytest.raises(FileProblem, match=f"unknown encoding '{encoding}': name one such as"):
        io.read_table(path, io.ReadOptions(encoding=encoding))


def parquet_of(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_parquet(path, index=False)
    return path


BAD_FILES = {
    "empty.csv": (b"", "the file is empty: it has no header row and no patients"),
    "blank.csv": (b"\n\n  \n", "the file is empty: it has no header row and no patients"),
    "header.csv": (b"patient_id,age_years\n",
                   "the file has a header row but no patients: add one row per patient"),
    "twice.csv": (b"patient_id,age_years,patient_id\nA,40,A\n",
                  "the header row names the same column more than once ('patient_id')"),
    "ragged.csv": (b"patient_id,age_years\nA,40,1\n",
                   "the file could not be read as a CSV table: a row has more cells than"),
    "unnamed.csv": (b"patient_id,,age_years\nA,x,40\n",
                    "column 2 holds values but its header cell is blank"),
    "broken.parquet": (b"PAR1 not really", "the file could not be read as Parquet"),
    "broken.xlsx": (b"PK not a zip", "the file could not be read as an Excel workbook (.xlsx)"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_a_bad_file_gets_one_line_in_words(tmp_path: Path, name: str) -> None:
    content, start = BAD_FILES[name]
    (tmp_path / name).write_bytes(content)
    for read in (lambda: io.read_table(tmp_path / name),
                 lambda: io.read_uploaded_table(content, name)):
        with pytest.raises(FileProblem) as caught:
            read()
        assert str(caught.value).startswith(start)
        assert "\n" not in str(caught.value)


def test_parquet_and_xlsx_header_problems(tmp_path: Path) -> None:
    no_rows = pd.DataFrame({"patient_id": pd.Series([], dtype=str)})
    empty = parquet_of(tmp_path / "empty.parquet", no_rows)
    with pytest.raises(FileProblem, match="a header row but no patients"):
        io.read_table(empty)
    with pytest.raises(FileProblem, match="a header row but no patients"):
        io.read_table(write_xlsx(tmp_path / "header.xlsx", [["patient_id", "age_years"]]))
    twice = write_xlsx(tmp_path / "twice.xlsx", [["patient_id", "sex", "sex"], ["A", "F", "F"]])
    with pytest.raises(FileProblem, match=r"same column more than once \('sex'\)"):
        io.read_table(twice)


def test_a_trailing_empty_column_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text("patient_id,age_years,\nA,40,\n")
    assert list(io.read_table(path).columns) == ["patient_id", "age_years"]


def test_limits_refuse_a_long_file_before_reading_its_rows(tmp_path: Path) -> None:
    limits = io.ReadOptions(limits=io.Limits(rows=3))
    ids = pd.DataFrame({"patient_id": [f"P{i}" for i in range(4)]})
    csv_text = ids.to_csv(index=False).encode()
    with pytest.raises(TooManyRows, match="more than 3 patients"):
        io.read_uploaded_table(csv_text, "ids.csv", limits)
    parquet = parquet_of(tmp_path / "ids.parquet", ids).read_bytes()
    with pytest.raises(TooManyRows, match="more than 3 patients"):
        io.read_uploaded_table(parquet, "ids.parquet", limits)
    rows: list[list[object]] = [["patient_id"], *[[f"P{i}"] for i in range(4)]]
    workbook = write_xlsx(tmp_path / "ids.xlsx", rows).read_bytes()
    with pytest.raises(TooManyRows, match="more than 3 patients"):
        io.read_uploaded_table(workbook, "ids.xlsx", limits)


def test_parquet_size_limit_comes_from_the_footer(tmp_path: Path) -> None:
    frame = pd.DataFrame({"patient_id": [str(i) * 10_000 for i in range(3)]})
    content = parquet_of(tmp_path / "wide.parquet", frame).read_bytes()
    options = io.ReadOptions(limits=io.Limits(bytes=20_000))
    with pytest.raises(FileTooLarge, match="at most 0.0 MiB can be read at once"):
        io.read_uploaded_table(content, "wide.parquet", options)


def test_encoding_and_sheet_only_where_they_apply(tmp_path: Path) -> None:
    path = parquet_of(tmp_path / "c.parquet", pd.DataFrame({"patient_id": ["A"]}))
    with pytest.raises(FileProblem, match="an encoding applies to CSV files only"):
        io.read_table(path, io.ReadOptions(encoding="cp1252"))
    with pytest.raises(FileProblem, match=r"a sheet applies to Excel workbooks \(.xlsx\) only"):
        io.read_table(path, io.ReadOptions(sheet="Patients"))


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_chunks_read_what_the_whole_read_reads(tmp_path: Path, suffix: str) -> None:
    rows = cohort_rows()
    frame = pd.DataFrame(rows[1:] * 3, columns=rows[0]).assign(
        patient_id=[f"P{i}" for i in range(6)])
    path = tmp_path / f"cohort{suffix}"
    if suffix == ".xlsx":
        write_xlsx(path, [list(frame.columns), *frame.values.tolist()])
    elif suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.astype(str).to_parquet(path, index=False)
    chunks = list(io.iter_table(path, 4))
    assert [len(chunk) for chunk in chunks] == [4, 2]
    assert chunks[1].index.tolist() == [4, 5]
    pd.testing.assert_frame_equal(pd.concat(chunks), io.read_table(path))
    assert [len(chunk) for chunk in io.iter_table(path, 3)] == [3, 3]  # no empty last chunk


@pytest.mark.parametrize("content", [b"", b"patient_id\n"])
def test_chunks_refuse_a_file_without_patients(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "none.csv").write_bytes(content)
    with pytest.raises(FileProblem):
        list(io.iter_table(tmp_path / "none.csv", 10))


def test_a_bad_byte_in_a_later_chunk_is_named_by_line(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    lines = [b"patient_id,biopsy_site"] + [b"P%d,forearm" % i for i in range(6)] + [b"Q,\xe9"]
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(FileProblem, match=r"^the file is not UTF-8 \(line 8\); save it as UTF-8"):
        list(io.iter_table(path, 2))
