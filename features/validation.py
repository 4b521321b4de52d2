"""Validation of patient data against the data dictionary (the input contract).

There is one validation path for four kinds of input: ``validate_frame`` (a cohort table, e.g. a
CSV file), ``validate_records`` (a batch of API records, as a typed frame),
``validate_record_columns`` (the same batch, as arrays: the inference path) and
``validate_record`` (one API record). Each input is taken apart into columns (Series, or object
arrays for records), and every column goes through the same parsers (``features._parsers``) and
rules (``features._rules``): numpy over whole columns, Python only once per distinct text value and
for the rows that fail; no pandas Series operations, whose fixed cost per call would swamp a
one-record input. The typed frame is built once, at the end, from the parsed arrays
(:class:`features.validated.ValidatedRecords`); ``validate_record_columns`` and
``validate_record`` build no frame at all.

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
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from features._parsers import BOOLEAN_TOKENS, PARSERS, Raw, blank_out, prepare
from features._rules import (
    BOOLEAN_RULE,
    ID_MAX_LENGTH,
    ID_PATTERN,
    ID_RULE,
    NUMBER_RULES,
    UNKNOWN_FIELD_RULE,
    ContractError,
    Flags,
    Problem,
    column_name_problems,
    duplicate_id_problems,
    flagged_problems,
    mrss_problems,
    required_column_problems,
    sort_problems,
    type_rule,
    value_flags,
)
from features.schema import REQUIRED_FIELDS, Field, fields
from features.validated import ValidatedRecords

__all__ = [
    "BOOLEAN_RULE",
    "BOOLEAN_TOKENS",
    "ID_MAX_LENGTH",
    "ID_PATTERN",
    "ID_RULE",
    "NUMBER_RULES",
    "UNKNOWN_FIELD_RULE",
    "ContractError",
    "Problem",
    "ValidatedRecords",
    "validate_frame",
    "validate_record",
    "validate_record_columns",
    "validate_records",
]

_NUMBER_LIKE = ("float", "integer", "boolean")  # types whose values may be given as numbers
_NUMBER_VALUES = frozenset({type(None), int, float})
_PLAIN_TYPES = {"float": _NUMBER_VALUES, "integer": _NUMBER_VALUES,
                "boolean": frozenset({type(None), bool})}  # value types read together (see there)
Read: TypeAlias = tuple[np.ndarray, np.ndarray, np.ndarray]  # parsed, missing, invalid (per row)


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
    return ValidatedRecords(parsed, len(frame)).to_frame(frame.index)


def validate_records(records: Sequence[Mapping[str, object]]) -> pd.DataFrame:
    """Validate a batch of records (as the API receives them) and return them as a typed frame.

    ``validate_record_columns(records).to_frame()``: the same rules and problems. The frame has
    a ``RangeIndex`` and the columns of every field given in any record, in dictionary order.
    """
    return validate_record_columns(records).to_frame()


def validate_record_columns(records: Sequence[Mapping[str, object]]) -> ValidatedRecords:
    """Validate a batch of records (as the API receives them) and return the parsed arrays.

    The same rules as ``validate_frame`` (``patient_id`` unique in the batch; rows numbered from 1
    in the order given); a field absent from a record is a missing value. The result holds every
    field given in any record, in dictionary order, without the cost of a typed frame.
    """
    names = list(dict.fromkeys(chain.from_iterable(records)))
    columns = _record_columns(records, [n for n in names if n in fields()])
    return ValidatedRecords(_validate(names, columns, len(records)), len(records))


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
    names: Sequence[object], columns: Mapping[str, Raw], n_rows: int
) -> dict[str, np.ndarray]:
    """Every rule, on the given columns; the parsed columns in dictionary order, or raises."""
    problems = column_name_problems(names)
    parsed: dict[str, np.ndarray] = {}
    missing: dict[str, np.ndarray] = {}
    read = _read_together(columns)
    for name, field in fields().items():
        if name in columns:
            parsed[name], missing[name], found = _check_column(field, columns[name], read.get(name))
            problems += found
    problems += required_column_problems(names)
    problems += mrss_problems(n_rows, parsed, missing, columns)
    if "patient_id" in parsed:
        problems += duplicate_id_problems(parsed["patient_id"])
    if problems:
        raise ContractError(sort_problems(problems))
    return parsed


def _check_column(
    field: Field, raw: Raw, read: Read | None = None
) -> tuple[np.ndarray, np.ndarray, list[Problem]]:
    """Type, range, identifier and required-value rules of one field, for all rows at once.

    ``read``: the column's values already read by the type rule (by ``_read_together``).
    """
    codes = None
    if read is None:
        values, missing, codes = prepare(raw, keep_numbers=field.type in _NUMBER_LIKE)
        parsed, invalid = PARSERS[field.type](values, missing, field)
    else:
        parsed, missing, invalid = read
    # Only the rules a value breaks are written down. count_nonzero: ~0.15 µs against ~0.7 µs
    # for .any(), a few times per field (~70 in a full record).
    flags: Flags = []
    if np.count_nonzero(invalid):
        parsed = blank_out(parsed, invalid)  # a value of the wrong type gets no further checks
        flags.append((invalid, type_rule(field)))
    flags += [(mask, rule) for mask, rule in value_flags(field, parsed) if np.count_nonzero(mask)]
    if field.name in REQUIRED_FIELDS and np.count_nonzero(missing):
        flags.append((missing, "required field has no value"))
    if codes is not None:  # rules ran once per distinct value: back to one entry per row
        parsed, missing = parsed[codes], missing[codes]
        flags = [(mask[codes], rule) for mask, rule in flags]
    return parsed, missing, flagged_problems(raw, field.name, flags)


def _read_together(columns: Mapping[str, Raw]) -> dict[str, Read]:
    """The type rule, once per type, for the number-like columns of records holding plain values.

    Each value is read on its own, whatever else is in its column, and the number-like parsers
    read a value by its type alone, never by its field: so every column of one type can be read
    as one long column, one ``prepare`` and one parser call instead of one per field (~10 µs
    each, ~70 fields in a full record). Only object arrays (records) are read so, and only
    those whose values are plain (``_is_plain``): then the long column and each column alone
    take the same way through ``prepare``. Any other column is read on its own, as before.
    """
    by_type: dict[str, list[str]] = {}
    for name, raw in columns.items():
        kind = fields()[name].type
        if kind in _PLAIN_TYPES and isinstance(raw, np.ndarray):
            by_type.setdefault(kind, []).append(name)
    read: dict[str, Read] = {}
    for kind, names in by_type.items():
        long = np.concatenate([columns[n] for n in names])
        if not _is_plain(long, kind):  # rare (API records are typed): keep the plain columns
            names = [n for n in names if _is_plain(columns[n], kind)]
            if not names:
                continue
            long = np.concatenate([columns[n] for n in names])
        read.update(_read_as_one(fields()[names[0]], names, long))
    return read


def _is_plain(raw: np.ndarray, kind: str) -> bool:
    """Only None and Python numbers that convert to float64, or only None and bools.

    Such a column, alone or with others of its kind, takes one way through ``prepare``: numbers
    are converted as a whole (an int beyond float64 would send the whole column the slow way),
    None and bools are read as text.
    """
    kinds = set(map(type, raw))
    if not kinds <= _PLAIN_TYPES[kind]:
        return False
    if int in kinds:
        try:
            raw.astype(np.float64)
        except OverflowError:
            return False
    return True


def _read_as_one(like: Field, names: Sequence[str], long: np.ndarray) -> dict[str, Read]:
    """Equal-length columns of one number-like type (that of ``like``), one after the other in
    ``long``, read as one column, then split per name."""
    values, missing, codes = prepare(long, keep_numbers=True)
    parsed, invalid = PARSERS[like.type](values, missing, like)
    if codes is not None:
        parsed, missing, invalid = parsed[codes], missing[codes], invalid[codes]
    n_rows = len(long) // len(names)
    split = (list(values.reshape(len(names), n_rows)) for values in (parsed, missing, invalid))
    return dict(zip(names, zip(*split, strict=True), strict=True))


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
