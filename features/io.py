"""Reading and writing patient tables (CSV, Excel .xlsx or Parquet, chosen by the extension).

Every command that reads patients, and the upload page, read them here: one reader, so that the
command line and the page accept and refuse the same files. A file is read
(:mod:`features.file_formats`), then put into the dictionary's names, codes and units by the
centre's mapping file if one is given (:mod:`features.mapping`), then validated. A file that
cannot be read at all raises :class:`~features.file_errors.FileProblem`, one line in words.

CSV files are read with every column as text so that validation sees the raw values (no silent
"NA" -> NaN or "1.0" -> float conversion). Writes (CSV or Parquet) are atomic: the table goes to
a temporary file in the destination folder and then replaces the destination in one step, so a
failure never leaves a partial file and never damages an existing one.

Files larger than memory are read in chunks (:func:`iter_table`) and written chunk by chunk
(:class:`TableWriter`), with the same atomic replace at the end. An upload is read with
:class:`~features.file_formats.Limits`: its row count and size are checked before its data.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pandas.api.types import is_bool_dtype

from ssc_response.features import file_formats
from ssc_response.features._rules import sort_problems
from ssc_response.features.file_errors import FileProblem
from ssc_response.features.file_formats import Limits
from ssc_response.features.mapping import CentreMapping, apply_mapping
from ssc_response.features.redcap import RedcapExportError, contract_table, is_redcap_export
from ssc_response.features.validation import ContractError, Problem, validate_frame

__all__ = ["FileProblem", "Limits", "ReadOptions", "TableWriter", "iter_table", "read_cohort",
           "read_table", "read_uploaded_table", "table_format", "write_table"]

FORMATS: dict[str, str] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet",
                           ".xlsx": "xlsx"}
WRITABLE = ("csv", "parquet")


@dataclass(frozen=True)
class ReadOptions:
    """How to read a patient file: ``encoding`` (CSV; default UTF-8), ``sheet`` (.xlsx; default
    the first), the centre's ``mapping``, and the ``limits`` of one read (uploads)."""

    encoding: str | None = None
    sheet: str | None = None
    mapping: CentreMapping | None = None
    limits: Limits = field(default_factory=Limits)


def table_format(path: str | os.PathLike[str], *, writing: bool = False) -> str:
    """'csv', 'xlsx' or 'parquet' from the file extension; ``FileProblem`` for anything else."""
    suffix = Path(path).suffix.lower()
    kinds = [s for s, kind in FORMATS.items() if not writing or kind in WRITABLE]
    if suffix not in kinds:
        hint = "; save the sheet as .xlsx" if suffix in (".xls", ".xlsm", ".ods") else ""
        raise FileProblem(f"unsupported file type '{suffix}' for {Path(path).name}: expected one "
                          f"of {', '.join(kinds)}{hint}")
    return FORMATS[suffix]


def read_table(path: str | os.PathLike[str], options: ReadOptions | None = None) -> pd.DataFrame:
    """Read a patient file (mapped, unvalidated); ``ContractError`` for dates it cannot read."""
    frame, problems = _read(Path(path), table_format(path), options or ReadOptions())
    if problems:
        raise ContractError(problems)
    return frame


def read_uploaded_table(content: bytes, filename: str,
                        options: ReadOptions | None = None) -> pd.DataFrame:
    """An uploaded file's bytes read and validated like :func:`read_cohort`; the table as read
    and mapped (unvalidated values), ``ContractError`` listing every problem."""
    frame, problems = _read(content, table_format(filename), options or ReadOptions())
    _validated(frame, problems)
    return frame


def read_cohort(path: str | os.PathLike[str], options: ReadOptions | None = None) -> pd.DataFrame:
    """Read and validate a cohort file; raises ``ContractError`` listing every problem."""
    frame, problems = _read(Path(path), table_format(path), options or ReadOptions())
    return _validated(frame, problems)


def iter_table(path: str | os.PathLike[str], rows: int,
               options: ReadOptions | None = None) -> Iterator[pd.DataFrame]:
    """Read a table ``rows`` rows at a time (the last chunk may be shorter), as :func:`read_table`
    would read it whole; the chunks keep a running index (0, 1, ... over the whole file)."""
    if rows < 1:
        raise ValueError(f"rows must be at least 1; got {rows}")
    options = options or ReadOptions()
    chunks = _raw_chunks(Path(path), options, rows)
    first = next(chunks, None)
    if first is not None and is_redcap_export(first):
        # A patient's events are rows of their own, which chunks could split: read it whole.
        yield read_table(path, options)
        return
    for chunk in itertools.chain([] if first is None else [first], chunks):
        mapped, problems = _mapped(chunk, options.mapping)
        if problems:  # rows numbered over the whole file, as the chunk's index runs
            start = int(chunk.index[0])
            raise ContractError([p if p.row is None else replace(p, row=p.row + start)
                                 for p in problems])
        yield mapped


def is_redcap_file(path: str | os.PathLike[str], options: ReadOptions | None = None) -> bool:
    """Whether the file is a REDCap export of the project (its first row tells)."""
    first = next(_raw_chunks(Path(path), options or ReadOptions(), rows=1), None)
    return first is not None and is_redcap_export(first)


def _raw_chunks(path: Path, options: ReadOptions, rows: int) -> Iterator[pd.DataFrame]:
    """The file ``rows`` rows at a time, as written (no REDCap conversion, no mapping)."""
    kind = table_format(path)
    _check_options(kind, options)
    if kind == "csv":
        return file_formats.iter_csv(path, options.encoding, rows)
    if kind == "xlsx":
        return file_formats.iter_xlsx(path, options.sheet, rows)
    return file_formats.iter_parquet(path, rows)


def _read(source: file_formats.Source, kind: str,
          options: ReadOptions) -> tuple[pd.DataFrame, list[Problem]]:
    _check_options(kind, options)
    if kind == "csv":
        frame = file_formats.read_csv(source, options.encoding, options.limits)
    elif kind == "xlsx":
        frame = file_formats.read_xlsx(source, options.sheet, options.limits)
    else:
        frame = file_formats.read_parquet(source, options.limits)
    return _mapped(frame, options.mapping)


def _mapped(frame: pd.DataFrame, mapping: CentreMapping | None) -> tuple[pd.DataFrame,
                                                                        list[Problem]]:
    """The contract's table: a REDCap export converted first, then the centre's mapping."""
    try:
        frame = contract_table(frame)
    except RedcapExportError as error:
        raise FileProblem(f"the REDCap export cannot be read: {error}") from None
    if mapping is None:
        return frame, []
    return apply_mapping(frame, mapping)


def _check_options(kind: str, options: ReadOptions) -> None:
    if options.encoding is not None and kind != "csv":
        raise FileProblem("an encoding applies to CSV files only; this file is "
                          f"{'an Excel workbook' if kind == 'xlsx' else 'Parquet'}")
    if options.sheet is not None and kind != "xlsx":
        raise FileProblem(f"a sheet applies to Excel workbooks (.xlsx) only; this file is "
                          f"{kind.upper() if kind == 'csv' else 'Parquet'}")


def _validated(frame: pd.DataFrame, problems: list[Problem]) -> pd.DataFrame:
    """The frame validated, with the mapping's problems listed among validation's."""
    try:
        typed = validate_frame(frame)
    except ContractError as error:
        raise ContractError(sort_problems([*problems, *error.problems])) from None
    if problems:
        raise ContractError(problems)
    return typed


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a table atomically as CSV (missing as blank, booleans as true/false) or Parquet.

    The file is created with owner-only permissions, as befits patient data.
    """
    kind = table_format(path, writing=True)
    target = Path(path)
    # Same folder as the target: os.replace is only atomic within one file system.
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(handle)
    try:
        _write(frame, Path(temporary), kind)
        os.replace(temporary, target)
    except BaseException:
        # Also on KeyboardInterrupt: never leave the temporary file behind.
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise


class TableWriter:
    """Write a table chunk by chunk, atomically: nothing appears at ``path`` until the block
    ends without error, and then the whole table does (replacing any file there).

    Every chunk must have the first chunk's columns; a Parquet file keeps the first chunk's
    column types (later chunks are cast to them).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._kind = table_format(path, writing=True)
        self._target = Path(path)
        self._temporary: Path | None = None
        self._parquet: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self.rows = 0

    def __enter__(self) -> TableWriter:
        handle, temporary = tempfile.mkstemp(dir=self._target.parent,
                                             prefix=f".{self._target.name}.")
        os.close(handle)
        self._temporary = Path(temporary)
        return self

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame``'s rows."""
        if self._temporary is None:
            raise RuntimeError("TableWriter.write outside its with-block")
        if self._kind == "csv":
            _csv_ready(frame).to_csv(self._temporary, mode="w" if self.rows == 0 else "a",
                                     header=self.rows == 0, index=False, na_rep="",
                                     encoding="utf-8")
        else:
            table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
            if self._parquet is None:
                self._schema = table.schema
                self._parquet = pq.ParquetWriter(self._temporary, table.schema)
            self._parquet.write_table(table)
        self.rows += len(frame)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        assert self._temporary is not None
        try:
            if self._parquet is not None:
                self._parquet.close()
            if kind is None:
                os.replace(self._temporary, self._target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self._temporary)


def _write(frame: pd.DataFrame, path: Path, kind: str) -> None:
    if kind == "parquet":
        frame.to_parquet(path, index=False)
    else:
        _csv_ready(frame).to_csv(path, index=False, na_rep="", encoding="utf-8")


def _csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Booleans as lower-case true/false, which read back through validation unchanged."""
    flags = [name for name in frame.columns if is_bool_dtype(frame[name])]
    words = {name: frame[name].map({True: "true", False: "false"}) for name in flags}
    return frame.assign(**words) if words else frame
