"""Canonical JSON and the SHA-256 hash chain of the audit trail."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

GENESIS_HASH = "0" * 64

# Everything stored in a row except entry_hash itself. seq is included so that moving an entry to
# another position breaks its own hash, not only its neighbour's prev_hash.
HASHED_FIELDS: tuple[str, ...] = (
    "seq",
    "prediction_id",
    "created_at",
    "key_id",
    "patient_id",
    "model_name",
    "model_version",
    "model_run_id",
    "input_json",
    "output_json",
    "explanation_json",
    "prev_hash",
)


def canonical_json(value: Any) -> str:
    """Serialise ``value`` deterministically (sorted keys, no whitespace, UTF-8, no NaN/Infinity).

    NaN and Infinity are refused because they are not JSON and would make the stored text
    unreadable to strict parsers (and to the HTTP layer, which refuses them too).
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def compute_entry_hash(fields: Mapping[Any, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of the hashed fields of one audit row.

    The JSON columns are hashed as their stored text (itself canonical JSON), so verification
    never depends on re-parsing floats.
    """
    payload = {name: fields[name] for name in HASHED_FIELDS}
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()
