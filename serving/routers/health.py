"""Liveness, readiness and Prometheus metrics (no authentication: no patient data here)."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from ssc_response.serving.deps import ServicesDep
from ssc_response.serving.schemas import DETAIL_NOT_READY

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers (no I/O)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Model not loaded or database down."}})
def readyz(services: ServicesDep) -> Any:
    """Readiness: a model is loaded and the database answers; which worker process answered."""
    checks = {"model": services.models.ready, "database": _database_answers(services)}
    if not all(checks.values()):
        return JSONResponse({"detail": DETAIL_NOT_READY, "checks": checks}, status_code=503)
    ref = services.models.current.ref
    # The worker's process id: with `serve --workers N` each answer comes from one of N
    # processes, each following the champion alias on its own (the hot-swap test reads it).
    return {"status": "ready", "checks": checks, "worker_pid": os.getpid(),
            "model": {"name": ref.name, "version": ref.version, "run_id": ref.run_id}}


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics(services: ServicesDep) -> Response:
    """Prometheus metrics of this app (text exposition format)."""
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _database_answers(services: ServicesDep) -> bool:
    try:
        with services.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # any failure means "not ready", which is the answer asked for
        return False
    return True
