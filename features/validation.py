"""Validation of patient data against the data dictionary (the input contract).

There is one validation path. ``validate_frame`` checks a whole cohort column by column (vectorised:
no per-row Python loop except to describe the rows that fail) and ``validate_record`` checks one
record, as the API receives it, by running the very same checks on a one-row frame.

Conventions
-----------
* Missing values: ``None``, ``NaN``, ``pd.NA`` and blank strings. Surrounding whitespace is ignored.
* Row numbers in problems are 1-based data rows: for a CSV file, row 1 is the first line after the
  header; for a frame, row 1 is the first row by position (whatever the index). A single record has
  no row number (``None``).
* Every problem of the input is collected before ``ContractError`` is raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype, is_scalar

from features.schema import MRSS_SITE_FIELDS, REQUIRED_FIELDS, Field, fields

UNKNOWN_FIELD_RULE = "unknown field; allowed fields are in the data dictionary"
ID_MAX_LENGTH = 64
ID_PATTERN = r"[A-Za-z0-9._-]+"
ID_RULE = (
    "must contain only letters, digits, '.', '_' or '-' (no spaces): "
    "pseudonymous IDs only, never a name"
)
BOOLEAN_TOKENS: dict[str, bool] = {
    **dict.fromkeys(("true", "yes", "1"), True),
    **dict.fromkeys(("false", "no", "0"), False),
}
BOOLEAN_RULE = "must be true or false (accepted: true/false, yes/no, 1/0)"
NUMBER_RULES = {"float": "must be a finite number", "integer": "must be a whole number"}


@dataclass(frozen=True)
class Problem:
    """One broken rule: where (row, field), what was received (value), what is expected (rule)."""

    row: int | None
    field: str
    value: object
    rule: str

    def __str__(self) -> str:
        parts = [] if self.row is None else [f"row {self.row}"]
        parts.append(f"field '{self.field}'")
        if self.value is not None:
            parts.append(f"value '{self.value}'")
        return f"{', '.join(parts)}: {self.rule}"


class ContractError(ValueError):
    """Patient data that break the data contract; ``problems`` lists every broken rule."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        header = f"{count} problem{'' if count == 1 else 's'} with the patient data:"
        super().__init__("\n".join([header, *(f"  {p}" for p in self.problems)]))

    def __reduce__(self) -> tuple[type[ContractError], tuple[list[Problem]]]:
        # ValueError would pickle only the message; keep the structured problems instead.
        return (type(self), (self.problems,))


def validate_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Validate a cohort and return it typed (see docs/ARCHITECTURE.md for the dtypes).

    Columns come back in dictionary order (only those present), with the input's index.
    Raises ``ContractError`` listing every problem, including duplicated ``patient_id`` values.
    """
    work = frame.reset_index(drop=True)  # positional rows; a duplicated index must not misalign
    problems = _column_name_problems(work.columns)
    work = work.loc[:, ~work.columns.duplicated()]
    parsed, missing, value_problems = _check_columns(work)
    problems += value_problems + _required_column_problems(work.columns)
    problems += _mrss_problems(work, parsed, missing)
    if "patient_id" in parsed:
        problems += _duplicate_id_problems(parsed["patient_id"])
    if problems:
        raise ContractError(_sorted(problems))
    typed = pd.DataFrame({name: _final_dtype(fields()[name], parsed[name]) for name in parsed})
    return typed.set_axis(frame.index, axis="index")


def validate_record(record: Mapping[str, object]) -> dict[str, object]:
    """Validate one record and return it normalised to Python types.

    The result holds the fields given in the record, in dictionary order; a missing value
    (None, NaN, blank) comes back as ``None``. Problems carry ``row=None``.
    """
    try:
        typed = validate_frame(pd.DataFrame([dict(record)]))
    except ContractError as error:
        raise ContractError(_sorted([replace(p, row=None) for p in error.problems])) from None
    return {str(name): _python_value(value) for name, value in typed.iloc[0].items()}


# --- columns -------------------------------------------------------------------------------------


def _column_name_problems(columns: pd.Index) -> list[Problem]:
    """Unknown and repeated column names: one problem per column, not per row."""
    known = fields()
    problems = [Problem(None, str(c), None, UNKNOWN_FIELD_RULE) for c in columns if c not in known]
    repeated = columns[columns.duplicated()].unique()
    return problems + [Problem(None, str(c), None, "field given more than once") for c in repeated]


def _required_column_problems(columns: pd.Index) -> list[Problem]:
    """Required fields absent altogether (reported once, not once per row)."""
    problems = [Problem(None, n, None, "required field is missing") for n in REQUIRED_FIELDS]
    problems = [p for p in problems if p.field not in columns]
    if "mrss_total" not in columns and not columns.isin(MRSS_SITE_FIELDS).any():
        problems.append(Problem(None, "mrss_total", None, _MRSS_REQUIRED_RULE))
    return problems


def _check_columns(
    frame: pd.DataFrame,
) -> tuple[dict[str, pd.Series], dict[str, np.ndarray], list[Problem]]:
    """Parse every known column (dictionary order); collect the per-value problems."""
    parsed: dict[str, pd.Series] = {}
    missing: dict[str, np.ndarray] = {}
    problems: list[Problem] = []
    for name, field in fields().items():
        if name in frame.columns:
            parsed[name], missing[name], found = _check_column(field, frame[name])
            problems += found
    return parsed, missing, problems


def _check_column(field: Field, raw: pd.Series) -> tuple[pd.Series, np.ndarray, list[Problem]]:
    """Type, range, identifier and required-value rules of one field, for all rows at once."""
    values, missing = _prepare(raw, keep_numbers=field.is_numeric or field.type == "boolean")
    parsed, invalid = _PARSERS[field.type](values, missing, field)
    parsed = parsed.where(~invalid)  # a value of the wrong type gets no further (range) checks
    problems = _problems(raw, invalid, field.name, _type_rule(field))
    if field.is_numeric:
        problems += _range_problems(field, raw, parsed)
    if field.name == "patient_id":
        problems += _id_problems(raw, parsed)
    if field.name in REQUIRED_FIELDS:
        problems += _problems(raw, missing, field.name, "required field has no value")
    return parsed, missing, problems


def _prepare(raw: pd.Series, keep_numbers: bool) -> tuple[pd.Series, np.ndarray]:
    """Numbers stay numbers (if wanted); anything else becomes stripped text, blanks as <NA>."""
    if keep_numbers and is_numeric_dtype(raw) and not is_bool_dtype(raw):
        return raw, raw.isna().to_numpy()
    text = raw.astype(pd.StringDtype()).str.strip().replace("", pd.NA)
    return text, text.isna().to_numpy()


# --- parsers: (values, missing, field) -> (parsed values, invalid mask) --------------------------

_Parsed = tuple[pd.Series, np.ndarray]


def _parse_float(values: pd.Series, missing: np.ndarray, field: Field) -> _Parsed:
    """Numbers; 'inf', 'nan' and other non-finite text are refused, not taken as missing."""
    number = _by_unique_value(values, _to_float)
    invalid = ~missing & ~np.isfinite(number)
    return pd.Series(number, index=values.index, dtype="float64"), invalid


def _to_float(values: pd.Series) -> np.ndarray:
    """Numbers as float64; NaN for text that is not a number."""
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _parse_integer(values: pd.Series, missing: np.ndarray, field: Field) -> _Parsed:
    """Whole numbers written as 3, 3.0 or "3"; kept as float64 until the final cast to Int64."""
    number, invalid = _parse_float(values, missing, field)
    fractional = (number % 1 != 0).to_numpy() & ~missing
    return number, invalid | fractional


def _parse_boolean(values: pd.Series, missing: np.ndarray, field: Field) -> _Parsed:
    """Real booleans, numbers 1/0 and the case-insensitive words of ``BOOLEAN_TOKENS``."""
    flags = pd.Series(_by_unique_value(values, _to_boolean), index=values.index).astype("boolean")
    return flags, ~missing & flags.isna().to_numpy()


def _to_boolean(values: pd.Series) -> np.ndarray:
    """1.0 for true, 0.0 for false, NaN for anything else (float keeps the fast path simple)."""
    if is_numeric_dtype(values) and not is_bool_dtype(values):
        mapped = values.map({1: 1.0, 0: 0.0})
    else:
        mapped = values.str.lower().map({k: float(v) for k, v in BOOLEAN_TOKENS.items()})
    return mapped.to_numpy(dtype="float64", na_value=np.nan)


def _by_unique_value(values: pd.Series, parse: Callable[[pd.Series], np.ndarray]) -> np.ndarray:
    """Apply ``parse`` to each distinct value once: clinical columns repeat values a lot,
    and parsing text is the slow part of validating a large cohort."""
    codes, uniques = pd.factorize(values)
    parsed = np.append(parse(pd.Series(uniques)), np.nan)  # code -1 (missing) takes this NaN
    return parsed[codes]


def _parse_category(values: pd.Series, missing: np.ndarray, field: Field) -> _Parsed:
    """Exact (case-sensitive) allowed values."""
    return values, ~missing & ~values.isin(field.allowed).to_numpy(dtype=bool)


def _parse_string(values: pd.Series, missing: np.ndarray, field: Field) -> _Parsed:
    """Any text; field-specific rules (patient_id) are checked separately."""
    return values, np.zeros(len(values), dtype=bool)


_PARSERS = {
    "float": _parse_float,
    "integer": _parse_integer,
    "boolean": _parse_boolean,
    "category": _parse_category,
    "string": _parse_string,
}


def _type_rule(field: Field) -> str:
    """What a value of this field must look like."""
    if field.type == "boolean":
        return BOOLEAN_RULE
    if field.type == "category":
        return f"must be one of: {', '.join(field.allowed)}"
    unit = f" ({field.unit})" if field.unit else ""
    return f"{NUMBER_RULES[field.type]}{unit}" if field.is_numeric else "must be text"


def _final_dtype(field: Field, parsed: pd.Series) -> pd.Series:
    """Cast a clean parsed column to its documented dtype."""
    if field.type == "integer":
        return parsed.astype("Int64")
    if field.type in ("category", "string"):
        return parsed.astype(pd.StringDtype())
    return parsed


# --- rules beyond the type -----------------------------------------------------------------------


def _range_problems(field: Field, raw: pd.Series, number: pd.Series) -> list[Problem]:
    """Inclusive min..max, with the unit in the message (NaN never fails a comparison)."""
    low = -np.inf if field.min is None else field.min
    high = np.inf if field.max is None else field.max
    outside = ((number < low) | (number > high)).to_numpy()
    unit = f" {field.unit}" if field.unit else ""
    return _problems(raw, outside, field.name, f"must be between {low:g} and {high:g}{unit}")


def _id_problems(raw: pd.Series, ids: pd.Series) -> list[Problem]:
    """Length and character rules that keep identifiers pseudonymous."""
    too_long = (ids.str.len() > ID_MAX_LENGTH).fillna(False).to_numpy(dtype=bool)
    bad_chars = (~ids.str.fullmatch(ID_PATTERN)).fillna(False).to_numpy(dtype=bool)
    return _problems(
        raw, too_long, "patient_id", f"must be at most {ID_MAX_LENGTH} characters"
    ) + _problems(raw, bad_chars, "patient_id", ID_RULE)


_MRSS_REQUIRED_RULE = "required: give mrss_total or all 17 mRSS site scores"


def _mrss_problems(
    frame: pd.DataFrame, parsed: dict[str, pd.Series], missing: dict[str, np.ndarray]
) -> list[Problem]:
    """mrss_total or all 17 sites are required; when both are given they must agree."""
    if not frame.columns.isin(["mrss_total", *MRSS_SITE_FIELDS]).any():
        return []  # reported once by _required_column_problems, not once per row
    absent = np.ones(len(frame), dtype=bool)
    sites_missing = np.column_stack([missing.get(s, absent) for s in MRSS_SITE_FIELDS])
    total_missing = missing.get("mrss_total", absent)
    problems = [
        Problem(int(row) + 1, "mrss_total", None, _missing_sites_rule(sites_missing[row]))
        for row in np.flatnonzero(total_missing & sites_missing.any(axis=1))
    ]
    if "mrss_total" in parsed:
        problems += _mrss_sum_problems(frame, parsed)
    return problems


def _mrss_sum_problems(frame: pd.DataFrame, parsed: dict[str, pd.Series]) -> list[Problem]:
    """A given total must equal the sum of the sites when all 17 are given and valid."""
    nothing = np.full(len(frame), np.nan)
    scores = np.column_stack([parsed.get(s, nothing) for s in MRSS_SITE_FIELDS])
    site_sum = scores.sum(axis=1)  # NaN when any site is absent or invalid: no sum check then
    total = parsed["mrss_total"].to_numpy(dtype="float64", na_value=np.nan)
    mismatch = ~np.isnan(site_sum) & ~np.isnan(total) & (site_sum != total)
    return [
        Problem(
            int(row) + 1,
            "mrss_total",
            _shown(frame["mrss_total"].iloc[row]),
            f"must equal the sum of the 17 mRSS site scores ({site_sum[row]:g})",
        )
        for row in np.flatnonzero(mismatch)
    ]


def _missing_sites_rule(site_missing: np.ndarray) -> str:
    """Name the absent sites when some, but not all, were given without a total."""
    if site_missing.all():
        return _MRSS_REQUIRED_RULE
    names = [name for name, gone in zip(MRSS_SITE_FIELDS, site_missing, strict=True) if gone]
    return f"{_MRSS_REQUIRED_RULE}; missing site scores: {', '.join(names)}"


def _duplicate_id_problems(ids: pd.Series) -> list[Problem]:
    """Each row whose patient_id appears more than once, naming all rows with that ID."""
    duplicated = (ids.duplicated(keep=False) & ids.notna()).to_numpy(dtype=bool)
    rows_by_id: dict[str, list[int]] = {}
    for row in np.flatnonzero(duplicated):
        rows_by_id.setdefault(str(ids.iloc[row]), []).append(int(row) + 1)
    return [
        Problem(row, "patient_id", pid, f"must be unique in the file; also in {_rows(rows, row)}")
        for pid, rows in rows_by_id.items()
        for row in rows
    ]


def _rows(rows: list[int], this_row: int) -> str:
    """'row 3' or 'rows 3, 5': the other rows sharing an ID."""
    others = [str(r) for r in rows if r != this_row]
    return f"row{'s' if len(others) > 1 else ''} {', '.join(others)}"


# --- helpers -------------------------------------------------------------------------------------


def _problems(raw: pd.Series, mask: np.ndarray, name: str, rule: str) -> list[Problem]:
    """One problem per flagged row; Python work only for the rows that fail."""
    return [Problem(int(r) + 1, name, _shown(raw.iloc[r]), rule) for r in np.flatnonzero(mask)]


def _shown(value: object) -> object:
    """The received value as given, or None when nothing was given (NaN, <NA>, blank)."""
    value = _python_value(value)
    return None if isinstance(value, str) and not value.strip() else value


def _python_value(value: object) -> object:
    """numpy/pandas scalars to Python ones; every kind of missing to None."""
    if is_scalar(value) and pd.isna(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _sorted(problems: list[Problem]) -> list[Problem]:
    """File-level problems first, then by row, then in dictionary order within a row."""
    order = {name: i for i, name in enumerate(fields())}
    return sorted(problems, key=lambda p: (p.row or 0, order.get(p.field, -1)))
