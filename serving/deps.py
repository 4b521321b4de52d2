"""Every dependency of the routes, as ``Annotated`` aliases.

The lifespan in ``serving/app.py`` builds one :class:`Services` per app and yields it as lifespan
state; the dependencies below read it from the request. Cheap look-ups are ``async def`` so they
run on the event loop instead of costing a threadpool hop. The key check answers from the key
cache on the event loop and reads the database (in the threadpool) only when the cache does not
know the key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from ssc_response.models.registry import ServedModel
from ssc_response.serving.audit import AuditStore
from ssc_response.serving.audit.replay import VersionCache
from ssc_response.serving.key_cache import KeyCache
from ssc_response.serving.keys import ApiKey, Role
from ssc_response.serving.model_holder import ModelHolder
from ssc_response.serving.prediction_service import PredictionService
from ssc_response.serving.prometheus import ServiceMetrics
from ssc_response.serving.schemas import DETAIL_FORBIDDEN, DETAIL_UNAUTHENTICATED
from ssc_response.serving.settings import Settings, get_settings


@dataclass(frozen=True)
class Services:
    """What the lifespan builds once per app and the routes share."""

    settings: Settings
    engine: Engine
    keys: KeyCache
    audit: AuditStore
    models: ModelHolder
    versions: VersionCache
    metrics: ServiceMetrics
    predictions: PredictionService


async def get_services(request: Request) -> Services:
    """The app's services (lifespan state)."""
    services: Services = request.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_model(services: ServicesDep) -> ServedModel:
    """The current model, read once: the request keeps it even if a reload swaps models."""
    return services.models.current


async def get_holder(services: ServicesDep) -> ModelHolder:
    """The model holder (for model information and reloads)."""
    return services.models


async def get_audit(services: ServicesDep) -> AuditStore:
    """The audit trail."""
    return services.audit


async def get_prediction_service(services: ServicesDep) -> PredictionService:
    """The owner of prediction requests (validation to audit write, requests coalesced)."""
    return services.predictions


ModelDep = Annotated[ServedModel, Depends(get_model)]
HolderDep = Annotated[ModelHolder, Depends(get_holder)]
AuditDep = Annotated[AuditStore, Depends(get_audit)]
PredictionServiceDep = Annotated[PredictionService, Depends(get_prediction_service)]

_bearer = HTTPBearer(
    auto_error=False,
    description="API key created with `ssc-response keys create` (ssc_<key_id>_<secret>).",
)


def _unauthenticated() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, DETAIL_UNAUTHENTICATED, {"WWW-Authenticate": "Bearer"}
    )


async def authenticate(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKey:
    """The caller's active key; 401 when absent, malformed, unknown or revoked."""
    if credentials is None:
        raise _unauthenticated()
    token = credentials.credentials
    key = services.keys.remembered(token)
    if key is None:  # not seen lately: the database read must not block the event loop
        key = await run_in_threadpool(services.keys.authenticate, token)
    if key is None:
        raise _unauthenticated()
    return key


CallerKey = Annotated[ApiKey, Depends(authenticate)]


def _require(*roles: Role) -> Callable[[ApiKey], Awaitable[ApiKey]]:
    """A dependency admitting only keys of ``roles`` (403 otherwise)."""

    async def check_role(key: CallerKey) -> ApiKey:
        if key.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, DETAIL_FORBIDDEN)
        return key

    return check_role


# Who may do what: the JSON API and the web pages (serving/pages/) admit the same roles.
PREDICT_ROLES = (Role.CLINICIAN,)
AUDIT_ROLES = (Role.AUDITOR,)
RELOAD_ROLES = (Role.RESEARCHER,)
MODEL_READ_ROLES = (Role.RESEARCHER, Role.CLINICIAN)

ClinicianKey = Annotated[ApiKey, Depends(_require(*PREDICT_ROLES))]
AuditorKey = Annotated[ApiKey, Depends(_require(*AUDIT_ROLES))]
ResearcherKey = Annotated[ApiKey, Depends(_require(*RELOAD_ROLES))]
ModelReaderKey = Annotated[ApiKey, Depends(_require(*MODEL_READ_ROLES))]
