"""The FastAPI application: ``create_app()`` builds it; its lifespan loads the model once.

Run it with ``ssc-response serve`` or ``uvicorn --factory serving.app:create_app``. Nothing
happens at import: settings are read, the database opened and the model loaded only when an
app is created and started.
"""

from __future__ import annotations

import gc
import math
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ssc_response.features.validation import ContractError, Problem
from ssc_response.models.registry import ModelVersionRef
from ssc_response.serving.audit import AuditStore
from ssc_response.serving.audit.replay import VersionCache
from ssc_response.serving.audit.watch import AuditWatch, watch_config
from ssc_response.serving.database import make_engine
from ssc_response.serving.deps import Services
from ssc_response.serving.headers import SecurityHeadersMiddleware
from ssc_response.serving.key_cache import KeyCache
from ssc_response.serving.keys import KeyStore
from ssc_response.serving.log_privacy import redact_access_log
from ssc_response.serving.model_holder import ModelHolder
from ssc_response.serving.pages import include_pages
from ssc_response.serving.prediction_service import PredictionService
from ssc_response.serving.prometheus import ObservabilityMiddleware, ServiceMetrics
from ssc_response.serving.routers import audit, health, model, outcomes, predictions
from ssc_response.serving.settings import Settings, get_settings

DESCRIPTION = """\
Predicts whether a patient with diffuse systemic sclerosis will have a skin response after
autologous bone-marrow MSC transplantation, with intervals, derived clinical indices and a
per-field SHAP explanation. Every prediction is recorded in a tamper-evident audit trail
before it is returned.

Roles (API key as `Authorization: Bearer <key>`): **clinician** predicts and reads model
information; **researcher** reads model information and switches the served model;
**auditor** reads, verifies and replays the audit trail.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; ``settings`` default to the environment (``SSC_*``), read now."""
    resolved = settings or get_settings()  # invalid configuration fails here, before serving
    metrics = ServiceMetrics()
    app = FastAPI(
        title="ssc-response prediction service",
        version="1",
        description=DESCRIPTION,
        lifespan=_lifespan(resolved, metrics),
        max_body_size=resolved.max_body_bytes,
        docs_url=None,  # served by serving/pages with their assets from the package (offline)
        redoc_url=None,
    )
    if settings is not None:  # routes that ask for SettingsDep see the same object
        app.dependency_overrides[get_settings] = lambda: settings
    app.add_middleware(ObservabilityMiddleware, metrics=metrics)
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: the 503 gets them too
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(ContractError, _contract_broken)
    app.include_router(predictions.build_router(resolved.max_batch))
    app.include_router(model.router)
    app.include_router(audit.router)
    app.include_router(outcomes.router)
    app.include_router(health.router)
    include_pages(app, resolved)
    return app


def _lifespan(
    settings: Settings, metrics: ServiceMetrics
) -> Callable[[FastAPI], AbstractAsyncContextManager[dict[str, Any]]]:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        redact_access_log()  # the pages put patient ids in query strings
        watching = await run_in_threadpool(watch_config, settings)  # a bad key refuses to start
        # Loading reads files and the registry: keep it off the event loop.
        services = await run_in_threadpool(build_services, settings, metrics)
        services.models.start_polling(settings.model_poll_seconds)
        services.predictions.start()
        watch = AuditWatch(services.engine, watching)
        watch.start()
        try:
            yield {"services": services, "audit_watch": watch}
        finally:
            services.models.stop_polling()
            # Queued predictions are finished (and recorded) before the database goes away,
            # and the last checkpoint signs the shutdown head.
            await run_in_threadpool(services.predictions.stop)
            await run_in_threadpool(watch.stop)
            services.engine.dispose()

    return lifespan


def build_services(settings: Settings, metrics: ServiceMetrics) -> Services:
    """Open the database, load and warm the model; raises (refusing to start) on failure."""
    import mlflow  # heavy; only when an app actually starts

    # Process-wide in MLflow; set only when it differs, so an embedding process keeps its own.
    if mlflow.get_tracking_uri() != settings.tracking_uri:
        mlflow.set_tracking_uri(settings.tracking_uri)
    engine = make_engine(settings.database_url)
    holder = ModelHolder(settings.model_uri, on_swap=partial(_model_swapped, metrics))
    try:
        holder.load()
    except BaseException:
        engine.dispose()
        raise
    audit_store = AuditStore(engine)
    service = PredictionService(audit_store, metrics, max_patients=settings.max_batch,
                                linger_seconds=settings.batch_linger_ms / 1000)
    return Services(
        settings=settings,
        engine=engine,
        keys=KeyCache(KeyStore(engine), settings.key_cache_seconds),
        audit=audit_store,
        models=holder,
        versions=VersionCache(lambda: holder.current),
        metrics=metrics,
        predictions=service,
    )


def _model_swapped(metrics: ServiceMetrics, ref: ModelVersionRef) -> None:
    """Show the new model in the metrics; take the loaded heap out of garbage collection.

    A full collection walks every live object, and a loaded model is millions of them: 100-500 ms
    with every thread stopped, which was the prediction latency tail. Frozen objects are still
    freed by reference counting; only reference cycles among them stay (once per model swap).
    """
    metrics.set_model(ref)
    gc.unfreeze()
    gc.collect()
    gc.freeze()


# --- 422: one stable shape for the request's shape and for the data contract -------------------

_SHOWN_TEXT = 80  # characters of a received value echoed back


async def _request_invalid(_request: Request, error: Exception) -> JSONResponse:
    """Pydantic/FastAPI errors (the request's shape, parameters) with their locations kept, as
    ``{loc, field, rule, value, row}``."""
    assert isinstance(error, RequestValidationError)
    return _unprocessable([_pydantic_item(item) for item in error.errors()])


async def _contract_broken(_request: Request, error: Exception) -> JSONResponse:
    """Every broken rule of the data contract, located in the batch (``body.patients[i].field``)."""
    assert isinstance(error, ContractError)
    return _unprocessable([_problem_item(problem) for problem in error.problems])


def _unprocessable(items: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse({"detail": items}, status_code=422)


def _pydantic_item(item: Any) -> dict[str, Any]:
    loc = [part if isinstance(part, int) else _text(str(part)) for part in item.get("loc", ())]
    field = _field_of(loc)
    row = _row_of(loc)
    return {"loc": loc, "field": field, "rule": _text(_rule(item)),
            "value": shown(item.get("input")), "row": row}


def _row_of(loc: list[str | int]) -> int | None:
    """1-based patient number when the location is inside ``body.patients[i]``."""
    if loc[:2] == ["body", "patients"] and len(loc) > 2 and isinstance(loc[2], int):
        return loc[2] + 1
    return None


def _rule(item: Any) -> str:
    """Pydantic's message; for unparsable JSON, what the parser said."""
    if item.get("type") == "json_invalid":
        return f"invalid JSON: {item.get('ctx', {}).get('error', 'cannot be parsed')}"
    return str(item.get("msg", "invalid value"))


def _field_of(loc: list[str | int]) -> str | None:
    """The field named by a location: the record field in a batch, else the last name."""
    if loc[:2] == ["body", "patients"] and len(loc) > 3 and isinstance(loc[3], str):
        return loc[3]
    names = [part for part in loc[1:] if isinstance(part, str)]
    return names[-1] if names else None


def _problem_item(problem: Problem) -> dict[str, Any]:
    loc: list[str | int] = ["body", "patients"]
    if problem.row is not None:
        loc.append(problem.row - 1)
    field = _text(problem.field)  # a field name is the client's text: it may not be encodable
    return {"loc": [*loc, field], "field": field, "rule": problem.rule,
            "value": shown(problem.value), "row": problem.row}


def shown(value: Any) -> Any:
    """A received value safe to echo: short scalars only, non-finite numbers as text.

    Structures are not echoed (they can be huge), and NaN/Infinity are not JSON.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        text = str(value)
        return value if len(text) <= 18 else text[:_SHOWN_TEXT // 4] + "..."
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return _text(value if len(value) <= _SHOWN_TEXT else value[:_SHOWN_TEXT] + "...")
    return None


def _text(value: str) -> str:
    """``value`` encodable as UTF-8: JSON text may carry lone surrogates, a response cannot."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")

