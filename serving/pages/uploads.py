"""Reading an uploaded file of patients for the /patients page, safely.

The file is read by the command line's own reader (:func:`features.io.read_uploaded_table`), so
the page accepts and refuses the same files as ``ssc-response predict``, with the same causes.
Reading happens in a worker thread, never on the event loop, at most ``upload_parsers`` at a
time; the row count (``max_batch``) and decompressed size (``upload_max_bytes``) are checked
before the data are read, so a small file that expands to millions of rows is refused at once
while other users keep being served.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pandas as pd
from starlette.datastructures import FormData, UploadFile

from ssc_response.features.file_errors import FileProblem, FileTooLarge, TooManyRows
from ssc_response.features.io import Limits, ReadOptions, read_uploaded_table
from ssc_response.features.mapping import CentreMapping, MappingError, load_mapping
from ssc_response.features.schema import outcome_fields
from ssc_response.serving.pages.tables import records_of
from ssc_response.serving.settings import Settings

# The encodings the form offers for a CSV file that is not UTF-8 (value: label).
ENCODINGS = {"": "UTF-8 (the default)", "cp1252": "Windows-1252 (Excel on Windows)",
             "latin-1": "ISO-8859-1 (Latin-1)", "iso8859-15": "ISO-8859-15 (Latin-9)"}


class UploadProblem(ValueError):
    """A file that cannot be read as a table of patients, in words; ``status`` for the page."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def saved_mappings(settings: Settings) -> list[str]:
    """The names of the saved mapping files, as the form offers them."""
    return sorted(_mapping_files(settings))


async def read_upload(form: FormData, settings: Settings,
                      limiter: anyio.CapacityLimiter) -> list[dict[str, Any]]:
    """The uploaded file's patients as records (baseline fields), or ``UploadProblem``;
    ``ContractError`` lists every broken rule, as the command line does."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise UploadProblem("Choose a CSV, Excel (.xlsx) or Parquet file to upload.")
    content = await upload.read()
    options = ReadOptions(encoding=_text(form, "encoding"), sheet=_text(form, "sheet"),
                          mapping=_mapping(_text(form, "mapping"), settings),
                          limits=Limits(rows=settings.max_batch, bytes=settings.upload_max_bytes))
    try:
        frame = await anyio.to_thread.run_sync(read_uploaded_table, content, upload.filename,
                                               options, limiter=limiter)
    except (TooManyRows, FileTooLarge) as problem:
        raise UploadProblem(_sentence(problem.page_message), 413) from None
    except FileProblem as problem:
        raise UploadProblem(_sentence(problem.page_message)) from None
    return records_of(_baseline(frame))


def _baseline(frame: pd.DataFrame) -> pd.DataFrame:
    """Follow-up columns set aside: validated with the file, as ``predict`` does, but a
    prediction is never given the outcome."""
    return frame.drop(columns=[name for name in outcome_fields() if name in frame.columns])


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value.strip() or None if isinstance(value, str) else None


def _mapping(name: str | None, settings: Settings) -> CentreMapping | None:
    if name is None:
        return None
    path = _mapping_files(settings).get(name)
    if path is None:
        raise UploadProblem(f"There is no saved mapping named {name!r}.")
    try:
        return load_mapping(path)
    except MappingError as error:
        cause = str(error).split(": ", 1)[-1]  # without the server's path
        raise UploadProblem(f"The saved mapping {name!r} cannot be used: {cause}.") from None


def _mapping_files(settings: Settings) -> dict[str, Path]:
    folder = settings.mapping_folder
    if folder is None:
        return {}
    return {path.stem: path for path in folder.iterdir()
            if path.suffix in (".yaml", ".yml") and path.is_file()}


def _sentence(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else f"{text}."
