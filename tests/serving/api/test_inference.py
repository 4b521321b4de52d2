"""The live inference path (serving/inference.py) and the prediction service that runs it.

One request's bad input is its own ContractError (the 422 it would get alone) and spares the
others in its batch; ``patient_id`` must be unique within a request, not across requests. Replay
compares with the stated tolerance and says how far apart the numbers were.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import mlflow
import pandas as pd
import pytest
from sqlalchemy import Engine

from ssc_response.features.scope import NotEnoughInformationError, OutOfScopeError
from ssc_response.features.validation import ContractError
from ssc_response.models.registry import ServedModel, load_served_model
from ssc_response.serving import inference
from ssc_response.serving.audit import AuditStore
from ssc_response.serving.audit.replay import compare_outputs
from ssc_response.serving.coalescing import Pending, Staged
from ssc_response.serving.keys import ApiKey, Role
from ssc_response.serving.prediction_service import Answer, PredictionService
from ssc_response.serving.prometheus import ServiceMetrics
from tests.factories import make_patient

KEY = ApiKey(key_id="k-test", role=Role.CLINICIAN, label=None, created_at=datetime.now(UTC),
             revoked_at=None)


@pytest.fixture(scope="module")
def served(trained_store: dict[str, Any]) -> Iterator[ServedModel]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", str(trained_store["tracking_uri"]))
        mlflow.set_tracking_uri(str(trained_store["tracking_uri"]))
        yield load_served_model("models:/ssc-skin-response@champion")


def outcomes(engine: Engine, served: ServedModel,
             requests: list[list[dict[str, Any]]]) -> list[object]:
    """What the service gives each request of one batch (its staged audit commit run)."""
    service = PredictionService(AuditStore(engine), ServiceMetrics(), max_patients=100,
                                linger_seconds=0)
    result = service.answer_batch(served, [Pending(request, KEY, served) for request in requests])
    return list(result.finish() if isinstance(result, Staged) else result)


def alone_error(request: list[dict[str, Any]]) -> ContractError:
    with pytest.raises(ContractError) as caught:
        inference.validate_patients(request)
    return caught.value


def test_the_same_patient_in_two_requests_is_not_a_duplicate(
    engine: Engine, served: ServedModel
) -> None:
    results = outcomes(engine, served, [[make_patient()], [make_patient()]])

    assert [type(r) for r in results] == [Answer, Answer]


@pytest.mark.parametrize("bad", [
    [make_patient(), make_patient()],  # a duplicate within one request
    [make_patient(mrss_total=30)],
    [make_patient(patient_id="B-1"), make_patient(patient_id="B-2", mrss_total=30)],
    [{k: v for k, v in make_patient().items() if not k.startswith("mrss_")}],  # row-less problem
    [make_patient(mrss_total_followup=10)],  # a follow-up field: never a model input
    # A required field absent from this request only: in the batch it is one row's gap.
    [{k: v for k, v in make_patient().items() if k != "sex"}],
    [make_patient(patient_id="B-1", age_years=250)],
])
def test_a_bad_request_gets_exactly_its_own_error_and_spares_the_others(
    engine: Engine, served: ServedModel, bad: list[dict[str, Any]],
) -> None:
    good = [[make_patient(patient_id=f"G-{i}")] for i in range(3)]

    results = outcomes(engine, served, [good[0], bad, good[1], good[2]])

    assert [type(r) for r in results] == [Answer, ContractError, Answer, Answer]
    assert isinstance(results[1], ContractError)
    assert results[1].problems == alone_error(bad).problems
    ids = [json.loads(r.body)["predictions"][0]["patient_id"] for r in results
           if isinstance(r, Answer)]
    assert ids == ["G-0", "G-1", "G-2"]


def test_refusals_in_a_batch_are_each_requests_own_and_numbered_within_it(
    engine: Engine, served: ServedModel
) -> None:
    """An out-of-scope patient (second of its request) and a patient with most fields blank
    refuse only their own requests, each problem at its row within the request; the others
    are answered, in order."""
    full = make_patient(patient_id="N-1")
    minimal = {k: full[k] for k in ("patient_id", "age_years", "sex", "disease_duration_months",
                                    "mrss_total")}
    requests = [[make_patient(patient_id="G-0")],
                [make_patient(patient_id="S-1"), make_patient(patient_id="S-2",
                                                              cell_product="ad_svf")],
                [make_patient(patient_id="G-1")],
                [make_patient(patient_id="N-0"), minimal]]

    results = outcomes(engine, served, requests)

    assert [type(r) for r in results] == [Answer, OutOfScopeError, Answer,
                                          NotEnoughInformationError]
    scope, blank = results[1], results[3]
    assert isinstance(scope, OutOfScopeError) and isinstance(blank, NotEnoughInformationError)
    assert [(p.row, p.field) for p in scope.problems] == [(2, "cell_product")]
    assert blank.problems and {p.row for p in blank.problems} == {2}
    ids = [json.loads(r.body)["predictions"][0]["patient_id"] for r in results
           if isinstance(r, Answer)]
    assert ids == ["G-0", "G-1"]


def test_a_batch_validated_in_one_pass_equals_its_requests_validated_alone() -> None:
    """Requests giving different fields (the 17 sites or the total, an optional field or
    not): the joined frame is each request's own frame, row for row and in its dtypes."""
    sites_only = {k: v for k, v in make_patient(patient_id="S").items() if k != "mrss_total"}
    requests = [[make_patient(patient_id="A")],
                [sites_only, make_patient(patient_id="B", crp_mg_l=None)],
                [{k: v for k, v in make_patient().items() if k != "esr_mm_h"}]]

    validated = inference.validate_requests(requests)

    assert validated.refused == [None, None, None] and validated.sizes == [1, 2, 1]
    assert validated.records is not None
    start = 0
    for request in requests:
        alone = inference.validate_patients(request)
        part = validated.records.iloc[start:start + len(alone)].reset_index(drop=True)
        pd.testing.assert_frame_equal(part[alone.columns], alone)
        assert part.drop(columns=alone.columns).isna().all().all()  # fields others gave
        start += len(alone)


def test_answers_come_with_the_audit_entries_that_record_them(served: ServedModel) -> None:
    given = [make_patient(patient_id="P-1"), make_patient(patient_id="P-2", crp_mg_l=None)]

    outputs = inference.predict(served, [inference.validate_patients(given)])[0]
    answers, entries = inference.answer_entries(served, "k-1", given, outputs)

    assert [a["prediction_id"] for a in answers] == [e.prediction_id for e in entries]
    assert [e.input for e in entries] == given  # the records as received
    assert all(e.key_id == "k-1" and e.model_version == served.ref.version for e in entries)
    assert [e.explanation for e in entries] == [a["explanation"] for a in answers]


def test_one_model_call_answers_each_request_in_order(served: ServedModel) -> None:
    requests = [[make_patient(patient_id="A")], [make_patient(patient_id="B"),
                                                 make_patient(patient_id="C")]]
    frames = [inference.validate_patients(request) for request in requests]

    split = inference.predict(served, frames)

    assert [[p["patient_id"] for p in part] for part in split] == [["A"], ["B", "C"]]


def test_validation_refuses_follow_up_fields_and_broken_rules() -> None:
    with pytest.raises(ContractError, match="follow-up"):
        inference.validate_patients([make_patient(mrss_total_followup=12)])
    with pytest.raises(ContractError, match="mrss_total"):
        inference.validate_patients([make_patient(mrss_total=30)])
    assert isinstance(inference.validate_patients([make_patient()]), pd.DataFrame)


# --- replay's comparison: the stated tolerance, and how far apart -------------------------------


def served_output(served: ServedModel, patient_id: str) -> dict[str, Any]:
    return inference.predict(served, [inference.validate_patients(
        [make_patient(patient_id=patient_id)])])[0][0]


def test_a_replay_that_differs_in_the_16th_digit_is_a_match_and_says_how_far(
    served: ServedModel,
) -> None:
    output = served_output(served, "P-16")
    replayed = json.loads(json.dumps(output))
    estimate = replayed["predicted_delta_mrss"]["estimate"]
    replayed["predicted_delta_mrss"]["estimate"] = math.nextafter(estimate, math.inf)

    differences, distance = compare_outputs(output, output["explanation"], replayed)

    assert differences == []
    assert 0 < distance.max_abs < 1e-14 and 0 < distance.max_rel < 1e-15


def test_a_replay_beyond_the_tolerance_is_a_difference(served: ServedModel) -> None:
    output = served_output(served, "P-17")
    replayed = json.loads(json.dumps(output))
    replayed["probability_response"]["upper"] *= 1 + 1e-8

    differences, distance = compare_outputs(output, output["explanation"], replayed)

    assert [d.path for d in differences] == ["probability_response.upper"]
    assert distance.max_rel == pytest.approx(1e-8, rel=1e-3)
