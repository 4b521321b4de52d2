"""Dependencies of the web pages: the signed-in key, role checks and CSRF-checked forms.

The roles are the JSON API's (:data:`serving.deps.PREDICT_ROLES` and friends). A page asked for
without a session redirects to the sign-in page; a page of another role is a 403 page that says
so in words.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from ssc_response.serving.deps import (
    AUDIT_ROLES,
    MODEL_READ_ROLES,
    PREDICT_ROLES,
    Services,
    ServicesDep,
)
from ssc_response.serving.keys import ApiKey, Role
from ssc_response.serving.pages.session import (
    CSRF_FIELD,
    SESSION_COOKIE,
    Session,
    SessionSigner,
    is_revoked,
    tokens_match,
)

HOME = {Role.CLINICIAN: "/patient", Role.AUDITOR: "/audit", Role.RESEARCHER: "/model"}


@dataclass
class Pages:
    """What the pages share, built once per app by :func:`serving.pages.include_pages`."""

    templates: Jinja2Templates
    signer: SessionSigner
    cards: dict[str, str | None] = field(default_factory=dict)  # model card text by run id


class SignInRequired(Exception):
    """No valid session: the handler redirects to the sign-in page."""


class PageDenied(Exception):
    """A page refused, with its status and a sentence for the person who asked."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


@dataclass(frozen=True)
class SignedIn:
    """The key behind a session, and the session (its CSRF token)."""

    key: ApiKey
    session: Session

    @property
    def home(self) -> str:
        return HOME[self.key.role]


async def get_pages(request: Request) -> Pages:
    """The pages' shared state."""
    pages: Pages = request.app.state.pages
    return pages


PagesDep = Annotated[Pages, Depends(get_pages)]


async def signed_in(request: Request, services: ServicesDep, pages: PagesDep) -> SignedIn:
    """The session's key, read again (a revoked key ends its sessions at once)."""
    session = pages.signer.read(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise SignInRequired()
    key = await run_in_threadpool(session_key, services, session)
    if key is None:
        raise SignInRequired()
    return SignedIn(key, session)


def session_key(services: Services, session: Session) -> ApiKey | None:
    """The active key of a session that was not signed out, else ``None`` (database reads)."""
    key = services.keys.store.get(session.key_id)
    if key is None or key.revoked or is_revoked(services.engine, session):
        return None
    return key


SignedInDep = Annotated[SignedIn, Depends(signed_in)]


def _require(*roles: Role) -> Callable[[SignedIn], Awaitable[SignedIn]]:
    async def check_role(signed: SignedInDep) -> SignedIn:
        if signed.key.role not in roles:
            allowed = " or ".join(role.value for role in roles)
            raise PageDenied(403, f"This page is for the {allowed} role; you are signed in "
                                  f"with a {signed.key.role.value} key.")
        return signed

    return check_role


ClinicianPage = Annotated[SignedIn, Depends(_require(*PREDICT_ROLES))]
AuditorPage = Annotated[SignedIn, Depends(_require(*AUDIT_ROLES))]
ModelPage = Annotated[SignedIn, Depends(_require(*MODEL_READ_ROLES))]


async def checked_form(request: Request, signed: SignedInDep) -> FormData:
    """The posted form, refused (403) unless it carries this session's CSRF token."""
    form = await request.form()
    if not tokens_match(form.get(CSRF_FIELD), signed.session.csrf):
        raise PageDenied(403, "This form was not sent from this site's page, or your session "
                              "changed since it was opened. Reload the page and try again.")
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


def render(request: Request, pages: Pages, template: str, context: dict[str, Any],
           status_code: int = 200) -> Any:
    """A page from its template; ``context`` should hold ``signed`` (or None) for the header."""
    return pages.templates.TemplateResponse(request, template, context, status_code=status_code)
