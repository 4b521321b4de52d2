"""The service's own guard over the audit trail: signed checkpoints and scheduled verification.

One background thread per app: it verifies the whole trail at start-up and every
``audit_verify_seconds``, signs a checkpoint every ``audit_checkpoint_seconds`` when the chains
grew, and signs a last one at shutdown. It refuses to sign over a chain that no longer holds its
previous checkpoint, so a rewrite made while the service runs is never endorsed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine

from ssc_response.serving.audit import checkpoint as checkpoints
from ssc_response.serving.audit.checkpoint import Checkpoint
from ssc_response.serving.audit.signing import default_checkpoint_path, resolve_private_key
from ssc_response.serving.audit.trail import (
    CHAINS,
    TrailReport,
    chain_findings,
    read_heads,
    verify_trail,
)
from ssc_response.serving.database import utc_now_iso
from ssc_response.serving.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrailCheck:
    """One verification of the whole trail, and when it ran."""

    report: TrailReport
    checked_at: datetime


@dataclass(frozen=True)
class WatchConfig:
    """Where the checkpoints go, who signs them, and how often the watch works."""

    checkpoint_path: Path
    key: Ed25519PrivateKey | None
    checkpoint_seconds: float
    verify_seconds: float

    @property
    def trusted(self) -> Ed25519PublicKey | None:
        return None if self.key is None else self.key.public_key()


class AuditWatch:
    """Signs checkpoints and verifies the trail, on a schedule and on request."""

    def __init__(self, engine: Engine, config: WatchConfig) -> None:
        self._engine, self.config = engine, config
        self._lock = threading.Lock()  # one signing or verification at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_check: TrailCheck | None = None
        self.refusal: str | None = None  # why the last checkpoint was not signed, if it was not
        self.latest: Checkpoint | None = None  # the last line of the checkpoint file, as last read

    def verify_now(self, own_copy: Sequence[Checkpoint] = ()) -> TrailCheck:
        """Verify both chains against every checkpoint in the file (and in an auditor's own
        copy, which comes first: it is the one the server could not change); remember it."""
        with self._lock:
            found = [*own_copy, *checkpoints.read_all(self.config.checkpoint_path)]
            report = verify_trail(self._engine, found, self.config.trusted)
            self.last_check = TrailCheck(report, datetime.now(UTC))
            self.latest = report.latest
        return self.last_check

    def checkpoint_now(self) -> Checkpoint | None:
        """Sign and append the current heads, unless unchanged or no longer consistent."""
        if self.config.key is None:
            return None
        with self._lock, self._engine.connect() as conn, conn.begin():
            found = checkpoints.read_all(self.config.checkpoint_path)
            problems = [f for name, chain in CHAINS.items()
                        for f in chain_findings(conn, name, chain, found[-1:])]
            if problems:
                self.refusal = "; ".join(p.message for p in problems)
                log.error("audit checkpoint not signed: %s", self.refusal)
                return None
            heads = read_heads(conn)
        self.refusal, self.latest = None, found[-1] if found else None
        if self.latest and (self.latest.predictions, self.latest.accesses,
                            self.latest.outcomes) == (
                heads["predictions"], heads["accesses"], heads["outcomes"]):
            return None
        signed = checkpoints.sign(self.config.key, utc_now_iso(), heads["predictions"],
                                  heads["accesses"], heads["outcomes"])
        checkpoints.append(self.config.checkpoint_path, signed)
        self.latest = signed
        return signed

    def start(self) -> None:
        """Verify and sign once now (in the thread), then keep to the schedule."""
        self._thread = threading.Thread(target=self._run, name="audit-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the schedule and sign a last checkpoint (the shutdown head)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._guarded(self.checkpoint_now)

    def _run(self) -> None:
        self._guarded(self.verify_now)
        self._guarded(self.checkpoint_now)
        clock = {"verify": _now(), "checkpoint": _now()}
        while not self._stop.wait(self._tick()):
            for task, every, work in (("verify", self.config.verify_seconds, self.verify_now),
                                      ("checkpoint", self.config.checkpoint_seconds,
                                       self.checkpoint_now)):
                if every and _now() - clock[task] >= every:
                    clock[task] = _now()
                    self._guarded(work)

    def _tick(self) -> float:
        periods = [p for p in (self.config.verify_seconds, self.config.checkpoint_seconds) if p]
        return min([*periods, 60.0]) / 4 if periods else 60.0

    @staticmethod
    def _guarded(work: Callable[[], object]) -> None:
        """Run one task; a failure is logged (type only) and the schedule goes on."""
        try:
            work()
        except Exception as error:  # the watch must outlive a database hiccup
            log.error("audit watch task failed with %s", type(error).__name__)


def _now() -> float:
    return time.monotonic()


def watch_config(settings: Settings) -> WatchConfig:
    """The watch's configuration from the service settings (raises on an unusable key)."""
    secret = settings.audit_signing_key
    key = resolve_private_key(secret.get_secret_value() if secret else None,
                              settings.audit_signing_key_file, settings.database_url)
    if key is None:
        log.warning("no audit signing key configured: checkpoints are not signed "
                    "(set SSC_AUDIT_SIGNING_KEY_FILE; `ssc-response serve` creates one)")
    path = settings.audit_checkpoint_file or default_checkpoint_path(settings.database_url)
    return WatchConfig(path, key, settings.audit_checkpoint_seconds,
                       settings.audit_verify_seconds)
