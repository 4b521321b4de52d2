"""The upload page (/patients) reads files as the command line does (issues 20 and 23).

The same bad files as ``tests/cli/test_check_cmd.py`` get the same cause in words; a cohort
file with follow-up columns is accepted as ``predict`` accepts it; a saved mapping is chosen by
name; more patients than ``max_batch`` is refused with 413 naming the limit.
"""

from __future__ import annotations

import html
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from ssc_response.features.file_errors import FileProblem
from ssc_response.features.io import read_uploaded_table
from ssc_response.serving.keys import Role
from tests.factories import make_followup, make_patient
from tests.features.test_mapping import centre_workbook, write_mapping
from tests.serving.pages.support import csrf_of, signed_in_client
from tests.serving.support import Service, running_service

MAX_ROWS = 5


@pytest.fixture(scope="module")
def service(trained_store: dict[str, Any],
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("mappings")
    write_mapping(folder)  # centre.yaml
    (folder / "broken.yaml").write_text("units:\n  dlco_pct_pred: mmol/min/kPa\n")
    with running_service(tmp_path_factory.mktemp("uploads"), trained_store,
                         max_batch=MAX_ROWS, mapping_folder=folder) as started:
        yield started


@pytest.fixture(scope="module")
def clinician(service: Service) -> TestClient:
    return signed_in_client(service, Role.CLINICIAN)


def upload(client: TestClient, name: str, content: bytes, **fields: str) -> Any:
    token = csrf_of(client.get("/patients").text)
    return client.post("/patients", data={"csrf_token": token, **fields},
                       files={"file": (name, content, "application/octet-stream")})


def message_of(page: str) -> str:
    start = page.index('id="upload-message">') + len('id="upload-message">')
    return html.unescape(page[start:page.index("</p>", start)])


BAD = {
    "empty.csv": b"",
    "header.csv": b"patient_id,age_years\n",
    "latin1.csv": "patient_id,biopsy_site\nA,avant-bras é\n".encode("cp1252"),
    "twice.csv": b"patient_id,sex,sex\nA,F,F\n",
    "broken.parquet": b"PAR1 not really",
}


@pytest.mark.parametrize("name", BAD)
def test_a_bad_file_gets_the_command_lines_cause_in_words(clinician: TestClient,
                                                          service: Service, name: str) -> None:
    before = service.audit_total()
    with pytest.raises(FileProblem) as caught:  # the command line's reader, same bytes
        read_uploaded_table(BAD[name], name)
    response = upload(clinician, name, BAD[name])
    assert response.status_code == 422
    page_cause = message_of(response.text).lower()
    assert page_cause.startswith(caught.value.page_message.lower()[:40])
    assert service.audit_total() == before


def test_a_latin1_file_names_the_choice_on_the_form_and_reads_with_it(
        clinician: TestClient) -> None:
    response = upload(clinician, "latin1.csv", BAD["latin1.csv"])
    assert "choose its encoding" in message_of(response.text)
    patients = pd.DataFrame([make_patient(patient_id="L-1", biopsy_site="avant-bras é")])
    content = patients.to_csv(index=False).encode("cp1252")
    response = upload(clinician, "latin1.csv", content, encoding="cp1252")
    assert response.status_code == 422  # read: now the contract judges the decoded value
    assert "<td>Biopsy site</td>" in response.text  # the field by its label
    assert "avant-bras é" in html.unescape(response.text)


def test_a_cohort_with_follow_up_columns_is_predicted_as_predict_does(
        clinician: TestClient) -> None:
    cohort = pd.DataFrame([{**make_patient(patient_id=f"F-{i}"), **make_followup()}
                           for i in range(2)])
    response = upload(clinician, "cohort.csv", cohort.to_csv(index=False).encode())
    assert response.status_code == 200, response.text
    assert "F-0" in response.text and "F-1" in response.text


def test_a_broken_follow_up_value_is_refused_as_predict_refuses_it(
        clinician: TestClient) -> None:
    cohort = pd.DataFrame([{**make_patient(patient_id="G-1"),
                            **make_followup(mrss_total_followup=99)}])
    response = upload(clinician, "cohort.csv", cohort.to_csv(index=False).encode())
    assert response.status_code == 422
    assert "<td>1</td><td>mRSS total at follow-up</td>" in response.text  # its label


def test_too_many_patients_is_413_naming_the_limit(clinician: TestClient) -> None:
    ids = pd.DataFrame([make_patient(patient_id=f"T-{i}") for i in range(MAX_ROWS + 1)])
    buffer = io.BytesIO()
    ids.to_parquet(buffer, index=False)
    for name, content in (("many.csv", ids.to_csv(index=False).encode()),
                          ("many.parquet", buffer.getvalue())):
        response = upload(clinician, name, content)
        assert response.status_code == 413
        assert f"more than {MAX_ROWS} patients; at most {MAX_ROWS}" in message_of(response.text)


def test_a_saved_mapping_is_chosen_by_name(clinician: TestClient, tmp_path: Path) -> None:
    page = clinician.get("/patients").text
    assert '<option value="centre">centre</option>' in page
    workbook = centre_workbook(tmp_path / "centre.xlsx").read_bytes()
    refused = upload(clinician, "centre.xlsx", workbook)
    assert refused.status_code == 422  # its own column names, without the mapping
    response = upload(clinician, "centre.xlsx", workbook, mapping="centre")
    assert response.status_code == 200, response.text
    refused = upload(clinician, "empty.xlsx", b"", mapping="centre", sheet="Baseline")
    assert '<option value="centre" selected>centre</option>' in refused.text  # kept as chosen
    assert 'value="Baseline"' in refused.text


@pytest.mark.parametrize(("mapping", "cause"), [
    ("nowhere", "There is no saved mapping named 'nowhere'."),
    ("broken", "The saved mapping 'broken' cannot be used: units: dlco_pct_pred: DLCO in"),
    ("../centre", "There is no saved mapping named '../centre'."),
])
def test_a_mapping_that_cannot_be_used_is_said_so(clinician: TestClient, mapping: str,
                                                  cause: str) -> None:
    content = pd.DataFrame([make_patient()]).to_csv(index=False).encode()
    response = upload(clinician, "p.csv", content, mapping=mapping)
    assert response.status_code == 422
    assert message_of(response.text).startswith(cause)
