"""A centre's mapping file: its own column names, codes, units and dates, onto the dictionary.

A small YAML file, written once per centre::

    columns:                 # the centre's column -> the dictionary's field
      Patient: patient_id
      Geschlecht: sex
      CRP: crp_mg_l
    drop: [Name des Arztes]  # columns the centre keeps that are not for this program
    codes:                   # per dictionary field: the centre's value -> the dictionary's
      sex: {w: F, m: M}
      pah: {"1": "yes", "0": "no"}
    units:                   # per dictionary field: the centre's unit (see features/units.py)
      crp_mg_l: mg/dL
    dates:                   # a duration in months, computed from two date columns
      disease_duration_months: {start: Erstsymptom, end: Visite, format: "%d.%m.%Y"}

:func:`apply_mapping` runs on the table as read, before validation; the contract then judges
the mapped table exactly as it judges a file in the dictionary's own format.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from ssc_response.features.schema import fields
from ssc_response.features.units import UnitProblem, conversion_factor
from ssc_response.features.validation import Problem

DAYS_PER_MONTH = 365.25 / 12  # the mean Gregorian month, as the dictionary's durations use


class MappingError(ValueError):
    """A mapping file that cannot be used; the message names the file, the entry and the rule."""


class DateSpan(BaseModel):
    """Two of the centre's date columns; the field is the months between them."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    start: str
    end: str
    format: str | None = None  # strftime, e.g. "%d.%m.%Y"; None: ISO 8601 (2024-03-31)


class CentreMapping(BaseModel):
    """The parsed mapping file (see the module's docstring for its form)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    columns: dict[str, str] = {}
    drop: list[str] = []
    codes: dict[str, dict[str, str]] = {}
    units: dict[str, str] = {}
    dates: dict[str, DateSpan] = {}

    @field_validator("codes", mode="before")
    @classmethod
    def _codes_as_text(cls, value: Any) -> Any:
        """YAML reads 1 as a number and yes as true: codes are compared as text."""
        if not isinstance(value, dict):
            return value
        return {str(name): {_text(k): _text(v) for k, v in table.items()}
                if isinstance(table, dict) else table for name, table in value.items()}

    @model_validator(mode="after")
    def _known_fields(self) -> CentreMapping:
        known = fields()
        for kind, names in (("columns", self.columns.values()), ("codes", self.codes),
                            ("units", self.units), ("dates", self.dates)):
            for name in names:
                if name not in known:
                    raise ValueError(f"{kind}: {name!r} is not a field of the data dictionary")
        for name, unit in self.units.items():
            try:
                conversion_factor(name, unit)
            except UnitProblem as problem:
                raise ValueError(f"units: {name}: {problem}") from None
        for name in self.dates:
            if known[name].unit != "months":
                raise ValueError(f"dates: {name} is not a duration in months")
        return self


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def load_mapping(path: str | Path) -> CentreMapping:
    """Read and check a mapping file; ``MappingError`` in one line naming what is wrong."""
    path = Path(path)
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError:
        raise MappingError(f"{path}: the mapping file cannot be read") from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise MappingError(f"{path}: not a valid YAML mapping file{where}") from None
    try:
        return CentreMapping.model_validate(content or {})
    except ValidationError as error:
        first = error.errors()[0]
        place = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise MappingError(f"{path}: {place + ': ' if place else ''}{message}") from None


def apply_mapping(frame: pd.DataFrame, mapping: CentreMapping) -> tuple[pd.DataFrame,
                                                                        list[Problem]]:
    """The table in the dictionary's names, codes and units; and the dates that could not be
    read (rows numbered from 1 by position, as validation numbers them)."""
    frame = frame.drop(columns=[name for name in mapping.drop if name in frame.columns])
    frame = frame.rename(columns=mapping.columns)
    updates: dict[str, pd.Series] = {}
    for name, table in mapping.codes.items():
        if name in frame.columns:
            updates[name] = frame[name].map(lambda value, table=table: _recode(value, table))
    for name, unit in mapping.units.items():
        if name in frame.columns:
            factor = conversion_factor(name, unit)
            column = updates.get(name, frame[name])
            updates[name] = column.map(lambda value, factor=factor: _convert(value, factor))
    problems: list[Problem] = []
    for name, span in mapping.dates.items():
        updates[name], found = _months_between(frame, span)
        problems += found
    used = [column for span in mapping.dates.values() for column in (span.start, span.end)]
    mapped = frame.assign(**updates) if updates else frame
    return mapped.drop(columns=[c for c in dict.fromkeys(used) if c in mapped.columns]), problems


def _recode(value: Any, table: dict[str, str]) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return value
    key = _text(value).strip()
    if isinstance(value, float) and value.is_integer():
        key = str(int(value))  # Excel stores the code 1 as the number 1.0
    return table.get(key, value)


def _convert(value: Any, factor: float) -> Any:
    """A number in the dictionary's unit; anything else as given, for validation to judge."""
    number = pd.to_numeric(value, errors="coerce") if not isinstance(value, bool) else math.nan
    if pd.isna(number) or not math.isfinite(float(number)):
        return value
    return round(float(number) * factor, 9)  # 1.2 mg/dL is 12 mg/L, not 12.000000000000002


def _months_between(frame: pd.DataFrame, span: DateSpan) -> tuple[pd.Series, list[Problem]]:
    problems: list[Problem] = []
    dates = {}
    for column in (span.start, span.end):
        if column not in frame.columns:
            return pd.Series(None, index=frame.index, dtype=object), [
                Problem(None, column, None, "date column named in the mapping file is not in "
                        "the file")]
        dates[column], found = _dates(frame[column], column, span.format)
        problems += found
    days = (dates[span.end] - dates[span.start]).dt.days
    months = (days / DAYS_PER_MONTH).round(2)
    return months.astype(object).where(months.notna(), None), problems


def _dates(column: pd.Series, name: str, form: str | None) -> tuple[pd.Series, list[Problem]]:
    parsed = column.map(lambda value: _date(value, form))
    rule = f"must be a date written {form}" if form else "must be a date written YYYY-MM-DD"
    problems = [Problem(position + 1, name, str(raw), rule)
                for position, (raw, value) in enumerate(zip(column, parsed, strict=True))
                if value is pd.NaT and not _blank(raw)]
    return pd.to_datetime(parsed), problems


def _date(value: Any, form: str | None) -> Any:
    if isinstance(value, datetime | date):  # a spreadsheet's own date cell
        return pd.Timestamp(value)
    if _blank(value):
        return pd.NaT
    try:
        text = str(value).strip()
        return pd.Timestamp(datetime.strptime(text, form) if form else date.fromisoformat(text))
    except ValueError:
        return pd.NaT


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or (
        isinstance(value, str) and not value.strip())
