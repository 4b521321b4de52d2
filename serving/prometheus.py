"""Prometheus metrics and the outermost request middleware (timing + the last-resort 503).

Each app gets its own ``CollectorRegistry`` (tests build many apps in one process; the global
registry would refuse the second set of metric names). Labels use the route *template*
(``/v1/audit/predictions/{prediction_id}``), never the raw path, so IDs cannot explode the label
cardinality or leak into the metrics.
"""

from __future__ import annotations

import logging
import time
import traceback

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ssc_response.models.registry import ModelVersionRef
from ssc_response.serving.schemas import DETAIL_SERVICE_UNAVAILABLE

log = logging.getLogger(__name__)

UNMATCHED_ROUTE = "<unmatched>"
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
WAIT_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)


class ServiceMetrics:
    """The service's metrics, registered in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "ssc_http_requests", "HTTP requests answered.", ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "ssc_http_request_duration_seconds", "Time to answer an HTTP request.",
            ["method", "route"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.predictions = Counter(
            "ssc_predictions", "Predictions served (and recorded in the audit trail).",
            ["model_version"], registry=self.registry,
        )
        self.refusals = Counter(
            "ssc_prediction_refusals",
            "Prediction requests refused without a number (nothing recorded), by reason: "
            "out_of_scope (a patient outside the model's population) or "
            "not_enough_information (too much left blank).",
            ["reason"], registry=self.registry,
        )
        self.model_info = Gauge(
            "ssc_model_info", "The served model version (value 1).",
            ["name", "version", "run_id"], registry=self.registry,
        )
        # Request coalescing (serving/coalescing.py): one model call and one audit commit per batch.
        self.batch_requests = Histogram(
            "ssc_batch_requests", "Prediction requests coalesced into one batch.",
            buckets=SIZE_BUCKETS, registry=self.registry,
        )
        self.batch_patients = Histogram(
            "ssc_batch_patients", "Patients in one batch (one model call, one audit commit).",
            buckets=SIZE_BUCKETS, registry=self.registry,
        )
        self.queue_wait = Histogram(
            "ssc_batch_queue_wait_seconds", "Time a prediction request waited for its batch.",
            buckets=WAIT_BUCKETS, registry=self.registry,
        )
        self.batch_duration = Histogram(
            "ssc_batch_duration_seconds",
            "Time to run one batch: validation, model call, audit commit.",
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def set_model(self, ref: ModelVersionRef) -> None:
        """Show exactly one model version as served."""
        self.model_info.clear()
        self.model_info.labels(ref.name, ref.version, ref.run_id).set(1)


def route_template(scope: Scope) -> str:
    """The matched route's path template (set in the scope by the router)."""
    return str(getattr(scope.get("route"), "path", UNMATCHED_ROUTE))


class ObservabilityMiddleware:
    """Times every HTTP request and turns an unexpected exception into a logged 503.

    Pure ASGI (no ``BaseHTTPMiddleware``) to keep the per-request overhead minimal. The log line
    names the route and the exception type with its traceback frames, never the exception
    message or the request, which may contain patient data.
    """

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), 503
        started = False

        async def send_and_note(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        except Exception as error:
            where = f"{scope['method']} {route_template(scope)}"
            if _body_too_large(error, status if started else None):
                status = 413
                log.warning("%s refused: request body larger than the limit (413)", where)
                raise  # the framework's body limit answers (or has answered) the 413
            log_failure(error, where)
            if started:
                raise  # too late to change the response; the server closes the connection
            status = 503
            body, retry = {"detail": DETAIL_SERVICE_UNAVAILABLE}, {"Retry-After": "1"}
            response = JSONResponse(body, status_code=503, headers=retry)
            await response(scope, receive, send)
        finally:
            elapsed = time.perf_counter() - start
            self.metrics.observe(scope["method"], route_template(scope), status, elapsed)


def _body_too_large(error: Exception, sent_status: int | None) -> bool:
    """Whether ``error`` is the body limit's signal, not a fault: one log line, no traceback.

    The limit raises a 413 ``HTTPException`` while the body is read, or a signal of its own once
    it has sent the 413 itself; neither has a public type, so they are told by their status.
    """
    return sent_status == 413 or (isinstance(error, HTTPException) and error.status_code == 413)


def log_failure(error: BaseException, where: str) -> None:
    """Log the exception type and where it was raised, never its message or arguments.

    Messages (pandas, sklearn, our own) can quote the patient values that caused the error, so
    only the type and the stack of ``file:line in function`` are written.
    """
    frames = "\n".join(
        f"  {frame.filename}:{frame.lineno} in {frame.name}"
        for frame in traceback.extract_tb(error.__traceback__)
    )
    log.error("%s failed with %s\n%s", where, type(error).__name__, frames)
