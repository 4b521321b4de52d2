"""The input contract, built from the project's copy of the data dictionary.

``data_dictionary.csv`` beside this module is a verbatim copy of ``shared/data-dictionary.csv``;
``tests/features/test_schema.py`` keeps the two identical. Nothing here reads ``../shared``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

MRSS_SITES: tuple[str, ...] = (
    "face",
    "anterior_chest",
    "abdomen",
    "fingers_r",
    "fingers_l",
    "hands_r",
    "hands_l",
    "forearms_r",
    "forearms_l",
    "upper_arms_r",
    "upper_arms_l",
    "thighs_r",
    "thighs_l",
    "lower_legs_r",
    "lower_legs_l",
    "feet_r",
    "feet_l",
)
MRSS_SITE_FIELDS: tuple[str, ...] = tuple(f"mrss_{site}" for site in MRSS_SITES)
REQUIRED_FIELDS: tuple[str, ...] = ("patient_id", "age_years", "sex", "disease_duration_months")


@dataclass(frozen=True)
class Field:
    """One row of the data dictionary."""

    name: str
    group: str
    type: str  # string | float | integer | boolean | category
    unit: str
    min: float | None
    max: float | None
    allowed: tuple[str, ...]
    role: str  # id | baseline | outcome
    description: str

    @property
    def is_numeric(self) -> bool:
        return self.type in ("float", "integer")


def _optional_float(text: str) -> float | None:
    return float(text) if text.strip() else None


def _parse_row(row: dict[str, str]) -> Field:
    return Field(
        name=row["name"],
        group=row["group"],
        type=row["type"],
        unit=row["unit"],
        min=_optional_float(row["min"]),
        max=_optional_float(row["max"]),
        allowed=tuple(row["allowed"].split("|")) if row["allowed"] else (),
        role=row["role"],
        description=row["description"],
    )


def dictionary_text() -> str:
    """The raw text of the project's copy of the data dictionary."""
    dictionary = resources.files("ssc_response.features").joinpath("data_dictionary.csv")
    return dictionary.read_text(encoding="utf-8")


@cache
def fields() -> dict[str, Field]:
    """All fields of the data dictionary, by name, in dictionary order."""
    reader = csv.DictReader(dictionary_text().splitlines())
    return {row["name"]: _parse_row(row) for row in reader}


def field_names(role: str | None = None) -> list[str]:
    """Field names in dictionary order, optionally only those of one role."""
    return [f.name for f in fields().values() if role is None or f.role == role]


def baseline_fields() -> list[str]:
    """Fields known before transplantation: the model's possible inputs."""
    return field_names("baseline")


def outcome_fields() -> list[str]:
    """Follow-up fields: never model inputs."""
    return field_names("outcome")
