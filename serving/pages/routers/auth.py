"""Sign in with an API key at ``/``, sign out; each role lands on its own first page."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from ssc_response.serving.deps import ServicesDep
from ssc_response.serving.pages.deps import (
    HOME,
    PageDenied,
    PagesDep,
    SignedInDep,
    checked_form,
    render,
    session_key,
)
from ssc_response.serving.pages.session import (
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    clear_cookie,
    revoke,
    set_cookie,
    tokens_match,
)

router = APIRouter(include_in_schema=False)

WRONG_KEY = "That API key was not recognised, or it has been revoked. Check it and try again."


@router.get("/")
async def sign_in_page(request: Request, pages: PagesDep, services: ServicesDep) -> Any:
    """The sign-in form (or, when signed in, the role's first page)."""
    session = pages.signer.read(request.cookies.get(SESSION_COOKIE))
    key = None if session is None else await run_in_threadpool(session_key, services, session)
    if key is not None:
        return RedirectResponse(HOME[key.role], status_code=303)
    return _sign_in_form(request, pages, None, 200)


def _sign_in_form(request: Request, pages: PagesDep, message: str | None, status: int) -> Any:
    token = request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(32)
    response = render(request, pages, "sign_in.html",
                      {"signed": None, "sign_in_csrf": token, "message": message}, status)
    set_cookie(response, request, SIGN_IN_COOKIE, token, max_age=3600)
    return response


@router.post("/sign-in")
async def sign_in(request: Request, pages: PagesDep, services: ServicesDep,
                  api_key: Annotated[str, Form(max_length=200)] = "",
                  csrf_token: Annotated[str, Form(max_length=200)] = "") -> Any:
    """Check the key once; the browser keeps a signed session, never the key."""
    if not tokens_match(csrf_token, request.cookies.get(SIGN_IN_COOKIE, "")):
        raise PageDenied(403, "The sign-in form had expired. Reload the page and try again.")
    key = await run_in_threadpool(services.keys.authenticate, api_key)
    if key is None:
        return _sign_in_form(request, pages, WRONG_KEY, 401)
    cookie, _session = pages.signer.issue(key.key_id)
    response = RedirectResponse(HOME[key.role], status_code=303)
    set_cookie(response, request, SESSION_COOKIE, cookie, max_age=int(pages.signer.lifetime))
    clear_cookie(response, request, SIGN_IN_COOKIE)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, signed: SignedInDep, services: ServicesDep) -> Any:
    """End the session: here, and for any copy of its cookie (CSRF-checked like every form)."""
    await checked_form(request, signed)
    await run_in_threadpool(revoke, services.engine, signed.session)
    response = RedirectResponse("/", status_code=303)
    clear_cookie(response, request, SESSION_COOKIE)
    return response
