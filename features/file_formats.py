"""Reading one patient file format (CSV, Excel .xlsx, Parquet) into a raw, unvalidated table.

Every reader checks what it can before it reads the data, so a hostile or mistaken file is
refused cheaply: a Parquet file's row count and decompressed size come from its footer, an
.xlsx file's from its zip directory, and a CSV file is read at most ``limit + 1`` rows deep.
Failures are raised as :class:`~features.file_errors.FileProblem` in words; the libraries' own
messages never reach the user. :mod:`features.io` chooses the reader by file extension.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ssc_response.features.file_errors import FileProblem, FileTooLarge, TooManyRows
from ssc_response.features.table_shape import (
    Source,
    binary,
    check_header,
    finish,
    refuse_empty_header,
)
from ssc_response.features.workbook import open_workbook, sheet_rows

MAX_HEADER_CHARS = 1 << 16  # a header row longer than this is not a patient file's
RAGGED = ("the file could not be read as a CSV table: a row has more cells than the header has "
          "names, or a quote is not closed")


@dataclass(frozen=True)
class Limits:
    """How much one read may hold: data rows, and decompressed bytes (``None``: no limit)."""

    rows: int | None = None
    bytes: int | None = None


# --- CSV ---------------------------------------------------------------------------------------

def csv_codec(encoding: str | None) -> str:
    """The codec to decode a CSV with; UTF-8 also skips a byte-order mark (Excel writes one)."""
    if encoding is None:
        return "utf-8-sig"
    try:
        name = codecs.lookup(encoding).name
        b"a".decode(encoding)  # refuses codecs that do not decode bytes to text (e.g. rot13)
    except LookupError:
        raise FileProblem(f"unknown encoding {encoding!r}: name one such as utf-8, cp1252 or "
                          "latin-1") from None
    return "utf-8-sig" if name == "utf-8" else name


def read_csv(source: Source, encoding: str | None, limits: Limits) -> pd.DataFrame:
    """A CSV file, every cell as text; at most ``limits.rows + 1`` rows are ever read."""
    codec = csv_codec(encoding)
    bound = None if limits.rows is None else limits.rows + 1
    with _csv_errors(source, codec, encoding), _text(source, codec) as text:
        names = _csv_header(text)
        try:
            cells = pd.read_csv(text, header=None, dtype=str, keep_default_na=False, nrows=bound)
        except pd.errors.EmptyDataError:  # nothing below the header
            cells = pd.DataFrame()
    return finish(_named(cells, names), limits.rows)


def iter_csv(path: Path, encoding: str | None, rows: int) -> Iterator[pd.DataFrame]:
    """A CSV file ``rows`` rows at a time, as :func:`read_csv` reads it whole."""
    codec = csv_codec(encoding)
    with _csv_errors(path, codec, encoding), _text(path, codec) as text:
        names = _csv_header(text)
        try:
            chunks = pd.read_csv(text, header=None, dtype=str, keep_default_na=False,
                                 chunksize=rows)
        except pd.errors.EmptyDataError:
            chunks = iter(())
        yield from _first_checked(_named(chunk, names) for chunk in chunks)


def _named(cells: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Cells read without a header, given the header's names; short rows end in missing cells.

    Read this way (not with pandas' ``names``), a row longer than the header is refused instead
    of silently losing its last cells or turning its first into an index.
    """
    if cells.shape[1] > len(names):
        raise FileProblem(RAGGED)
    cells.columns = names[:cells.shape[1]]
    return cells.reindex(columns=names)


def _text(source: Source, codec: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(binary(source), encoding=codec, newline="")


def _csv_header(text: io.TextIOWrapper) -> list[str]:
    line = ""
    while not line.strip():
        line = text.readline(MAX_HEADER_CHARS + 1)
        if not line:
            raise FileProblem("the file is empty: it has no header row and no patients")
    if len(line) > MAX_HEADER_CHARS and not line.endswith("\n"):
        raise FileProblem(f"the header row is longer than {MAX_HEADER_CHARS} characters; "
                          "is this a table of patients?")
    return check_header(next(csv.reader([line])))


class _csv_errors:  # noqa: N801 - used as a context manager, named like one
    """Decoding and tokenising failures of a CSV file, said in words (line numbers included)."""

    def __init__(self, source: Source, codec: str, encoding: str | None) -> None:
        self.source, self.codec, self.encoding = source, codec, encoding

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: Any) -> None:
        if isinstance(error, UnicodeDecodeError):
            raise self._not_decodable() from None
        if isinstance(error, pd.errors.ParserError):
            raise FileProblem(RAGGED) from None

    def _not_decodable(self) -> FileProblem:
        line = undecodable_line(self.source, self.codec)
        where = "" if line is None else f" (line {line})"
        if self.encoding is None:
            return FileProblem(
                f"the file is not UTF-8{where}; save it as UTF-8 or pass --encoding cp1252",
                f"The file is not UTF-8{where}; save it as UTF-8, or choose its encoding (for "
                "a file saved by Excel on Windows: Windows-1252) and upload it again.")
        return FileProblem(f"the file is not valid {self.encoding} text{where}; name the "
                           "encoding it was saved in")


def undecodable_line(source: Source, codec: str) -> int | None:
    """The first line of the file (1 = the header) that ``codec`` cannot decode."""
    decoder = codecs.getincrementaldecoder(codec)()
    with binary(source) as stream:
        for number, line in enumerate(stream, start=1):
            try:
                decoder.decode(line)
            except UnicodeDecodeError:
                return number
    return None


# --- Parquet -----------------------------------------------------------------------------------

def read_parquet(source: Source, limits: Limits) -> pd.DataFrame:
    """A Parquet file; its row count and decompressed size are checked from its footer first."""
    with _parquet_file(source) as parquet:
        metadata = parquet.metadata
        if limits.rows is not None and metadata.num_rows > limits.rows:
            raise TooManyRows(limits.rows)
        groups = range(metadata.num_row_groups)
        size = sum(metadata.row_group(i).total_byte_size for i in groups)
        if limits.bytes is not None and size > limits.bytes:
            raise FileTooLarge(size, limits.bytes)
        try:
            frame = parquet.read(use_pandas_metadata=True).to_pandas()
        except (pa.ArrowException, OSError):
            raise _damaged_parquet() from None
    return finish(frame.reset_index(drop=True), limits.rows)


def iter_parquet(path: Path, rows: int) -> Iterator[pd.DataFrame]:
    """A Parquet file ``rows`` rows at a time (pyarrow record batches)."""
    with _parquet_file(path) as parquet:
        try:
            yield from _first_checked(batch.to_pandas() for batch in
                                      parquet.iter_batches(batch_size=rows))
        except (pa.ArrowException, OSError):
            raise _damaged_parquet() from None


def _parquet_file(source: Source) -> pq.ParquetFile:
    """The file's footer read and checked (names, rows); no data is read yet."""
    if isinstance(source, Path) and not source.is_file():
        raise FileNotFoundError(f"no such file: {source}")
    where = pa.BufferReader(source) if isinstance(source, bytes) else str(source)
    try:
        parquet = pq.ParquetFile(where)
    except (pa.ArrowException, OSError):
        raise _damaged_parquet() from None
    try:
        check_header(parquet.schema_arrow.names)  # duplicates and width, before any data
        if parquet.metadata.num_rows == 0:
            refuse_empty_header()
    except FileProblem:
        parquet.close()
        raise
    return parquet


def _damaged_parquet() -> FileProblem:
    return FileProblem("the file could not be read as Parquet: it is damaged or not a Parquet "
                       "file; write it again, or save the table as CSV")


def _first_checked(chunks: Iterator[pd.DataFrame] | Any) -> Iterator[pd.DataFrame]:
    """Chunks with running row numbers and clean names; a file without rows is refused."""
    start = 0
    for chunk in chunks:
        if len(chunk) == 0:  # e.g. the last read of a sheet whose rows divide evenly
            continue
        chunk = finish(chunk, None)
        chunk.index = pd.RangeIndex(start, start + len(chunk))
        start += len(chunk)
        yield chunk
    if start == 0:
        refuse_empty_header()


# --- Excel (.xlsx) -----------------------------------------------------------------------------

def read_xlsx(source: Source, sheet: str | None, limits: Limits) -> pd.DataFrame:
    """One sheet of a workbook, read in read-only mode and at most ``limits.rows + 1`` rows."""
    bound = None if limits.rows is None else limits.rows + 1
    names, rows = next(_xlsx_chunks(source, sheet, limits.bytes, bound or 0, once=True))
    return finish(_frame(rows, names), limits.rows)


def iter_xlsx(path: Path, sheet: str | None, rows: int) -> Iterator[pd.DataFrame]:
    """One sheet of a workbook ``rows`` rows at a time."""
    chunks = (_frame(part, names) for names, part in _xlsx_chunks(path, sheet, None, rows))
    yield from _first_checked(chunks)


def _xlsx_chunks(source: Source, sheet: str | None, max_bytes: int | None, rows: int,
                 once: bool = False) -> Iterator[tuple[list[str], list[Sequence[Any]]]]:
    """(header, up to ``rows`` data rows) pairs; ``rows=0`` with ``once``: every row at once."""
    with open_workbook(source, max_bytes) as book:
        header, data = sheet_rows(book, sheet)
        while True:
            part = list(_take(data, rows if rows else None))
            yield header, part
            if once or len(part) < rows:
                return


def _take(rows: Iterator[Sequence[Any]], count: int | None) -> Iterator[Sequence[Any]]:
    for taken, row in enumerate(rows):
        yield row
        if count is not None and taken + 1 >= count:
            return


def _frame(rows: list[Sequence[Any]], names: list[str]) -> pd.DataFrame:
    """Rows of cells as a frame of ``object`` columns; short rows padded with missing cells."""
    width = max([len(names), *(len(row) for row in rows)])
    names = names + [f"\0{i}" for i in range(len(names), width)]
    padded = [list(row) + [None] * (width - len(row)) for row in rows]
    return pd.DataFrame(padded, columns=names, dtype=object)
