"""Reading and writing patient tables (CSV or Parquet, chosen by the file extension).

CSV files are read with every column as text so that validation sees the raw values (no silent
"NA" -> NaN or "1.0" -> float conversion). Writes are atomic: the table goes to a temporary file in
the destination folder and then replaces the destination in one step, so a failure never leaves a
partial file and never damages an existing one.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

import pandas as pd
from pandas.api.types import is_bool_dtype

from features.validation import validate_frame

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
