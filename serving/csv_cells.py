"""CSV cells that a spreadsheet will not run as formulas (OWASP "CSV Injection").

A text cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return may be taken
for a formula by Excel, LibreOffice or Google Sheets. OWASP's advice is to prefix such a cell
with a single quote, which the spreadsheet shows as text. Numbers are written as numbers: a
negative change in mRSS stays a number (only text cells are at risk).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value: Any) -> Any:
    """``value`` with a leading ``'`` if it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralised_row(values: list[Any]) -> list[Any]:
    """Every cell of one row through :func:`neutralised`."""
    return [neutralised(value) for value in values]


def neutralised_frame(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` with every text cell through :func:`neutralised`."""
    return table.map(neutralised)
