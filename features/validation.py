"""Validation of patient data against the data dictionary (the input contract).

One rule set for three kinds of input: ``validate_frame`` (a cohort table, e.g. a CSV file),
``validate_records`` (a batch of API records) and ``validate_record`` (one API record). Each input
is taken apart into columns (Series, or object arrays for records); every column goes through the
same parsers (``features._parsers``) and value rules (``features._rules``), then the rules across
fields and rows (mRSS total = sum of the sites, unique ``patient_id``) run on the parsed columns.
The typed frame is built once, at the end.

Conventions
-----------
* Missing values: ``None``, ``NaN``, ``pd.NA`` and blank strings. Surrounding whitespace is ignored.
* Each value is read on its own, whatever else is in its column: a number (``int``, ``float``,
  numpy number) is a number; anything else, ``bool`` included, is read as its text (``True`` as
  'True': a boolean, never the number 1).
* Row numbers in problems are 1-based data rows: for a CSV file, row 1 is the first line after the
  header; for a frame, row 1 is the first row by position (whatever the index); for a batch of
  records, row 1 is the first record. A single record has no row number (``None``).
* Every problem of the input is collected before ``ContractError`` is raised.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from itertools import chain
from typing import Any

import numpy as np
import pandas as pd

from ssc_response.features._cross_field_rules import duplicate_id_problems, mrss_problems
from ssc_response.features._parsers import BOOLEAN_TOKENS, PARSERS, Raw, blank_out, prepare
from ssc_response.features._rules import (
    BOOLEAN_RULE,
    ID_MAX_LENGTH,
    ID_PATTERN,
    ID_RULE,
    NUMBER_RULES,
    OUTCOME_FIELD_RULE,
    UNKNOWN_FIELD_RULE,
    ContractError,
    Flags,
    Problem,
    column_name_problems,
    flagged_problems,
    record_field_problems,
    required_column_problems,
    sort_problems,
    type_rule,
    value_flags,
)
from ssc_response.features.schema import REQUIRED_FIELDS, Field, fields

__all__ = [
    "BOOLEAN_RULE",
    "BOOLEAN_TOKENS",
    "ID_MAX_LENGTH",
    "ID_PATTERN",
    "ID_RULE",
    "NUMBER_RULES",
    "OUTCOME_FIELD_RULE",
    "UNKNOWN_FIELD_RULE",
    "ContractError",
    "Problem",
    "validate_frame",
    "validate_record",
    "model_frame",
    "validate_records",
]

_NUMBER_LIKE = ("float", "integer", "boolean")  # types whose values may be given as numbers


def validate_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Validate a cohort and return it typed (see docs/ARCHITECTURE.md for the dtypes).

    Columns come back in dictionary order (only those present), with the input's index.
    Raises ``ContractError`` listing every problem, including duplicated ``patient_id`` values.
    """
    first: dict[object, int] = {}  # a repeated column is reported, and only its first copy read
    for position, name in enumerate(frame.columns):
        first.setdefault(name, position)
    columns = {str(n): frame.iloc[:, i] for n, i in first.items() if n in fields()}
    parsed = _validate(list(frame.columns), columns, len(frame))
    return _typed_frame(parsed, frame.index)


def validate_records(
    records: Sequence[Mapping[str, object]], *, outcomes: bool = True,
    id_groups: Sequence[int] | None = None, model_dtypes: bool = False,
) -> pd.DataFrame:
    """Validate a batch of records (as the API receives them) and return them as a typed frame.

    The same rules as ``validate_frame`` (``patient_id`` unique in the batch; rows numbered from 1
    in the order given); a field absent from a record is a missing value. An unknown (or refused
    follow-up) field is reported in each record that has it, with that record's row. The frame has a
    ``RangeIndex`` and the columns of every field given in any record, in dictionary order.
    ``outcomes=False`` refuses follow-up (outcome) fields, which a prediction must not be given.
    ``id_groups``: the sizes of consecutive groups of records (e.g. the requests of a served
    batch) within which ``patient_id`` must be unique, instead of the whole batch.
    ``model_dtypes=True`` gives the same values in the dtypes the feature pipeline reads
    (:func:`model_frame`) instead of the documented nullable ones.
    """
    names = list(dict.fromkeys(chain.from_iterable(records)))
    known = [n for n in names if n in fields()]
    columns = _record_columns(records, known)
    extra = record_field_problems(records, names, outcomes=outcomes)
    groups = [len(records)] if id_groups is None else list(id_groups)
    if sum(groups) != len(records):
        raise ValueError(f"id_groups {groups} do not add up to the {len(records)} records")
    parsed = _validate(known, columns, len(records), extra, groups, within="the request")
    build = model_frame if model_dtypes else _typed_frame
    return build(parsed, pd.RangeIndex(len(records)))


def validate_record(record: Mapping[str, object]) -> dict[str, object]:
    """Validate one record and return it normalised to Python types.

    The result holds the fields given in the record, in dictionary order; a missing value
    (None, NaN, blank) comes back as ``None``. Problems carry ``row=None``.
    """
    columns = _record_columns([record], [n for n in record if n in fields()])
    try:
        parsed = _validate(list(record), columns, 1)
    except ContractError as error:
        raise ContractError(sort_problems(replace(p, row=None) for p in error.problems)) from None
    return {name: _python_value(fields()[name], values[0]) for name, values in parsed.items()}


def _validate(
    names: Sequence[object], columns: Mapping[str, Raw], n_rows: int,
    problems: Sequence[Problem] = (), id_groups: Sequence[int] | None = None,
    within: str = "the file",
) -> dict[str, np.ndarray]:
    """Every rule, on the given columns; the parsed columns in dictionary order, or raises
    (with ``problems`` found beforehand). ``patient_id`` is unique within each of ``id_groups``
    (sizes of consecutive rows; default: all rows), which together are ``within``."""
    problems = [*problems, *column_name_problems(names)]
    parsed: dict[str, np.ndarray] = {}
    missing: dict[str, np.ndarray] = {}
    for name, field in fields().items():
        if name in columns:
            parsed[name], missing[name], found = _check_column(field, columns[name])
            problems += found
    problems += required_column_problems(names)
    problems += mrss_problems(n_rows, parsed, missing, columns)
    if "patient_id" in parsed:
        start = 0
        for size in [n_rows] if id_groups is None else id_groups:
            ids = parsed["patient_id"][start:start + size]
            problems += duplicate_id_problems(ids, start + 1, within)
            start += size
    if problems:
        raise ContractError(sort_problems(problems))
    return parsed


def _check_column(field: Field, raw: Raw) -> tuple[np.ndarray, np.ndarray, list[Problem]]:
    """Type, range, identifier and required-value rules of one field, for all rows at once."""
    values, missing = prepare(raw, keep_numbers=field.type in _NUMBER_LIKE)
    parsed, invalid = PARSERS[field.type](values, missing, field)
    flags: Flags = []  # only the rules a value breaks are written down
    if invalid.any():
        parsed = blank_out(parsed, invalid)  # a value of the wrong type gets no further checks
        flags.append((invalid, type_rule(field)))
    flags += [(mask, rule) for mask, rule in value_flags(field, parsed) if mask.any()]
    if field.name in REQUIRED_FIELDS and missing.any():
        flags.append((missing, "required field has no value"))
    return parsed, missing, flagged_problems(raw, field.name, flags)


def _record_columns(
    records: Sequence[Mapping[str, object]], names: Sequence[str]
) -> dict[str, np.ndarray]:
    """The named fields of every record as object arrays (None where a record lacks the field)."""
    values = chain.from_iterable(map(record.get, names) for record in records)
    # One object array for the whole table, read row by row; fromiter never unpacks a value
    # that is itself a sequence (np.array would).
    table = np.fromiter(values, dtype=object, count=len(records) * len(names))
    table = table.reshape(len(records), len(names))
    return {name: table[:, j] for j, name in enumerate(names)}


def _typed_frame(parsed: Mapping[str, np.ndarray], index: pd.Index) -> pd.DataFrame:
    """The parsed columns as a frame of the documented dtypes, built in one go."""
    typed = {name: _typed_column(fields()[name], values) for name, values in parsed.items()}
    return pd.DataFrame(typed, index)


def model_frame(parsed: Mapping[str, np.ndarray], index: pd.Index) -> pd.DataFrame:
    """Parsed columns as the feature pipeline reads them: numbers and booleans float64 (1/0),
    category and string fields object, NaN wherever missing.

    The values of :func:`_typed_frame`, without its nullable dtypes: pandas keeps each nullable
    column in a block of its own, so every operation on a frame of ~70 of them costs about a
    millisecond whatever its rows; here the numbers share one block.
    """
    columns: dict[str, object] = {}
    for name, values in parsed.items():
        if fields()[name].type in ("category", "string"):
            text = np.where(pd.isna(values), np.nan, values)  # None too
            columns[name] = pd.Series(text, index=index, dtype=object)  # never pandas' str
        else:
            columns[name] = np.asarray(values, dtype="float64")
    return pd.DataFrame(columns, index=index)


def _typed_column(field: Field, values: np.ndarray) -> object:
    """A parsed column as an array of the field's documented dtype."""
    if field.type == "float":
        return values
    if field.type in ("category", "string"):
        return pd.array(values, dtype=pd.StringDtype())
    absent = np.isnan(values)
    if field.type == "boolean":
        return pd.arrays.BooleanArray(values == 1, absent)
    return pd.arrays.IntegerArray(np.where(absent, 0, values).astype(np.int64), absent)


def _python_value(field: Field, value: Any) -> object:
    """One clean parsed value as a plain Python value; missing as None."""
    if field.type in ("category", "string") or value is None:
        return value
    number = float(value)
    if math.isnan(number):
        return None
    if field.type == "integer":
        return int(number)
    return number == 1 if field.type == "boolean" else number
