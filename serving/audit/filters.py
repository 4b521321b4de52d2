"""The audit trail's list filters: one definition for the JSON API and the auditor's pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from ssc_response.features.validation import ID_MAX_LENGTH, ID_PATTERN

VERSION_PATTERN = r"^\d{1,18}$"
KEY_ID_PATTERN = r"^[0-9a-f]{16}$"
PATIENT_PATTERN = f"^{ID_PATTERN}$"

# What each filter must look like, in plain words (the pages show these beside the field).
RULES = {
    "patient_id": f"a pseudonymous ID: letters, digits, '.', '_' or '-', at most {ID_MAX_LENGTH}",
    "model_version": "a version number, e.g. 3",
    "key_id": "the 16 hexadecimal characters after 'ssc_' in a key, e.g. 0123456789abcdef",
}
_PATTERNS = {"patient_id": PATIENT_PATTERN, "model_version": VERSION_PATTERN,
             "key_id": KEY_ID_PATTERN}


@dataclass(frozen=True)
class AuditFilters:
    """Which entries to list: ``since`` inclusive, ``until`` exclusive (UTC)."""

    since: datetime | None = None
    until: datetime | None = None
    patient_id: str | None = None
    model_version: str | None = None
    key_id: str | None = None
    prediction_id: str | None = None


PREDICTION_ID_RULE = "a prediction id: 32 hexadecimal digits, with or without hyphens"


def canonical_prediction_id(text: str) -> str | None:
    """A pasted prediction id in its stored spelling, or ``None`` if it is not one.

    Accepts what copying tends to bring along: spaces, quotes, braces, ``urn:uuid:``, capitals.
    """
    cleaned = text.strip().strip("\"'{}<>").strip()
    cleaned = cleaned.removeprefix("urn:uuid:").removeprefix("URN:UUID:")
    try:
        return str(UUID(cleaned))
    except ValueError:
        return None


def filter_problems(values: dict[str, str | None]) -> dict[str, str]:
    """The text filters that break their rule: ``{name: rule in words}``."""
    problems = {}
    for name, pattern in _PATTERNS.items():
        value = values.get(name)
        too_long = name == "patient_id" and value is not None and len(value) > ID_MAX_LENGTH
        if value is not None and (too_long or not re.fullmatch(pattern, value)):
            problems[name] = RULES[name]
    return problems
