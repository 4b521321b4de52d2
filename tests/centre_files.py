"""A centre's own spreadsheet and its mapping file (test helper, no tests here).

The same two patients as ``original_records`` gives them, kept as a centre would: its column
names, codes, units and dates. Used by the mapping tests and the commands that read patients.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from tests.factories import make_followup, make_patient

# Written as a centre would; the values below are checked against hand computations.
CENTRE_YAML = """\
columns:
  Pseudonym: patient_id
  Alter: age_years
  Geschlecht: sex
  PAH: pah
  CRP: crp_mg_l
  C3: c3_g_l
drop: [Station]
codes:
  sex: {w: F, m: M}
  pah: {"1": "yes", "0": "no"}
units:
  crp_mg_l: mg/dL
  c3_g_l: mg/dL
dates:
  disease_duration_months: {start: Erstsymptom, end: Visite, format: "%d.%m.%Y"}
"""


def write_mapping(directory: Path, text: str = CENTRE_YAML) -> Path:
    path = directory / "centre.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def original_records() -> list[dict[str, object]]:
    # disease_duration_months 12.02: 2020-01-01 to 2021-01-01 is 366 days (2020 is a leap year);
    # 366 / (365.25 / 12) = 12.0246 -> 12.02. CRP 1.2 mg/dL = 12 mg/L (1 dL = 0.1 L; also
    # shared/clinical-reference.md: 1 mg/dL = 10 mg/L). C3 90 mg/dL = 0.9 g/L.
    return [
        {**make_patient(patient_id="A", sex="F", pah=True, crp_mg_l=12.0, c3_g_l=0.9,
                        disease_duration_months=12.02), **make_followup()},
        {**make_patient(patient_id="B", sex="M", pah=False, crp_mg_l=3.5, c3_g_l=1.1,
                        disease_duration_months=12.02), **make_followup()},
    ]


CENTRE_NAMES = {"patient_id": "Pseudonym", "age_years": "Alter", "sex": "Geschlecht",
                "pah": "PAH", "crp_mg_l": "CRP", "c3_g_l": "C3"}


def centre_workbook(path: Path, records: list[dict[str, object]] | None = None) -> Path:
    """The same patients (default: :func:`original_records`) as the centre keeps them: its
    names, codes, units and dates."""
    from openpyxl import Workbook

    records = original_records() if records is None else records
    rows = []
    for record in records:
        row = {CENTRE_NAMES.get(k, k): v for k, v in record.items()
               if k != "disease_duration_months"}
        row.update(Geschlecht={"F": "w", "M": "m"}[str(record["sex"])],
                   PAH=int(bool(record["pah"])), CRP=float(str(record["crp_mg_l"])) / 10,
                   C3=float(str(record["c3_g_l"])) * 100,
                   Erstsymptom="01.01.2020", Visite=datetime(2021, 1, 1), Station="4B")
        rows.append(row)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(rows[0]))
    for row in rows:
        sheet.append(list(row.values()))
    book.save(path)
    return path
