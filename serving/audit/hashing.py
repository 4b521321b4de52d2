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
# The access log's chain: every column of ``audit_access`` except entry_hash (``id`` is its seq).
ACCESS_HASHED_FIELDS: tuple[str, ...] = (
    "id", "at", "key_id", "action", "prediction_id", "detail", "prev_hash",
)


# The one encoding behind every stored and hashed byte: the standard library's. Faster encoders
# (orjson, msgspec, ujson) format floats such as 1e-07 or 3.2e-05 differently, which would change
# the stored text and so the hashes of existing chains.


def canonical_json(value: Any) -> str:
    """Serialise ``value`` deterministically (sorted keys, no whitespace, UTF-8, no NaN/Infinity).

    Byte-for-byte ``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    allow_nan=False)``: existing hash chains depend on it. NaN and Infinity are refused
    (``ValueError``) because they are not JSON and would make the stored text unreadable to strict
    parsers (and to the HTTP layer, which refuses them too). A circular or too deeply nested value
    is a ``ValueError`` as well.
    """
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False)
    except RecursionError:  # nested deeper than the encoder goes (a cycle is a ValueError)
        raise ValueError("value is circular or nested too deeply to serialise") from None


def compute_entry_hash(fields: Mapping[Any, Any], names: tuple[str, ...] = HASHED_FIELDS) -> str:
    """SHA-256 (hex) of the canonical JSON of the hashed fields of one audit row.

    ``names`` are the hashed columns: :data:`HASHED_FIELDS` for a prediction,
    :data:`ACCESS_HASHED_FIELDS` for an access.

    The JSON columns are hashed as their stored text (itself canonical JSON), so verification
    never depends on re-parsing floats.
    """
    payload = {name: fields[name] for name in names}
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()
