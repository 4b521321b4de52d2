"""The shape every patient file must have, whatever its format: named, distinct columns and at
least one row. Shared by the format readers (:mod:`features.file_formats`)."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import pandas as pd

from ssc_response.features.file_errors import FileProblem, TooManyRows

MAX_COLUMNS = 2_000  # the dictionary has under 100 fields; a REDCap export adds checkbox columns
UNNAMED = "\0"  # prefix of a placeholder name for a column whose header cell is blank

Source = Path | bytes  # a file on disk, or an upload's bytes


def binary(source: Source) -> IO[bytes]:
    """The file's bytes as an open binary stream (the caller closes it)."""
    return io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115


REDCAP_FORM_STATUS = "complete?"


def check_header(names: Sequence[object]) -> list[str]:
    """The column names, stripped; blank ones get a placeholder (see :func:`finish`).

    Refuses a header that names no column, names one column twice, or is absurdly wide.
    """
    if len(names) > MAX_COLUMNS:
        raise FileProblem(f"the file has {len(names)} columns; a patient file has at most "
                          f"{MAX_COLUMNS}")
    cleaned = [_name(value, position) for position, value in enumerate(names)]
    if all(name.startswith(UNNAMED) for name in cleaned):
        raise FileProblem("the header row names no columns: the first row of the file must hold "
                          "the column names")
    cleaned = _number_form_statuses(cleaned)
    repeated = [name for name, count in Counter(cleaned).items() if count > 1]
    if repeated:
        listed = ", ".join(repr(name) for name in repeated)
        raise FileProblem(f"the header row names the same column more than once ({listed}); "
                          "each column needs its own name")
    return cleaned


def _number_form_statuses(names: list[str]) -> list[str]:
    """REDCap's "CSV (labels)" export heads every form's status column "Complete?": number the
    repeats as pandas does ("Complete?.1", ...) so the REDCap reader can tell them apart."""
    seen = 0
    numbered = []
    for name in names:
        if name.lower() == REDCAP_FORM_STATUS:
            numbered.append(name if seen == 0 else f"{name}.{seen}")
            seen += 1
        else:
            numbered.append(name)
    return numbered


def _name(value: object, position: int) -> str:
    text = "" if value is None else str(value).strip()
    return text or f"{UNNAMED}{position}"


def finish(frame: pd.DataFrame, max_rows: int | None) -> pd.DataFrame:
    """The table as read, checked: at least one row, at most ``max_rows``, and no values in a
    column without a name (an unnamed empty column, such as a trailing comma makes, is dropped)."""
    if max_rows is not None and len(frame) > max_rows:
        raise TooManyRows(max_rows)
    if frame.empty and len(frame) == 0:
        refuse_empty_header()
    unnamed = [name for name in frame.columns if str(name).startswith(UNNAMED)]
    for name in unnamed:
        if not _all_blank(frame[name]):
            position = int(str(name)[len(UNNAMED):]) + 1
            raise FileProblem(f"column {position} holds values but its header cell is blank; "
                              "give the column a name")
    return frame.drop(columns=unnamed) if unnamed else frame


def refuse_empty_header() -> None:
    raise FileProblem("the file has a header row but no patients: add one row per patient "
                      "below the column names")


def _all_blank(column: pd.Series) -> bool:
    text = column.astype(object).where(column.notna(), "")
    return bool(text.map(lambda value: not str(value).strip()).all())
