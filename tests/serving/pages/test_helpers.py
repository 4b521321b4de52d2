"""Small parts of the pages: uploaded rows as records, the alias history, the access log."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from ssc_response.models.registry import VersionRecord
from ssc_response.serving.log_privacy import QueryRedacted
from ssc_response.serving.pages.routers.model import champion_periods
from ssc_response.serving.pages.tables import records_of


def test_rows_become_records_without_blanks() -> None:
    frame = pd.DataFrame({"patient_id": ["A", "B"], "age_years": [np.float64(40.5), np.nan],
                          "sex": ["F", " "]})
    assert records_of(frame) == [{"patient_id": "A", "age_years": 40.5, "sex": "F"},
                                 {"patient_id": "B"}]
    assert type(records_of(frame)[0]["age_years"]) is float


def version(number: int, promotion: str | None, day: int) -> VersionRecord:
    return VersionRecord(str(number), f"run{number}", datetime(2025, 1, day, tzinfo=UTC),
                         promotion, None if promotion != "failed" else "auroc 0.6 < 0.7", ())


def test_champion_periods_follow_the_promotion_gate() -> None:
    history = [version(1, "passed", 1), version(2, "failed", 2), version(3, "passed", 3)]
    periods = {p.record.version: p for p in champion_periods(history)}
    assert periods["1"].champion_from == datetime(2025, 1, 1, tzinfo=UTC)
    assert periods["1"].champion_until == datetime(2025, 1, 3, tzinfo=UTC)
    assert periods["2"].champion_from is None
    assert periods["3"].champion_until is None
    assert [p.record.version for p in champion_periods(history)] == ["3", "2", "1"]


def test_access_log_lines_lose_their_query_string() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:1", "GET", "/audit?patient_id=SSC-1", "1.1", 200),
                               None)
    QueryRedacted().filter(record)
    assert "SSC-1" not in record.getMessage() and "/audit?…" in record.getMessage()
