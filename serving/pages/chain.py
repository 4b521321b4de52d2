"""The chain status panel: the last verification of the audit hash chain, and when it ran."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from ssc_response.serving.audit import AuditStore, VerifyResult


@dataclass(frozen=True)
class ChainCheck:
    """One verification of the whole chain."""

    result: VerifyResult
    checked_at: datetime


class ChainStatus:
    """The latest :class:`ChainCheck` of this process (none until the first check)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: ChainCheck | None = None

    @property
    def last(self) -> ChainCheck | None:
        return self._last

    def check(self, audit: AuditStore) -> ChainCheck:
        """Verify the whole chain now and remember the outcome."""
        result = audit.verify()
        check = ChainCheck(result, datetime.now(UTC))
        with self._lock:
            self._last = check
        return check
