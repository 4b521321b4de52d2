"""The service's batch as arrays: validate_requests -> run_model answers as each request alone.

A replay recomputes one recorded record on its own (``run_model(model, [record])``), so a row
served in a coalesced batch must get exactly, value and type, what its request gets alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import mlflow
import numpy as np
import pytest

from features.validation import ContractError, ValidatedRecords, validate_record_columns
from models.bundle import ResponseModel
from models.registry import load_served_model
from serving.replay import compare_outputs, run_model, validate_requests
from tests.assertions import assert_identical
from tests.factories import make_patient


@pytest.fixture(scope="module")
def model(trained_store: dict[str, Any]) -> Iterator[ResponseModel]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", str(trained_store["tracking_uri"]))
        mlflow.set_tracking_uri(str(trained_store["tracking_uri"]))
        yield load_served_model("models:/ssc-skin-response@champion").model


def requests() -> list[list[dict[str, Any]]]:
    """One-patient requests as the route sees them, and one of two patients; gaps and oddities."""
    sparse = make_patient(patient_id="SPARSE")
    for optional in ("crp_mg_l", "esr_mm_h", "fibrosis_grade", "mrss_total", "cell_product"):
        del sparse[optional]
    return [
        [make_patient(patient_id="P-1")],
        [sparse],
        [make_patient(patient_id="P-1", sex="M", crp_mg_l=290.0, cell_product="ad_svf")],
        [make_patient(patient_id="P-2", nvc_pattern=None), make_patient(patient_id="P-3")],
        [make_patient(patient_id="P-4", age_years=89.5, hypocomplementemia=None, c3_g_l=0.5)],
    ]


def test_the_batch_is_the_requests_validated_alone_one_after_the_other() -> None:
    given = requests()

    batch, errors = validate_requests(given)

    assert errors == [None] * len(given)
    assert isinstance(batch, ValidatedRecords)
    alone = [validate_record_columns(request) for request in given]
    assert batch["patient_id"].tolist() == ["P-1", "SPARSE", "P-1", "P-2", "P-3", "P-4"]
    assert len(batch) == 6
    for name, values in batch.columns.items():
        parts = [a[name] if name in a.columns else np.full(len(a), None if values.dtype == object
                                                            else np.nan, dtype=values.dtype)
                 for a in alone]
        np.testing.assert_array_equal(values, np.concatenate(parts), err_msg=name)
        assert values.dtype == parts[0].dtype, name


def test_a_request_with_problems_is_left_out_of_the_batch() -> None:
    given = [[make_patient(patient_id="OK-1")], [make_patient(mrss_total=30)],
             [make_patient(patient_id="OK-2")]]

    batch, errors = validate_requests(given)

    assert [e is None for e in errors] == [True, False, True]
    assert isinstance(errors[1], ContractError)
    assert batch is not None and batch["patient_id"].tolist() == ["OK-1", "OK-2"]


def test_a_served_row_is_exactly_what_its_request_gets_alone(model: ResponseModel) -> None:
    given = requests()
    batch, _ = validate_requests(given)
    assert batch is not None

    served = run_model(model, batch)

    alone = [output for request in given for output in run_model(model, request)]
    assert_identical(alone, served)
    for output, again in zip(served, alone, strict=True):
        recorded = {k: v for k, v in output.items() if k != "explanation"}
        assert compare_outputs(recorded, output["explanation"], again) == []


def test_run_model_takes_records_arrays_or_a_typed_frame(model: ResponseModel) -> None:
    records = [record for request in requests()[1:4] for record in request]
    records[1] = {**records[1], "patient_id": "P-1b"}  # unique within one call

    from_records = run_model(model, records)

    assert_identical(from_records, run_model(model, validate_record_columns(records)))
    assert_identical(from_records, run_model(model, validate_record_columns(records).to_frame()))
    assert [p["patient_id"] for p in from_records] == ["SPARSE", "P-1b", "P-2", "P-3"]


def test_run_model_refuses_records_that_break_the_contract(model: ResponseModel) -> None:
    with pytest.raises(ContractError, match="mrss_total"):
        run_model(model, [make_patient(mrss_total=30)])
