"""Table 1: the cohort's baseline characteristics, overall and by EUSTAR skin response.

Built with ``tableone`` (Pollard et al., JAMIA Open 2018), which lays out the usual clinical
table: n (%) for categories (of the patients with a value) and the "yes" row of yes/no fields,
mean (SD) or median [Q1, Q3]. This module chooses the rows and the summary of each, and adds
the count and percentage missing of every field.

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
_UNKNOWN = "outcome unknown"


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
    """Numbers as float, yes/no and categories as pandas categoricals; missing as NaN."""
    columns: dict[str, pd.Series] = {}
    for field in chosen:
        column = frame[field.name]
        if field.type == "boolean":
            # Categorical with both levels, so a level nobody has still gets its 0 row.
            words = column.astype("boolean").astype(object).map({True: "yes", False: "no"})
            columns[field.name] = pd.Series(pd.Categorical(words, categories=["yes", "no"]),
                                            index=frame.index)
        elif field.type == "category":
            columns[field.name] = pd.Series(pd.Categorical(
                column.astype(object).where(column.notna(), None), categories=field.allowed),
                index=frame.index)
        elif field.is_numeric:
            columns[field.name] = pd.to_numeric(column).astype(float)
        else:
            columns[field.name] = column.astype(object).where(column.notna(), None)
    return pd.DataFrame(columns, index=frame.index)


def _missing_columns(data: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """``Missing`` (count) and ``Missing %`` on the first row of each field, blank elsewhere:
    for every field, whereas tableone counts only the numeric ones."""
    counts, shares = data.isna().sum(), data.isna().mean() * 100
    labels = table.index.get_level_values(0)
    names = [str(label).split(",")[0] for label in labels]
    first = ~pd.Series(labels).duplicated().to_numpy()
    shown = [is_first and name in counts for name, is_first in zip(names, first, strict=True)]
    return pd.DataFrame({
        "Missing": [str(counts[n]) if show else "" for n, show in zip(names, shown, strict=True)],
        "Missing %": [f"{shares[n]:.1f}" if show else ""
                      for n, show in zip(names, shown, strict=True)],
    }, index=table.index)


def _field_names(table: pd.DataFrame) -> list[str]:
    return [str(label).split(",")[0] for label in table.index.get_level_values(0)]


def _yes_rows_only(table: pd.DataFrame, flags: set[str]) -> pd.DataFrame:
    """A yes/no field keeps its "yes" row only (the "no" row is its complement); tableone
    leaves out a level nobody has, so a field that is all "no" gets a "yes" row of zeros."""
    names, levels = _field_names(table), list(table.index.get_level_values(1))
    with_yes = {n for n, level in zip(names, levels, strict=True) if level == "yes"}
    rows = []
    for (label, level), values, name in zip(table.index, table.to_numpy(), names, strict=True):
        if name in flags and level == "no":
            if name in with_yes:
                continue
            level, values = "yes", ["0 (0.0)" if str(v).strip() else v for v in values]
        rows.append(((label, level), list(values)))
    return _from_rows(rows, table.columns)


def _from_rows(rows: list[tuple[tuple[str, str], list[object]]],
               columns: pd.Index) -> pd.DataFrame:
    index = pd.MultiIndex.from_tuples([key for key, _ in rows])
    return pd.DataFrame([values for _, values in rows], index=index, columns=columns)


def _with_absent_fields(table: pd.DataFrame, chosen: list[Field]) -> pd.DataFrame:
    """tableone leaves out a field with no value at all; it gets a row of dashes (its missing
    count says why), in dictionary order."""
    present = set(_field_names(table))
    rows = list(zip(table.index, table.to_numpy().tolist(), strict=True))
    for field in chosen:
        if field.name not in present:
            summary = "mean (SD)" if field.is_numeric else "n (%)"
            rows.append(((f"{field.name}, {summary}", ""), ["—"] * len(table.columns)))
    order = {f.name: i for i, f in enumerate(chosen)}
    rows.sort(key=lambda row: order.get(str(row[0][0]).split(",")[0], -1))
    return _from_rows(rows, table.columns)


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
        data[GROUP_COLUMN] = words.fillna(_UNKNOWN)
        options |= {"groupby": GROUP_COLUMN, "overall": True}
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
            missing=True, include_null=False, pval=False, **options,
        ).tableone
    table.columns = [column[-1] if isinstance(column, tuple) else column
                     for column in table.columns]
    table = _yes_rows_only(table, {f.name for f in chosen if f.type == "boolean"})
    table = _with_absent_fields(table, chosen)
    groups = [g for g in (*_GROUP_WORDS.values(), _UNKNOWN) if g in table.columns]
    table = pd.concat([_missing_columns(data[names], table), table[["Overall", *groups]]],
                      axis=1)
    flat = table.reset_index()
    flat.columns = ["variable", "level", *table.columns]
    return flat
