"""A short-lived memory of keys that authenticated, so a busy client costs no database read.

Every request carries its key. Reading the ``api_keys`` row each time cost a threadpool hop and a
database read per request (the largest single cost of a one-patient prediction under load, and it
contended with the audit writer for the SQLite file). A key that authenticated is remembered for
``ttl_seconds``; after that the next request reads the database again. So a revocation (made by
``ssc-response keys revoke`` in another process) takes effect on a running server within
``ttl_seconds``; ``ttl_seconds=0`` reads the database on every request.

Only successes are remembered: an unknown, wrong or revoked key is checked against the database
every time, so a newly created key works at once. The memory is keyed by the SHA-256 of the whole
presented key, never the key itself.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

from ssc_response.serving.keys import ApiKey, KeyStore

DEFAULT_TTL_SECONDS = 2.0
MAX_REMEMBERED = 4096  # distinct keys; beyond it the memory starts over (keys are few in practice)


class KeyCache:
    """:meth:`KeyStore.authenticate`, remembering successes for ``ttl_seconds``."""

    def __init__(self, store: KeyStore, ttl_seconds: float = DEFAULT_TTL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if ttl_seconds < 0:
            raise ValueError(f"ttl_seconds must be >= 0; got {ttl_seconds!r}")
        self._store = store
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._remembered: dict[str, tuple[ApiKey, float]] = {}  # digest -> (key, expires at)

    @property
    def store(self) -> KeyStore:
        """The key store read when a key is not remembered."""
        return self._store

    def remembered(self, plaintext: str) -> ApiKey | None:
        """The key if it authenticated less than ``ttl_seconds`` ago; never reads the database."""
        entry = self._remembered.get(_digest(plaintext))
        if entry is None:
            return None
        key, expires = entry
        return key if self._clock() < expires else None

    def authenticate(self, plaintext: str) -> ApiKey | None:
        """The active key for ``plaintext`` (remembered, else read from the database)."""
        key = self.remembered(plaintext)
        if key is not None:
            return key
        key = self._store.authenticate(plaintext)
        if key is not None and self._ttl > 0:
            self._remember(plaintext, key)
        return key

    def _remember(self, plaintext: str, key: ApiKey) -> None:
        with self._lock:
            if len(self._remembered) >= MAX_REMEMBERED:
                self._remembered.clear()
            self._remembered[_digest(plaintext)] = (key, self._clock() + self._ttl)


def _digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8", "surrogatepass")).hexdigest()
