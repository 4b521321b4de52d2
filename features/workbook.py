"""Excel workbooks (.xlsx) through openpyxl, in read-only mode (rows stream; memory stays flat).

Before openpyxl parses anything, the zip directory gives the workbook's decompressed size, so
a compressed "bomb" is refused before it is expanded.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

from ssc_response.features.file_errors import FileProblem, FileTooLarge
from ssc_response.features.table_shape import Source, binary, check_header

NOT_A_WORKBOOK = ("the file could not be read as an Excel workbook (.xlsx); open it in Excel "
                  "and save it again as .xlsx, or save the sheet as CSV")


@contextmanager
def open_workbook(source: Source, max_bytes: int | None) -> Iterator[Workbook]:
    """The workbook, read-only; ``max_bytes`` bounds its decompressed size (``None``: none)."""
    with binary(source) as stream:  # a missing file is FileNotFoundError, not a bad workbook
        try:
            with zipfile.ZipFile(stream) as archive:
                size = sum(member.file_size for member in archive.infolist())
        except zipfile.BadZipFile:
            raise FileProblem(NOT_A_WORKBOOK) from None
        if max_bytes is not None and size > max_bytes:
            raise FileTooLarge(size, max_bytes)
        try:
            book = load_workbook(stream, read_only=True, data_only=True)
        except Exception:  # openpyxl raises many types for a damaged workbook: all mean one thing
            raise FileProblem(NOT_A_WORKBOOK) from None
        try:
            yield book
        finally:
            book.close()


def sheet_rows(book: Workbook, sheet: str | None) -> tuple[list[str], Iterator[Sequence[Any]]]:
    """The sheet's checked header and its non-empty rows below it (cells as typed in Excel)."""
    if sheet is not None and sheet not in book.sheetnames:
        listed = ", ".join(repr(name) for name in book.sheetnames)
        raise FileProblem(f"the workbook has no sheet named {sheet!r}; its sheets are {listed}")
    worksheet = book[sheet] if sheet is not None else book.worksheets[0]
    rows = (row for row in worksheet.iter_rows(values_only=True) if _filled(row))
    header = next(rows, None)
    if header is None:
        raise FileProblem("the sheet is empty: it has no header row and no patients")
    return check_header(list(header)), (_plain(row) for row in rows)


def _filled(row: Sequence[Any]) -> bool:
    return any(cell is not None and str(cell).strip() for cell in row)


def _plain(row: Sequence[Any]) -> list[Any]:
    """Text cells stripped (as a CSV's are judged), other cells as Excel typed them."""
    return [cell.strip() if isinstance(cell, str) else cell for cell in row]
