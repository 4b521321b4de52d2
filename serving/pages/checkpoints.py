"""What the auditor's chain panel shows about signed checkpoints, and the watch behind it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from ssc_response.serving.audit.signing import fingerprint, public_key_from_text
from ssc_response.serving.audit.watch import AuditWatch


async def get_watch(request: Request) -> AuditWatch:
    """The app's audit watch (lifespan state)."""
    watch: AuditWatch = request.state.audit_watch
    return watch


WatchDep = Annotated[AuditWatch, Depends(get_watch)]


def chain_context(watch: AuditWatch) -> dict[str, Any]:
    """The panel's values: the last verification, the latest checkpoint and its signature."""
    latest, trusted = watch.latest, watch.config.trusted
    signer = None if latest is None else fingerprint(public_key_from_text(latest.public_key))
    return {
        "chain": watch.last_check,
        "checkpoint": latest,
        "checkpoint_valid": latest is not None and latest.signature_valid(trusted),
        "checkpoint_signer": signer,
        "server_key": None if trusted is None else fingerprint(trusted),
        "checkpoint_path": str(watch.config.checkpoint_path),
        "checkpoint_refusal": watch.refusal,
        "verify_every": watch.config.verify_seconds,
    }
