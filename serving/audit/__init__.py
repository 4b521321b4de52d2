"""Tamper-evident, append-only audit trail of served predictions.

Every served prediction is stored in ``audit_predictions`` with ``seq`` 1..n. Each row's
``entry_hash`` is the SHA-256 of the canonical JSON of all its fields plus ``prev_hash`` (the
previous row's ``entry_hash``; 64 zeros for seq 1), so editing, deleting or reordering any row
breaks the chain and :meth:`AuditStore.verify` names the first broken entry.

Threat model, stated plainly: the hash chain is the tamper *evidence*. The SQLite triggers that
abort UPDATE/DELETE only stop accidents, since anyone able to write the file can drop them; and a
chain alone cannot reveal entries removed from its very end, so operators should record
``VerifyResult.head_seq``/``head_hash`` outside the database from time to time.
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
