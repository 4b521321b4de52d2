"""Signed session cookies and CSRF tokens for the web pages.

A sign-in checks the API key once (:meth:`serving.key_cache.KeyCache.authenticate`) and the
browser then holds only a signed token: ``key_id``, a CSRF token, an expiry and a session id,
HMAC-SHA256 signed with the session secret. The API key itself never goes into a cookie. Every
request re-reads the key by its id, so a revoked key ends its sessions at once; signing out
records the session id as revoked in the database, so a copy of the cookie stops working too.

Cookies are HttpOnly (no script can read them), SameSite=Strict (never sent from another site's
page) and Secure when the page was served over https. Every form POST carries the session's
CSRF token, compared in constant time; the sign-in form, which comes before any session, uses a
double-submit cookie instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request, Response
from sqlalchemy import Connection, Engine, delete, insert, select

from ssc_response.serving.database import to_utc_iso, utc_now_iso
from ssc_response.serving.database_tables import revoked_sessions

SESSION_COOKIE = "ssc_session"
SIGN_IN_COOKIE = "ssc_sign_in_csrf"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class Session:
    """What a signed cookie says: whose key, the CSRF token of its forms, until when, which."""

    key_id: str
    csrf: str
    expires: float
    session_id: str


class SessionSigner:
    """Signs and checks session tokens with one secret (at least 32 bytes)."""

    def __init__(self, secret: bytes, lifetime_seconds: float) -> None:
        if len(secret) < 32:
            raise ValueError("the session secret must be at least 32 bytes")
        self._secret = secret
        self.lifetime = lifetime_seconds

    def issue(self, key_id: str) -> tuple[str, Session]:
        """A new session for ``key_id``: its cookie value and what it holds."""
        session = Session(key_id, secrets.token_urlsafe(32), time.time() + self.lifetime,
                          secrets.token_urlsafe(24))
        body = json.dumps([session.key_id, session.csrf, session.expires,
                           session.session_id]).encode()
        payload = base64.urlsafe_b64encode(body).decode().rstrip("=")
        return f"{payload}.{self._sign(payload)}", session

    def read(self, token: str | None) -> Session | None:
        """The session of a cookie value; ``None`` if absent, forged, malformed or expired."""
        if not token or token.count(".") != 1:
            return None
        payload, signature = token.split(".")
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            key_id, csrf, expires, session_id = json.loads(
                base64.urlsafe_b64decode(payload + "=" * 4))
            session = Session(str(key_id), str(csrf), float(expires), str(session_id))
        except (ValueError, TypeError):
            return None
        return session if session.expires > time.time() else None

    def _sign(self, payload: str) -> str:
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()


def tokens_match(given: object, expected: str) -> bool:
    """Constant-time comparison of a submitted CSRF token with the expected one."""
    return isinstance(given, str) and bool(given) and hmac.compare_digest(given, expected)


def set_cookie(response: Response, request: Request, name: str, value: str,
               max_age: int | None) -> None:
    """An HttpOnly, SameSite=Strict cookie for the whole site; Secure over https."""
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")


def clear_cookie(response: Response, request: Request, name: str) -> None:
    """Expire a cookie set by :func:`set_cookie`."""
    response.delete_cookie(name, path="/", httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")


def revoke(engine: Engine, session: Session) -> None:
    """End ``session`` for every copy of its cookie; forget revocations that expired anyway."""
    expires = to_utc_iso(datetime.fromtimestamp(session.expires, UTC))
    table = revoked_sessions
    with engine.begin() as conn:
        conn.execute(delete(table).where(table.c.expires_at < utc_now_iso()))
        if not is_revoked(engine, session, conn):
            conn.execute(insert(table), {"session_id": session.session_id,
                                         "revoked_at": utc_now_iso(), "expires_at": expires})


def is_revoked(engine: Engine, session: Session, conn: Connection | None = None) -> bool:
    """Whether ``session`` was signed out."""
    stmt = select(revoked_sessions.c.session_id).where(
        revoked_sessions.c.session_id == session.session_id)
    if conn is not None:
        return conn.execute(stmt).first() is not None
    with engine.connect() as own:
        return own.execute(stmt).first() is not None
