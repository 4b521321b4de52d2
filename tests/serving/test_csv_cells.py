"""CSV formula injection (OWASP, "CSV Injection": prefix =, +, -, @, tab and carriage return
with a single quote); numbers and harmless text are left as they are."""

from __future__ import annotations

import pandas as pd
import pytest

from ssc_response.serving.csv_cells import neutralised, neutralised_frame


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-A1", "@SUM(A1)", "\tx", "\rx",
                                  "=HYPERLINK(\"http://x\")"])
def test_formula_prefixes_are_quoted(cell: str) -> None:
    assert neutralised(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["P-001", "a=b", "", -3.5, 0, None, "'already"])
def test_other_cells_are_unchanged(cell: object) -> None:
    assert neutralised(cell) == cell


def test_a_frame_keeps_its_numbers_and_quotes_its_text() -> None:
    frame = pd.DataFrame({"patient_id": ["-X", "Y"], "delta": [-2.5, 1.0]})

    out = neutralised_frame(frame)

    assert out["patient_id"].tolist() == ["'-X", "Y"]
    assert out["delta"].tolist() == [-2.5, 1.0] and frame["patient_id"].tolist() == ["-X", "Y"]
