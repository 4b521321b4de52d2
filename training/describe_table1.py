"""Table 1: the cohort's baseline characteristics, overall and by EUSTAR skin response.

Built with ``tableone`` (Pollard et al., JAMIA Open 2018), which lays out the usual clinical
table: n (%) for categories and yes/no fields, mean (SD) or median [Q1, Q3], a missing count per
field. This module chooses the rows and the summary of each, and adds the percentage missing.

Summary rule: a number is shown as median [Q1, Q3] when it is an integer score or grade (an
ordinal scale has no meaningful mean) or its sample skewness exceeds 1 in absolute value (a
common rule of thumb for a strongly skewed distribution, e.g. Bulmer, *Principles of
Statistics*, 1979); otherwise as mean (SD). The 17 mRSS site scores are left out (their total
is there); the patient id is never shown.
"""

from __future__ import annotations

import warnings

import pandas as pd
from scipy import stats

from ssc_response.features.schema import MRSS_SITE_FIELDS, Field, fields

__all__ = ["GROUP_COLUMN", "SKEWNESS_LIMIT", "table_one", "table_one_fields"]

SKEWNESS_LIMIT = 1.0
GROUP_COLUMN = "EUSTAR skin response"
_GROUP_WORDS = {True: "responder", False: "non-responder"}


def table_one_fields(frame: pd.DataFrame) -> list[Field]:
    """The baseline fields of Table 1 present in ``frame``, in dictionary order."""
    return [f for f in fields().values() if f.role == "baseline" and f.name in frame.columns
            and f.name not in MRSS_SITE_FIELDS]


def _is_skewed(values: pd.Series, field: Field) -> bool:
    numbers = pd.to_numeric(values, errors="coerce").dropna().astype(float)
    if field.type == "integer":
        return True
    if len(numbers) < 3 or numbers.nunique() < 2:
        return False
    return bool(abs(stats.skew(numbers)) > SKEWNESS_LIMIT)


def _as_table_one_input(frame: pd.DataFrame, chosen: list[Field]) -> pd.DataFrame:
    """Numbers as float, yes/no as 'yes'/'no', categories as text; missing as NaN/None."""
    columns: dict[str, pd.Series] = {}
    for field in chosen:
        column = frame[field.name]
        if field.type == "boolean":
            columns[field.name] = column.astype("boolean").astype(object).map(
                {True: "yes", False: "no"})
        elif field.is_numeric:
            columns[field.name] = pd.to_numeric(column).astype(float)
        else:
            columns[field.name] = column.astype(object).where(column.notna(), None)
    return pd.DataFrame(columns, index=frame.index)


def _missing_percent(data: pd.DataFrame, table: pd.DataFrame) -> pd.Series:
    """'x.x' per row of the table: the share missing of the row's field (blank on level rows)."""
    shares = data.isna().mean() * 100
    labels = table.index.get_level_values(0)
    names = [str(label).split(",")[0] for label in labels]
    first = ~pd.Series(labels).duplicated().to_numpy()
    return pd.Series([f"{shares[n]:.1f}" if n in shares and is_first else ""
                      for n, is_first in zip(names, first, strict=True)], index=table.index)


def table_one(frame: pd.DataFrame, responder: pd.Series | None = None) -> pd.DataFrame:
    """Table 1 as a flat frame: ``variable``, ``level``, ``Missing``, ``Missing %``,
    ``Overall`` and, when ``responder`` has known values, one column per response group."""
    from tableone import TableOne

    chosen = table_one_fields(frame)
    data = _as_table_one_input(frame, chosen)
    names = [f.name for f in chosen]
    options: dict[str, object] = {}
    if responder is not None and responder.notna().any():
        words = responder.astype("boolean").astype(object).map(_GROUP_WORDS)
        data[GROUP_COLUMN] = words.fillna("outcome unknown")
        options = {"groupby": GROUP_COLUMN, "overall": True}
    with warnings.catch_warnings():
        # tableone 0.9.6 sets its "n" row with a short MultiIndex key, which pandas 3 warns
        # about (the <0.10 pin and these tests catch the day it breaks); a group whose values
        # are all missing gives numpy's empty-slice warnings, and tableone shows it as nan.
        warnings.filterwarnings("ignore", message="Setting a new row on a DataFrame with a "
                                "MultiIndex")
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        table = TableOne(
            data, columns=names,
            categorical=[f.name for f in chosen if not f.is_numeric],
            nonnormal=[f.name for f in chosen if f.is_numeric and _is_skewed(frame[f.name], f)],
            missing=True, pval=False, **options,
        ).tableone
    table.columns = [column[-1] if isinstance(column, tuple) else column
                     for column in table.columns]
    table.insert(1, "Missing %", _missing_percent(data[names], table))
    flat = table.reset_index()
    flat.columns = ["variable", "level", *table.columns]
    return flat
