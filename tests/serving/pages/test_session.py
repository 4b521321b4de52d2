"""Signed sessions: the cookie says whose key, never holds it, and cannot be forged."""

from __future__ import annotations

import time

import pytest

from ssc_response.serving.pages.session import SessionSigner, tokens_match

SECRET = b"s" * 32


def test_a_session_reads_back() -> None:
    signer = SessionSigner(SECRET, 60)
    cookie, session = signer.issue("0123456789abcdef")
    assert signer.read(cookie) == session
    assert session.expires == pytest.approx(time.time() + 60, abs=5)


def test_tampered_foreign_or_expired_cookies_are_refused() -> None:
    signer = SessionSigner(SECRET, 60)
    cookie, _ = signer.issue("0123456789abcdef")
    payload, signature = cookie.split(".")
    assert signer.read(payload + "A." + signature) is None
    assert SessionSigner(b"t" * 32, 60).read(cookie) is None
    assert signer.read("no-dot") is None and signer.read(None) is None
    expired, _ = SessionSigner(SECRET, -1).issue("0123456789abcdef")
    assert signer.read(expired) is None


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        SessionSigner(b"short", 60)


def test_csrf_tokens_compare_exactly() -> None:
    assert tokens_match("abc", "abc")
    assert not tokens_match("abd", "abc")
    assert not tokens_match("", "") and not tokens_match(None, "a")
