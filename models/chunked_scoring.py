"""Scoring a patient file chunk by chunk in one process (``ssc-response predict``, pandas engine).

Memory is bounded by the chunk, not the file: rows are read ``chunk_rows`` at a time
(:func:`features.io.iter_table`), scored by :func:`models.tabular.score_frame` (the pyfunc
model's own path, so the Spark engine runs the same code) and appended to the output
(:class:`features.io.TableWriter`), which appears only when every chunk has been written.

The file is judged as a whole, as :func:`features.validation.validate_frame` judges a frame:
rows are numbered from 1 over the whole file, a ``patient_id`` must be unique across chunks, and
after the first problem the remaining chunks are still validated (not scored) so that every
problem is listed; then nothing is written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace

import pandas as pd

from ssc_response.features.io import ReadOptions, TableWriter, iter_table
from ssc_response.features.validation import ContractError, Problem, validate_frame
from ssc_response.models.bundle import ResponseModel
from ssc_response.models.tabular import PREDICTION_COLUMNS, score_frame

DEFAULT_CHUNK_ROWS = 10_000

__all__ = ["DEFAULT_CHUNK_ROWS", "score_file"]


def score_file(model: ResponseModel, source: str | os.PathLike[str],
               destination: str | os.PathLike[str], model_version: str | None = None,
               chunk_rows: int = DEFAULT_CHUNK_ROWS, reading: ReadOptions | None = None) -> int:
    """Predict every patient of ``source`` into ``destination`` (CSV or Parquet); the row count.

    ``reading``: how to read ``source`` (encoding, sheet, the centre's mapping).

    Raises ``ContractError`` (every problem, rows numbered over the whole file) and then writes
    nothing.
    """
    problems: list[Problem] = []
    seen: set[str] = set()
    with TableWriter(destination) as writer:
        for raw in iter_table(source, chunk_rows, reading):
            offset = int(raw.index[0]) if len(raw) else writer.rows
            if problems:  # already refused: only look for the rest of the problems
                problems += _validation_problems(raw, offset, seen)
                continue
            try:
                table = score_frame(model, raw, model_version)
            except ContractError as error:
                problems += _shifted(error.problems, offset) + _raw_repeats(raw, seen)
                continue
            problems += _repeated_ids(table["patient_id"].set_axis(raw.index), seen)
            writer.write(table)
        if problems:
            raise ContractError(problems)
        if writer.rows == 0:  # an empty file still gets its header
            writer.write(pd.DataFrame(columns=list(PREDICTION_COLUMNS)))
    return writer.rows


def _validation_problems(raw: pd.DataFrame, offset: int, seen: set[str]) -> list[Problem]:
    try:
        records = validate_frame(raw)
    except ContractError as error:
        return _shifted(error.problems, offset) + _raw_repeats(raw, seen)
    return _repeated_ids(records["patient_id"], seen)


def _raw_repeats(raw: pd.DataFrame, seen: set[str]) -> list[Problem]:
    """Repeats of earlier chunks' IDs in a chunk that failed validation (its IDs as given)."""
    if "patient_id" not in raw:
        return []
    return _repeated_ids(raw["patient_id"].dropna(), seen)


def _shifted(problems: Iterable[Problem], offset: int) -> list[Problem]:
    """Problems of one chunk with their rows numbered over the whole file."""
    return [p if p.row is None else replace(p, row=p.row + offset) for p in problems]


def _repeated_ids(ids: pd.Series, seen: set[str]) -> list[Problem]:
    """Rows whose ``patient_id`` an earlier chunk already had (within a chunk, validation
    already refused repeats); remembers this chunk's. ``ids`` keeps the chunk's running index."""
    values = [str(value) for value in ids]
    problems = [Problem(int(index) + 1, "patient_id", value, "must be unique in the file; "
                        "also in an earlier row")
                for index, value in zip(ids.index, values, strict=True) if value in seen]
    seen.update(values)
    return problems
