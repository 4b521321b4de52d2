"""Security headers on every response: a strict content policy, no framing, no caching.

The pages load only their own files (every asset is vendored under ``/static``), so the policy
allows nothing else: no inline script or style, no other origin, no framing. Swagger UI and ReDoc
start from an inline script FastAPI writes, so ``/docs`` and ``/redoc`` keep a policy of their
own that allows inline code but still only this origin. Responses carry patient data (pages,
CSV exports, the JSON API), so none may be stored by a browser or proxy; only the static assets
keep their caching.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
               "frame-ancestors 'none'")
DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; "
               "style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src 'self' blob:; "
               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
DOCS_PATHS = ("/docs", "/redoc")
STATIC_PREFIX = "/static/"

COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",  # for browsers that predate frame-ancestors
}


def headers_for(path: str) -> dict[str, str]:
    """The security headers of the response to ``path``."""
    docs = path == DOCS_PATHS[0] or path.startswith(DOCS_PATHS[0] + "/") or path == DOCS_PATHS[1]
    headers = {**COMMON_HEADERS,
               "Content-Security-Policy": DOCS_POLICY if docs else PAGE_POLICY}
    if not path.startswith(STATIC_PREFIX):
        headers["Cache-Control"] = "no-store"
    return headers


class SecurityHeadersMiddleware:
    """Adds :func:`headers_for` to every HTTP response (pure ASGI: no body buffering)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = headers_for(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
