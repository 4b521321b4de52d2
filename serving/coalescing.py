"""Request coalescing: the scheduler of prediction requests. It only schedules.

Each request is submitted (:meth:`PredictionBatcher.submit`) and waits on a future. One worker
thread takes everything waiting (at most ``max_patients`` patients; a request is never split),
lingering at most ``linger_seconds`` for more once it has the first, and hands the batch to its
handler (in the service, :meth:`serving.prediction_service.PredictionService.answer_batch`; this
module imports none of the steps). The handler returns one outcome per request, or a
:class:`Staged` result whose ``finish`` (the durable audit commit) runs on a second thread, the
committer, while the worker already runs the next batch. Staged batches are finished one at a
time in the order they were handled (so the audit chain is in batch order), at most one ahead of
the worker. Futures are resolved only with what ``finish`` returned: never before the commit.

A batch never mixes model snapshots: each request brings the model it was admitted with, and a
request with another model starts the next batch, so a reload swaps between batches.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from ssc_response.models.registry import ServedModel
from ssc_response.serving.keys import ApiKey
from ssc_response.serving.prometheus import ServiceMetrics, log_failure

log = logging.getLogger(__name__)

DEFAULT_STOP_TIMEOUT_S = 30.0


class BatcherClosed(RuntimeError):
    """The batcher is stopped (or its worker is gone): the request was not run, nothing recorded."""


@dataclass(eq=False)
class Pending:
    """One request waiting in the queue, and the future its answer (or error) is set on."""

    records: Sequence[Mapping[str, Any]]
    key: ApiKey
    served: ServedModel
    future: Future[Any] = field(default_factory=Future)
    queued_at: float = field(default_factory=time.perf_counter)

    @property
    def size(self) -> int:
        return len(self.records)


class Staged:
    """A handler's result whose last step is still to run: ``finish()`` returns the outcomes.

    ``finish`` runs on the batcher's committer thread, after every earlier staged batch finished.
    """

    __slots__ = ("finish",)

    def __init__(self, finish: Callable[[], Sequence[object]]) -> None:
        self.finish = finish


# (model snapshot, requests) -> one outcome per request (its answer, or the exception to raise),
# or those outcomes as a Staged result whose finishing step runs on the committer thread.
Handler = Callable[[ServedModel, Sequence[Pending]], Sequence[object] | Staged]

_StagedBatch = tuple[list[Pending], Staged, float]  # requests, result, seconds spent so far


class PredictionBatcher:
    """A queue of prediction requests and the one worker thread that runs them in batches."""

    def __init__(self, handler: Handler, *, max_patients: int, linger_seconds: float,
                 metrics: ServiceMetrics | None = None) -> None:
        self._handler = handler
        self._max_patients = max_patients
        self._linger = linger_seconds
        self._metrics = metrics
        self._queue: queue.SimpleQueue[Pending | None] = queue.SimpleQueue()
        self._carry: Pending | None = None  # taken, but for the next batch (full or other model)
        self._lock = threading.Lock()  # orders submit() against stop()'s end-of-queue marker
        self._closed = False
        self._ended = False  # the worker has taken the end-of-queue marker
        self._thread: threading.Thread | None = None
        # Staged batches for the committer; None (put by the worker as it exits) ends it.
        self._staged: queue.SimpleQueue[_StagedBatch | None] = queue.SimpleQueue()
        self._in_flight = threading.Semaphore(1)  # staged batches not yet finished: at most one
        self._committer: threading.Thread | None = None

    @property
    def queued(self) -> int:
        """Requests waiting for a batch (approximate while the worker is taking them)."""
        return self._queue.qsize() + (self._carry is not None)

    @property
    def closed(self) -> bool:
        """Whether :meth:`stop` was called (new requests are refused)."""
        return self._closed

    def start(self) -> None:
        """Start the worker thread and the committer thread."""
        self._committer = threading.Thread(target=self._commit, name="prediction-committer",
                                           daemon=True)
        self._committer.start()
        self._thread = threading.Thread(target=self._work, name="prediction-batcher", daemon=True)
        self._thread.start()

    def _running(self) -> bool:
        return all(thread is not None and thread.is_alive()
                   for thread in (self._thread, self._committer))

    def submit(self, records: Sequence[Mapping[str, Any]], key: ApiKey,
               served: ServedModel) -> Future[Any]:
        """Queue one request; ``BatcherClosed`` when stopped (or not running)."""
        pending = Pending(records, key, served)
        with self._lock:
            if self._closed or not self._running():
                raise BatcherClosed("the prediction queue is not running")
            self._queue.put(pending)
        return pending.future

    async def predict(self, records: Sequence[Mapping[str, Any]], key: ApiKey,
                      served: ServedModel) -> Any:
        """Submit and wait without holding a thread; raises what the handler set for it."""
        return await asyncio.wrap_future(self.submit(records, key, served))

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT_S) -> None:
        """Refuse new requests, let the worker finish those queued, then wait for it.

        If the worker does not finish in ``timeout`` seconds, requests it has not taken yet are
        failed with ``BatcherClosed`` (they were never run, so nothing of theirs is recorded).
        Staged batches are finished (committed) before this returns, within the same ``timeout``.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)  # end-of-queue marker: after every accepted request
        deadline = time.monotonic() + timeout
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._fail_untaken()
        if self._committer is not None:
            self._committer.join(max(0.0, deadline - time.monotonic()))

    def _fail_untaken(self) -> None:
        log.error("prediction batcher did not stop in time; failing the requests still queued")
        while True:
            try:
                pending = self._queue.get_nowait()
            except queue.Empty:
                break
            if pending is not None and _claim(pending):
                pending.future.set_exception(BatcherClosed("the service is shutting down"))
        self._queue.put(None)  # the worker, if it ever returns, still finds the end marker

    # --- the worker thread --------------------------------------------------------------------

    def _work(self) -> None:
        try:
            while True:
                try:
                    batch = self._next_batch()
                    if batch is None:
                        return
                    if batch:
                        self._run(batch)
                except Exception as error:  # never let the worker die: requests would hang
                    log_failure(error, "prediction batcher")
        finally:
            self._staged.put(None)  # after every staged batch: the committer finishes them first

    def _next_batch(self) -> list[Pending] | None:
        """The next batch (possibly empty if all were cancelled), or ``None`` at the end."""
        first = self._take(None)
        if first is None:
            return None
        batch, patients = [first], first.size
        # Counted from now, not from the first arrival: under load, the clients answered by the
        # previous batch are sending their next requests right now, and should join this one.
        deadline = time.perf_counter() + self._linger
        while patients < self._max_patients:
            pending = self._take(deadline - time.perf_counter())
            if pending is None:
                break
            if patients + pending.size > self._max_patients or pending.served is not first.served:
                self._carry = pending
                break
            batch.append(pending)
            patients += pending.size
        return [pending for pending in batch if _claim(pending)]

    def _take(self, timeout: float | None) -> Pending | None:
        """The carried-over request, else the queue's next (waiting at most ``timeout`` seconds,
        forever if ``None``); ``None`` at the end of the queue or on time-out."""
        if self._carry is not None:
            carried, self._carry = self._carry, None
            return carried
        if self._ended:
            return None
        pending: Pending | None
        try:
            if timeout is not None and timeout <= 0:
                pending = self._queue.get_nowait()
            else:
                pending = self._queue.get(True, timeout)
        except queue.Empty:
            return None
        if pending is None:
            self._ended = True
        return pending

    def _run(self, batch: list[Pending]) -> None:
        """Hand the batch to the handler; resolve each future with its outcome (or the error)."""
        started = self._observe(batch)
        try:
            result = self._handler(batch[0].served, batch)
        except BaseException as error:
            _fail(batch, error)
            if not isinstance(error, Exception):
                raise
            return
        if isinstance(result, Staged):
            spent = time.perf_counter() - started
            # Wait until the previous staged batch is finished (this one was computed meanwhile),
            # so at most one waits for the committer; requests arriving now join the next batch.
            self._in_flight.acquire()
            self._staged.put((batch, result, spent))
            return
        self._resolve(batch, result, time.perf_counter() - started)

    def _commit(self) -> None:
        """The committer thread: finish staged batches in order, then resolve their futures."""
        while True:
            item = self._staged.get()
            if item is None:
                return
            try:
                self._finish(*item)
            except Exception as error:  # never let the committer die: requests would hang
                log_failure(error, "prediction committer")

    def _finish(self, batch: list[Pending], staged: Staged, spent: float) -> None:
        started = time.perf_counter()
        try:
            outcomes = staged.finish()
        except BaseException as error:
            _fail(batch, error)
            if not isinstance(error, Exception):
                raise
            return
        finally:
            self._in_flight.release()
        self._resolve(batch, outcomes, spent + time.perf_counter() - started)

    def _resolve(self, batch: Sequence[Pending], outcomes: Sequence[object],
                 seconds: float) -> None:
        """Set each request's outcome (the whole batch fails if their number is wrong)."""
        if len(outcomes) != len(batch):
            _fail(batch, RuntimeError(f"{len(outcomes)} outcomes for {len(batch)} requests"))
            return
        if self._metrics is not None:
            self._metrics.batch_duration.observe(seconds)
        for pending, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                pending.future.set_exception(outcome)
            else:
                pending.future.set_result(outcome)

    def _observe(self, batch: Sequence[Pending]) -> float:
        """Record the batch's size and each request's wait; the batch's start time."""
        now = time.perf_counter()
        if self._metrics is not None:
            self._metrics.batch_requests.observe(len(batch))
            self._metrics.batch_patients.observe(sum(pending.size for pending in batch))
            for pending in batch:
                self._metrics.queue_wait.observe(now - pending.queued_at)
        return now


def _fail(batch: Sequence[Pending], error: BaseException) -> None:
    for pending in batch:
        pending.future.set_exception(error)


def _claim(pending: Pending) -> bool:
    """Mark the request as running; ``False`` if its caller gave up (cancelled) meanwhile."""
    try:
        return pending.future.set_running_or_notify_cancel()
    except RuntimeError:  # already resolved (failed at shutdown)
        return False
