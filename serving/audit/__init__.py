"""Tamper-evident, append-only audit trail of served predictions.

Every served prediction is stored in ``audit_predictions`` with ``seq`` 1..n. Each row's
``entry_hash`` is the SHA-256 of the canonical JSON of all its fields plus ``prev_hash`` (the
previous row's ``entry_hash``; 64 zeros for seq 1), so editing, deleting or reordering any row
breaks the chain and :meth:`AuditStore.verify` names the first broken entry.

Who read the trail is a second chain, ``audit_access`` (:mod:`serving.audit.access`), guarded and
verified the same way. Threat model, stated plainly (docs/security.md): the triggers that abort
UPDATE/DELETE only stop accidents, since anyone able to write the database can drop them, and a
chain alone cannot reveal entries removed from its end or a rewrite re-hashed to the end. Signed
checkpoints of both heads, kept outside the database (:mod:`serving.audit.checkpoint`, signed by
:mod:`serving.audit.watch`, checked by :mod:`serving.audit.trail`), reveal both to whoever holds
an earlier one.
"""

from ssc_response.serving.audit.hashing import (
    GENESIS_HASH,
    HASHED_FIELDS,
    canonical_json,
    compute_entry_hash,
)
from ssc_response.serving.audit.records import AuditEntryIn, AuditRecord, VerifyResult
from ssc_response.serving.audit.store import AUDIT_LOCK_KEY, AuditStore

__all__ = [
    "AUDIT_LOCK_KEY",
    "GENESIS_HASH",
    "HASHED_FIELDS",
    "AuditEntryIn",
    "AuditRecord",
    "AuditStore",
    "VerifyResult",
    "canonical_json",
    "compute_entry_hash",
]
