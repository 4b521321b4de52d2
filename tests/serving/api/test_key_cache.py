"""The key cache: remembered successes for a bounded time, never failures, never the plaintext."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ssc_response.serving.database import make_engine
from ssc_response.serving.key_cache import KeyCache
from ssc_response.serving.keys import ApiKey, KeyStore, Role


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class CountingStore(KeyStore):
    """A real key store that counts its database reads."""

    reads = 0

    def authenticate(self, plaintext: str) -> ApiKey | None:
        self.reads += 1
        return super().authenticate(plaintext)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CountingStore]:
    engine = make_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    yield CountingStore(engine)
    engine.dispose()


def test_a_remembered_key_costs_no_database_read(store: CountingStore) -> None:
    _, plaintext = store.create(Role.CLINICIAN)
    cache = KeyCache(store, ttl_seconds=2.0, clock=FakeClock())

    first, second = cache.authenticate(plaintext), cache.authenticate(plaintext)

    assert first is not None and first == second
    assert first.role is Role.CLINICIAN
    assert store.reads == 1


def test_revocation_is_seen_once_the_time_to_live_has_passed(store: CountingStore) -> None:
    key_id, plaintext = store.create(Role.CLINICIAN)
    clock = FakeClock()
    cache = KeyCache(store, ttl_seconds=2.0, clock=clock)
    assert cache.authenticate(plaintext) is not None
    store.revoke(key_id)

    clock.now += 1.9
    assert cache.authenticate(plaintext) is not None  # still inside the documented window
    clock.now += 0.2
    assert cache.remembered(plaintext) is None
    assert cache.authenticate(plaintext) is None


def test_failures_are_not_remembered(store: CountingStore) -> None:
    cache = KeyCache(store, ttl_seconds=60.0, clock=FakeClock())
    unknown = "ssc_0123456789abcdef_" + "A" * 43

    assert cache.authenticate(unknown) is None
    assert cache.authenticate(unknown) is None
    assert store.reads == 2


def test_zero_time_to_live_reads_the_database_every_time(store: CountingStore) -> None:
    key_id, plaintext = store.create(Role.AUDITOR)
    cache = KeyCache(store, ttl_seconds=0.0, clock=FakeClock())
    assert cache.authenticate(plaintext) is not None
    store.revoke(key_id)

    assert cache.authenticate(plaintext) is None
    assert store.reads == 2


def test_the_plaintext_key_is_not_kept_in_memory(store: CountingStore) -> None:
    _, plaintext = store.create(Role.CLINICIAN)
    cache = KeyCache(store, ttl_seconds=2.0, clock=FakeClock())
    cache.authenticate(plaintext)

    assert plaintext not in repr(vars(cache))
    assert all(plaintext not in digest for digest in cache._remembered)


def test_a_negative_time_to_live_is_refused(store: CountingStore) -> None:
    with pytest.raises(ValueError, match="ttl_seconds"):
        KeyCache(store, ttl_seconds=-1.0)
