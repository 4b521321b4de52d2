"""Request coalescing (``serving/coalescing.py``) with a fake handler, and batch validation.

No model and no HTTP here: the handler records the batches it is given and can be held back (a
gate) so that requests pile up in the queue in a known order. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

import pytest

from ssc_response.models.registry import ModelVersionRef, ServedModel
from ssc_response.serving.coalescing import BatcherClosed, Pending, PredictionBatcher, Staged
from ssc_response.serving.keys import ApiKey, Role
from ssc_response.serving.prometheus import ServiceMetrics

WAIT_S = 10.0


def served(version: str = "1") -> ServedModel:
    bundle: Any = object()
    return ServedModel(bundle, ModelVersionRef("m", version, f"run-{version}"))


KEY = ApiKey(key_id="k1", role=Role.CLINICIAN, label=None, created_at=datetime.now(UTC),
             revoked_at=None)
MODEL = served("1")


def records(count: int = 1, tag: str = "r") -> list[dict[str, Any]]:
    return [{"patient_id": f"{tag}-{i}"} for i in range(count)]


class GatedHandler:
    """Answers each request with its patient IDs; the first batch waits until released."""

    def __init__(self, outcome: Callable[[Pending], object] | None = None) -> None:
        self.batches: list[list[Pending]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.outcome = outcome or (lambda p: [r["patient_id"] for r in p.records])

    def __call__(self, model: ServedModel, batch: Sequence[Pending]) -> list[object]:
        self.batches.append(list(batch))
        if len(self.batches) == 1:
            self.entered.set()
            self.release.wait(WAIT_S)
        return [self.outcome(pending) for pending in batch]

    def sizes(self) -> list[int]:
        return [len(batch) for batch in self.batches]


@pytest.fixture
def handler() -> GatedHandler:
    return GatedHandler()


def started(handler: Any, *, max_patients: int = 100, linger: float = 0.0,
            metrics: ServiceMetrics | None = None) -> PredictionBatcher:
    batcher = PredictionBatcher(handler, max_patients=max_patients, linger_seconds=linger,
                                metrics=metrics)
    batcher.start()
    return batcher


@pytest.fixture
def batcher(handler: GatedHandler) -> Iterator[PredictionBatcher]:
    running = started(handler)
    yield running
    handler.release.set()
    running.stop(timeout=WAIT_S)


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)


def hold_first(batcher: PredictionBatcher, handler: GatedHandler) -> Future[Any]:
    """Submit one request and wait until the handler holds it: later ones must queue."""
    first = batcher.submit(records(tag="first"), KEY, MODEL)
    assert handler.entered.wait(WAIT_S)
    return first


def queue_then_release(batcher: PredictionBatcher, handler: GatedHandler,
                       requests: list[tuple[list[dict[str, Any]], ServedModel]]) -> list[Any]:
    """Hold the worker, queue ``requests``, release; their results in order."""
    hold_first(batcher, handler)
    futures = [batcher.submit(recs, KEY, model) for recs, model in requests]
    wait_until(lambda: batcher.queued == len(requests))
    handler.release.set()
    return [future.result(WAIT_S) for future in futures]


# --- coalescing --------------------------------------------------------------------------------


def test_requests_waiting_together_share_one_batch(
    batcher: PredictionBatcher, handler: GatedHandler
) -> None:
    requests = [(records(tag=f"q{i}"), MODEL) for i in range(6)]
    results = queue_then_release(batcher, handler, requests)
    assert results == [[f"q{i}-0"] for i in range(6)]
    assert handler.sizes() == [1, 6]


def test_a_batch_holds_at_most_max_patients_and_never_splits_a_request(
    handler: GatedHandler,
) -> None:
    batcher = started(handler, max_patients=5)
    try:
        queue_then_release(batcher, handler, [(records(2, f"q{i}"), MODEL) for i in range(3)])
    finally:
        batcher.stop(WAIT_S)
    patients = [sum(p.size for p in batch) for batch in handler.batches]
    assert patients == [1, 4, 2]


def test_a_request_larger_than_the_cap_still_runs_alone(handler: GatedHandler) -> None:
    batcher = started(handler, max_patients=2)
    try:
        results = queue_then_release(batcher, handler, [(records(3, "big"), MODEL)])
    finally:
        batcher.stop(WAIT_S)
    assert results == [["big-0", "big-1", "big-2"]]


def test_a_batch_never_mixes_model_snapshots(
    batcher: PredictionBatcher, handler: GatedHandler
) -> None:
    other = served("2")
    order = [MODEL, MODEL, other, MODEL]
    queue_then_release(batcher, handler, [(records(tag=f"q{i}"), m) for i, m in enumerate(order)])
    versions = [{p.served.ref.version for p in batch} for batch in handler.batches[1:]]
    assert versions == [{"1"}, {"2"}, {"1"}]
    assert handler.sizes()[1:] == [2, 1, 1]


def test_linger_gathers_requests_arriving_shortly_after(handler: GatedHandler) -> None:
    handler.release.set()  # no gate: only the linger can put these two together
    batcher = started(handler, linger=0.5)
    try:
        first = batcher.submit(records(tag="a"), KEY, MODEL)
        time.sleep(0.05)
        second = batcher.submit(records(tag="b"), KEY, MODEL)
        assert (first.result(WAIT_S), second.result(WAIT_S)) == (["a-0"], ["b-0"])
    finally:
        batcher.stop(WAIT_S)
    assert handler.sizes() == [2]


def test_without_linger_a_lone_request_runs_at_once(handler: GatedHandler) -> None:
    handler.release.set()
    batcher = started(handler, linger=0.0)
    try:
        start = time.perf_counter()
        assert batcher.submit(records(tag="a"), KEY, MODEL).result(WAIT_S) == ["a-0"]
        assert time.perf_counter() - start < 1.0
    finally:
        batcher.stop(WAIT_S)


def test_a_lone_request_waits_the_linger_at_most(handler: GatedHandler) -> None:
    handler.release.set()
    batcher = started(handler, linger=0.05)
    try:
        start = time.perf_counter()
        batcher.submit(records(), KEY, MODEL).result(WAIT_S)
        assert 0.05 <= time.perf_counter() - start < 1.0
    finally:
        batcher.stop(WAIT_S)


def test_a_request_after_the_linger_starts_the_next_batch(handler: GatedHandler) -> None:
    handler.release.set()
    batcher = started(handler, linger=0.05)
    try:
        first = batcher.submit(records(tag="a"), KEY, MODEL)
        time.sleep(0.5)
        second = batcher.submit(records(tag="b"), KEY, MODEL)
        assert (first.result(WAIT_S), second.result(WAIT_S)) == (["a-0"], ["b-0"])
    finally:
        batcher.stop(WAIT_S)
    assert handler.sizes() == [1, 1]


async def _predict_async(batcher: PredictionBatcher) -> Any:
    return await batcher.predict(records(tag="async"), KEY, MODEL)


def test_predict_awaits_the_answer_without_a_thread(handler: GatedHandler) -> None:
    handler.release.set()
    batcher = started(handler)
    try:
        assert asyncio.run(_predict_async(batcher)) == ["async-0"]
    finally:
        batcher.stop(WAIT_S)


# --- outcomes and failures ---------------------------------------------------------------------


def test_each_request_gets_its_own_outcome() -> None:
    def outcome(pending: Pending) -> object:
        bad = pending.records[0]["patient_id"].startswith("bad")
        return ValueError("its own error") if bad else "answer"

    handler = GatedHandler(outcome)
    batcher = started(handler)
    try:
        hold_first(batcher, handler)
        good = batcher.submit(records(tag="good"), KEY, MODEL)
        bad = batcher.submit(records(tag="bad"), KEY, MODEL)
        handler.release.set()
        assert good.result(WAIT_S) == "answer"
        with pytest.raises(ValueError, match="its own error"):
            bad.result(WAIT_S)
    finally:
        batcher.stop(WAIT_S)
    assert handler.sizes() == [1, 2]


class FailingOnce:
    """Raises for the first batch, answers afterwards."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, model: ServedModel, batch: Sequence[Pending]) -> list[object]:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("model down")
        return ["ok"] * len(batch)


def test_a_handler_failure_fails_every_request_of_its_batch_and_the_worker_survives() -> None:
    gate = threading.Event()
    failing = FailingOnce()

    def handler(model: ServedModel, batch: Sequence[Pending]) -> Sequence[object]:
        gate.wait(WAIT_S)
        return failing(model, batch)

    batcher = started(handler)
    try:
        futures = [batcher.submit(records(tag=f"q{i}"), KEY, MODEL) for i in range(3)]
        wait_until(lambda: batcher.queued <= 2)  # the worker has taken at least the first
        gate.set()
        failed = [f for f in futures if isinstance(f.exception(WAIT_S), RuntimeError)]
        assert failed, "the first batch must fail"
        assert batcher.submit(records(), KEY, MODEL).result(WAIT_S) == "ok"
    finally:
        batcher.stop(WAIT_S)


def test_a_wrong_number_of_outcomes_fails_the_batch() -> None:
    batcher = started(lambda model, batch: [])
    try:
        with pytest.raises(RuntimeError, match="0 outcomes for 1 requests"):
            batcher.submit(records(), KEY, MODEL).result(WAIT_S)
    finally:
        batcher.stop(WAIT_S)


def test_a_request_cancelled_while_queued_is_never_run(
    batcher: PredictionBatcher, handler: GatedHandler
) -> None:
    hold_first(batcher, handler)
    gone = batcher.submit(records(tag="gone"), KEY, MODEL)
    kept = batcher.submit(records(tag="kept"), KEY, MODEL)
    assert gone.cancel()
    handler.release.set()
    assert kept.result(WAIT_S) == ["kept-0"]
    ran = [p.records[0]["patient_id"] for batch in handler.batches for p in batch]
    assert "gone-0" not in ran


# --- start and shutdown ------------------------------------------------------------------------


def test_submit_before_start_is_refused(handler: GatedHandler) -> None:
    batcher = PredictionBatcher(handler, max_patients=10, linger_seconds=0.0)
    with pytest.raises(BatcherClosed):
        batcher.submit(records(), KEY, MODEL)


def test_stop_finishes_the_queued_requests_then_refuses_new_ones(
    batcher: PredictionBatcher, handler: GatedHandler
) -> None:
    hold_first(batcher, handler)
    queued = [batcher.submit(records(tag=f"q{i}"), KEY, MODEL) for i in range(3)]
    stopping = threading.Thread(target=batcher.stop, args=(WAIT_S,))
    stopping.start()
    wait_until(lambda: batcher.closed)
    with pytest.raises(BatcherClosed):
        batcher.submit(records(), KEY, MODEL)
    handler.release.set()
    stopping.join(WAIT_S)
    assert not stopping.is_alive()
    assert [f.result(0) for f in queued] == [[f"q{i}-0"] for i in range(3)]


def test_stop_fails_what_a_stuck_worker_never_took(
    batcher: PredictionBatcher, handler: GatedHandler
) -> None:
    running = hold_first(batcher, handler)
    queued = [batcher.submit(records(tag=f"q{i}"), KEY, MODEL) for i in range(2)]
    batcher.stop(timeout=0.05)  # the handler is still held
    for future in queued:
        assert isinstance(future.exception(WAIT_S), BatcherClosed)
    handler.release.set()
    assert running.result(WAIT_S) == ["first-0"]  # the batch in progress still completes


def test_stop_is_idempotent(batcher: PredictionBatcher, handler: GatedHandler) -> None:
    handler.release.set()
    batcher.stop(WAIT_S)
    batcher.stop(WAIT_S)  # a second stop must neither raise nor restart the queue
    with pytest.raises(BatcherClosed):
        batcher.submit(records(), KEY, MODEL)


# --- staged results: the commit of one batch overlaps the next batch's work --------------------


class StagedHandler:
    """Answers each batch as a Staged result whose finish waits for that batch's own gate."""

    def __init__(self, fail: set[int] | None = None) -> None:
        self.handled: list[list[str]] = []  # patient IDs of each batch, in handling order
        self.finished: list[int] = []  # batch numbers, in finishing order
        self.gates: list[threading.Event] = []
        self.finishing: list[threading.Event] = []
        self.fail = fail or set()
        self.lock = threading.Lock()

    def __call__(self, model: ServedModel, batch: Sequence[Pending]) -> Staged:
        with self.lock:
            number = len(self.handled)
            self.handled.append([p.records[0]["patient_id"] for p in batch])
            gate, entered = threading.Event(), threading.Event()
            self.gates.append(gate)
            self.finishing.append(entered)
        answers = [[r["patient_id"] for r in p.records] for p in batch]

        def finish() -> list[object]:
            entered.set()
            assert gate.wait(WAIT_S)
            if number in self.fail:
                raise RuntimeError("commit failed")
            self.finished.append(number)
            return list(answers)

        return Staged(finish)

    def gate(self, number: int) -> threading.Event:
        wait_until(lambda: len(self.gates) > number)
        return self.gates[number]

    def entered_finish(self, number: int) -> bool:
        wait_until(lambda: len(self.finishing) > number)
        return self.finishing[number].wait(WAIT_S)


def test_a_staged_answer_is_given_only_after_its_finish_ran() -> None:
    handler = StagedHandler()
    batcher = started(handler)
    try:
        future = batcher.submit(records(tag="a"), KEY, MODEL)
        assert handler.entered_finish(0)
        time.sleep(0.05)
        assert not future.done()  # handled, not yet finished (committed): not answered
        handler.gate(0).set()
        assert future.result(WAIT_S) == ["a-0"]
        assert handler.finished == [0]
    finally:
        batcher.stop(WAIT_S)


def test_the_next_batch_is_handled_while_the_previous_one_finishes_in_order() -> None:
    handler = StagedHandler()
    batcher = started(handler)
    try:
        first = batcher.submit(records(tag="a"), KEY, MODEL)
        assert handler.entered_finish(0)  # batch 0 is finishing (held)
        second = batcher.submit(records(tag="b"), KEY, MODEL)
        wait_until(lambda: len(handler.handled) == 2)  # batch 1 handled meanwhile
        third = batcher.submit(records(tag="c"), KEY, MODEL)
        time.sleep(0.1)
        # At most one staged batch waits for the committer: batch 2 is not taken yet.
        assert len(handler.handled) == 2
        assert not first.done() and not second.done()
        handler.gate(1).set()  # batch 1's finish may not run before batch 0's
        time.sleep(0.05)
        assert not second.done()
        handler.gate(0).set()
        assert first.result(WAIT_S) == ["a-0"]
        assert second.result(WAIT_S) == ["b-0"]
        handler.gate(2).set()
        assert third.result(WAIT_S) == ["c-0"]
    finally:
        for gate in handler.gates:
            gate.set()
        batcher.stop(WAIT_S)
    assert handler.finished == [0, 1, 2]
    assert handler.handled == [["a-0"], ["b-0"], ["c-0"]]


def test_a_failed_finish_fails_its_batch_only_and_the_committer_survives() -> None:
    handler = StagedHandler(fail={0})
    batcher = started(handler)
    try:
        failed = batcher.submit(records(tag="a"), KEY, MODEL)
        handler.gate(0).set()
        with pytest.raises(RuntimeError, match="commit failed"):
            failed.result(WAIT_S)
        later = batcher.submit(records(tag="b"), KEY, MODEL)
        handler.gate(1).set()
        assert later.result(WAIT_S) == ["b-0"]
    finally:
        for gate in handler.gates:
            gate.set()
        batcher.stop(WAIT_S)
    assert handler.finished == [1]


def test_a_wrong_number_of_finished_outcomes_fails_the_batch() -> None:
    batcher = started(lambda model, batch: Staged(lambda: []))
    try:
        with pytest.raises(RuntimeError, match="0 outcomes for 1 requests"):
            batcher.submit(records(), KEY, MODEL).result(WAIT_S)
    finally:
        batcher.stop(WAIT_S)


def test_stop_finishes_the_staged_batches_before_returning() -> None:
    handler = StagedHandler()
    batcher = started(handler)
    first = batcher.submit(records(tag="a"), KEY, MODEL)
    assert handler.entered_finish(0)
    second = batcher.submit(records(tag="b"), KEY, MODEL)
    wait_until(lambda: len(handler.handled) == 2)
    stopping = threading.Thread(target=batcher.stop, args=(WAIT_S,))
    stopping.start()
    time.sleep(0.05)
    assert stopping.is_alive()  # still waiting for the staged batches
    handler.gate(0).set()
    handler.gate(1).set()
    stopping.join(WAIT_S)
    assert not stopping.is_alive()
    assert (first.result(0), second.result(0)) == (["a-0"], ["b-0"])
    assert handler.finished == [0, 1]


def test_staged_batch_durations_are_observed() -> None:
    metrics = ServiceMetrics()
    handler = StagedHandler()
    batcher = started(handler, metrics=metrics)
    try:
        future = batcher.submit(records(), KEY, MODEL)
        handler.gate(0).set()
        future.result(WAIT_S)
    finally:
        batcher.stop(WAIT_S)
    assert metrics.registry.get_sample_value("ssc_batch_duration_seconds_count") == 1


# --- metrics -----------------------------------------------------------------------------------


def test_batch_sizes_and_queue_waits_are_observed(handler: GatedHandler) -> None:
    metrics = ServiceMetrics()
    batcher = started(handler, metrics=metrics)
    try:
        queue_then_release(batcher, handler, [(records(2, f"q{i}"), MODEL) for i in range(3)])
    finally:
        batcher.stop(WAIT_S)
    value = metrics.registry.get_sample_value
    assert value("ssc_batch_requests_count") == 2
    assert value("ssc_batch_requests_sum") == 1 + 3
    assert value("ssc_batch_patients_sum") == 1 + 6
    assert value("ssc_batch_queue_wait_seconds_count") == 4
    assert value("ssc_batch_duration_seconds_count") == 2
