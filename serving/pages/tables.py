"""An uploaded table's rows as records, the way the JSON API would have received them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def records_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One record per row: blank and missing cells left out, numpy scalars as Python values.

    The values are otherwise as read (CSV cells as text), so the data contract judges them as it
    judges a file, and the audit trail stores what was sent.
    """
    columns = [str(name) for name in frame.columns]
    rows = frame.astype(object).itertuples(index=False, name=None)
    return [{name: _plain(value) for name, value in zip(columns, row, strict=True)
             if not _blank(value)} for row in rows]


def _blank(value: Any) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return value is None or (np.ndim(value) == 0 and bool(pd.isna(value)))


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
