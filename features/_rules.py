"""Problems and the rules beyond a value's type: names, ranges, identifiers.

The rules across fields and rows (mRSS total against its sites, unique identifiers) are in
``features._cross_field_rules``.

Rules work on plain arrays of parsed values (numpy; see ``features._parsers``) and return masks or
``Problem`` lists, so every validation path - one record, a batch of records, a whole file - uses
these very definitions. Python work happens only for the rows that fail.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TypeAlias

import numpy as np
import pandas as pd
from pandas.api.types import is_scalar

from ssc_response.features._parsers import Raw
from ssc_response.features.schema import MRSS_SITE_FIELDS, REQUIRED_FIELDS, Field, fields

UNKNOWN_FIELD_RULE = "unknown field; allowed fields are in the data dictionary"
OUTCOME_FIELD_RULE = "follow-up (outcome) field; not accepted for prediction"
ID_MAX_LENGTH = 64
ID_PATTERN = r"[A-Za-z0-9._-]+"
ID_RULE = (
    "must contain only letters, digits, '.', '_' or '-' (no spaces): "
    "pseudonymous IDs only, never a name"
)
MRSS_REQUIRED_RULE = "required: give mrss_total or all 17 mRSS site scores"
BOOLEAN_RULE = "must be true or false (accepted: true/false, yes/no, 1/0)"
NUMBER_RULES = {"float": "must be a finite number", "integer": "must be a whole number"}
_ID = re.compile(ID_PATTERN)

Flags: TypeAlias = list[tuple[np.ndarray, str]]  # (mask of the rows that break a rule, the rule)


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


# --- columns -------------------------------------------------------------------------------------


def column_name_problems(names: Sequence[object]) -> list[Problem]:
    """Unknown and repeated column names: one problem per column, not per row."""
    known = fields()
    problems = [
        Problem(None, str(c), None, unknown_field_rule(str(c), known)) for c in names
        if c not in known
    ]
    seen: set[object] = set()
    repeated: dict[object, None] = {}  # in the order of their second appearance, like pandas
    for name in names:
        if name in seen:
            repeated[name] = None
        seen.add(name)
    return problems + [Problem(None, str(c), None, "field given more than once") for c in repeated]


def record_field_problems(
    records: Sequence[Mapping[str, object]], names: Sequence[str], *, outcomes: bool
) -> list[Problem]:
    """Unknown fields (and follow-up ones unless ``outcomes``) in each record that has them.

    ``names``: every field name given in any record. A record is an object of its own (not a
    column of a file), so the problem names its row: the caller sees which record to fix.
    """
    refused = {
        name: unknown_field_rule(name, _suggestible(outcomes))
        for name in names if name not in fields()
    }
    if not outcomes:
        refused.update((name, OUTCOME_FIELD_RULE) for name in names if name in _outcomes())
    if not refused:  # the usual case: no record is read again
        return []
    return [
        Problem(row, name, None, rule)
        for row, record in enumerate(records, start=1)
        for name, rule in refused.items() if name in record
    ]


def unknown_field_rule(name: str, allowed: Iterable[str]) -> str:
    """The unknown-field rule, with "did you mean" when exactly one allowed name is close.

    0.8 (difflib's similarity ratio) catches a doubled or dropped letter or a missing suffix
    ("agee_years", "patientid") but not a different word; two close names ("mrss_fingers" for
    the right and left) would be a guess, so nothing is suggested then.
    """
    close = difflib.get_close_matches(name, list(allowed), n=2, cutoff=0.8)
    if len(close) != 1:
        return UNKNOWN_FIELD_RULE
    return f"{UNKNOWN_FIELD_RULE}; did you mean `{close[0]}`?"


@cache
def _outcomes() -> frozenset[str]:
    return frozenset(name for name, field in fields().items() if field.role == "outcome")


@cache
def _suggestible(outcomes: bool) -> tuple[str, ...]:
    """Names worth suggesting: every field, or only baseline ones where outcomes are refused."""
    return tuple(name for name in fields() if outcomes or name not in _outcomes())


def required_column_problems(names: Sequence[object]) -> list[Problem]:
    """Required fields absent altogether (reported once, not once per row)."""
    present = set(names)
    problems = [
        Problem(None, n, None, "required field is missing")
        for n in REQUIRED_FIELDS
        if n not in present
    ]
    if "mrss_total" not in present and present.isdisjoint(MRSS_SITE_FIELDS):
        problems.append(Problem(None, "mrss_total", None, MRSS_REQUIRED_RULE))
    return problems


# --- values of one field -------------------------------------------------------------------------


@cache
def type_rule(field: Field) -> str:
    """What a value of this field must look like."""
    if field.type == "boolean":
        return BOOLEAN_RULE
    if field.type == "category":
        return f"must be one of: {', '.join(field.allowed)}"
    unit = f" ({field.unit})" if field.unit else ""
    return f"{NUMBER_RULES[field.type]}{unit}" if field.is_numeric else "must be text"


def value_flags(field: Field, parsed: np.ndarray) -> Flags:
    """Rules beyond the type, on values that passed it: ranges, identifier rules."""
    if field.is_numeric:
        return [_range_flag(field, parsed)]
    if field.name == "patient_id":
        return _id_flags(parsed)
    return []


def _range_flag(field: Field, number: np.ndarray) -> tuple[np.ndarray, str]:
    """Inclusive min..max (NaN never fails a comparison)."""
    low, high, rule = _range(field)
    return (number < low) | (number > high), rule


@cache
def _range(field: Field) -> tuple[float, float, str]:
    """The limits of a numeric field and the rule that states them, with the unit."""
    low = -np.inf if field.min is None else field.min
    high = np.inf if field.max is None else field.max
    unit = f" {field.unit}" if field.unit else ""
    return low, high, f"must be between {low:g} and {high:g}{unit}"


def _id_flags(ids: np.ndarray) -> Flags:
    """Length and character rules that keep identifiers pseudonymous."""
    too_long = [pid is not None and len(pid) > ID_MAX_LENGTH for pid in ids]
    bad_chars = [pid is not None and _ID.fullmatch(pid) is None for pid in ids]
    return [
        (np.array(too_long, dtype=bool), f"must be at most {ID_MAX_LENGTH} characters"),
        (np.array(bad_chars, dtype=bool), ID_RULE),
    ]


def flagged_problems(raw: Raw, name: str, flags: Flags) -> list[Problem]:
    """One problem per flagged row and rule; Python work only for the rows that fail."""
    return [
        Problem(int(row) + 1, name, shown(at_row(raw, int(row))), rule)
        for mask, rule in flags
        for row in np.flatnonzero(mask)
    ]


# --- helpers -------------------------------------------------------------------------------------


def at_row(raw: Raw, row: int) -> object:
    """The value given in one row (by position, whatever the frame's index)."""
    return raw.iloc[row] if isinstance(raw, pd.Series) else raw[row]


def shown(value: object) -> object:
    """The received value as given, or None when nothing was given (NaN, <NA>, blank)."""
    value = _python_value(value)
    return None if isinstance(value, str) and not value.strip() else value


def _python_value(value: object) -> object:
    """numpy/pandas scalars to Python ones; every kind of missing to None."""
    if is_scalar(value) and pd.isna(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """File-level problems first, then by row, then in dictionary order within a row."""
    order = _field_order()
    return sorted(problems, key=lambda p: (p.row or 0, order.get(p.field, -1)))


@cache
def _field_order() -> dict[str, int]:
    return {name: i for i, name in enumerate(fields())}
