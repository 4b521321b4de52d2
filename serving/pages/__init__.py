"""Web pages for clinicians, auditors and researchers, served by the API's own app.

Server-rendered Jinja2 templates and plain HTML forms; every asset (CSS, the one small script,
the vendored Swagger UI and ReDoc) ships in this package, so the pages work without internet.
The pages sign in with an API key and admit the API's roles; they predict, read the audit trail
and replay through the very functions the JSON API uses. :func:`include_pages` adds them to an
app; nothing happens at import.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape

from ssc_response.features.schema import MRSS_SITE_FIELDS
from ssc_response.serving.pages.deps import PageDenied, Pages, SignInRequired
from ssc_response.serving.pages.routers import auditor, auth, clinician, docs, followup, model
from ssc_response.serving.pages.session import CSRF_FIELD, SessionSigner
from ssc_response.serving.pages.views import DISCLAIMER, percent
from ssc_response.serving.settings import Settings

__all__ = ["include_pages"]


def include_pages(app: FastAPI, settings: Settings) -> None:
    """Add the pages, their static files and the offline ``/docs`` and ``/redoc`` to ``app``.

    ``app`` must be built with ``docs_url=None, redoc_url=None`` (these replace them).
    """
    app.state.pages = Pages(_templates(), _signer(settings))
    static = StaticFiles(packages=[("ssc_response.serving.pages", "static")])
    app.mount("/static", static, name="static")
    for module in (auth, clinician, followup, auditor, model, docs):
        app.include_router(module.router)
    app.add_exception_handler(SignInRequired, _to_sign_in)
    app.add_exception_handler(PageDenied, _denied)


def _signer(settings: Settings) -> SessionSigner:
    """Signs with ``SSC_SESSION_SECRET``, else with a secret drawn for this process."""
    given = settings.session_secret
    secret = given.get_secret_value().encode() if given else secrets.token_bytes(32)
    return SessionSigner(secret, settings.session_hours * 3600)


def _templates() -> Jinja2Templates:
    environment = Environment(loader=PackageLoader("ssc_response.serving.pages", "templates"),
                              autoescape=select_autoescape(default=True))
    environment.filters["percent"] = percent
    environment.globals |= {"CSRF_FIELD": CSRF_FIELD, "DISCLAIMER": DISCLAIMER,
                            "mrss_sites": frozenset(MRSS_SITE_FIELDS)}
    return Jinja2Templates(env=environment)


async def _to_sign_in(_request: Request, _error: Exception) -> Response:
    return RedirectResponse("/", status_code=303)


async def _denied(request: Request, error: Exception) -> Any:
    assert isinstance(error, PageDenied)
    pages: Pages = request.app.state.pages
    context = {"signed": None, "status": error.status_code, "message": error.message}
    return pages.templates.TemplateResponse(request, "error.html", context,
                                            status_code=error.status_code)
