"""Reading and writing patient tables (CSV or Parquet, chosen by the file extension).

CSV files are read with every column as text so that validation sees the raw values (no silent
"NA" -> NaN or "1.0" -> float conversion). Writes are atomic: the table goes to a temporary file in
the destination folder and then replaces the destination in one step, so a failure never leaves a
partial file and never damages an existing one.

Files larger than memory are read in chunks (:func:`iter_table`: pyarrow record batches for
Parquet, pandas' ``chunksize`` for CSV) and written chunk by chunk (:class:`TableWriter`), with
the same atomic replace at the end.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pandas.api.types import is_bool_dtype

from ssc_response.features.validation import validate_frame

FORMATS: dict[str, str] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def table_format(path: str | os.PathLike[str]) -> str:
    """'csv' or 'parquet' from the file extension; ValueError for anything else."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        expected = ", ".join(FORMATS)
        raise ValueError(f"unsupported file type '{suffix}' for {path}: expected one of {expected}")
    return FORMATS[suffix]


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV (all columns as text, blanks kept as '') or Parquet file, unvalidated."""
    return _read(path, table_format(path))


def read_uploaded_table(content: bytes, filename: str) -> pd.DataFrame:
    """An uploaded file's bytes read like :func:`read_table` (format from ``filename``)."""
    return _read(io.BytesIO(content), table_format(filename))


def _read(source: str | os.PathLike[str] | io.BytesIO, kind: str) -> pd.DataFrame:
    if kind == "parquet":
        return pd.read_parquet(source)
    # utf-8-sig: spreadsheet exports often start with a byte-order mark that would otherwise
    # become part of the first column name.
    return pd.read_csv(source, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def iter_table(path: str | os.PathLike[str], rows: int) -> Iterator[pd.DataFrame]:
    """Read a table ``rows`` rows at a time (the last chunk may be shorter), as :func:`read_table`
    would read it whole; the chunks keep a running index (0, 1, ... over the whole file)."""
    if rows < 1:
        raise ValueError(f"rows must be at least 1; got {rows}")
    if table_format(path) == "csv":
        yield from pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                               chunksize=rows)
        return
    start = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=rows):
        frame = batch.to_pandas()
        frame.index = pd.RangeIndex(start, start + len(frame))
        start += len(frame)
        yield frame


def read_cohort(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read and validate a cohort file; raises ``ContractError`` listing every problem."""
    return validate_frame(read_table(path))


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a table atomically as CSV (missing as blank, booleans as true/false) or Parquet.

    The file is created with owner-only permissions, as befits patient data.
    """
    kind = table_format(path)
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
        self._kind = table_format(path)
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
