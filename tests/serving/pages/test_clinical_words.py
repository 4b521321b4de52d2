"""The pages in clinical words (issue 19 §3-4, issue 24 clinician): labels instead of codes,
indices that say when they cannot be decided, a named uncertainty, batch warnings in words with
links to each prediction, and a refusal's detail items beside their fields."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from ssc_response.features.schema import fields
from ssc_response.features.validation import Problem
from ssc_response.serving.pages.forms import messages_by_field
from tests.factories import make_patient
from tests.serving.pages.support import csrf_of, submit_patient

# Every EScSG item blank but mRSS: 1 point recorded, up to 10 possible (§2.1 weights).
ESCSG_BLANKS = ("scleredema", "delta_skin", "digital_ulcers_active", "delta_vascular",
                "arthritis", "dlco_pct_pred", "delta_cardiopulmonary", "esr_mm_h",
                "hypocomplementemia", "c3_g_l", "c4_g_l")
UNDERSCORED_CODES = sorted({value for field in fields().values() for value in field.allowed
                            if "_" in value})


@pytest.fixture(scope="module")
def sparse_page(clinician: TestClient) -> str:
    patient = make_patient(patient_id="WORDS-SPARSE", **dict.fromkeys(ESCSG_BLANKS))
    response = submit_patient(clinician, patient)
    assert response.status_code == 200, response.text
    return response.text


def shown_text(page: str) -> str:
    """The page's visible text: tags and attribute values (option values, ids) removed."""
    return re.sub(r"<[^>]+>", " ", page)


def test_form_shows_model_fields_first_and_values_in_words(clinician: TestClient) -> None:
    page = clinician.get("/patient").text
    assert page.index('id="s-model"') < page.index('id="s-history"')
    assert page.count('class="used"') >= 2  # the marks (and the explanation's example)
    text = shown_text(page)
    assert "autologous bone-marrow MSC" in text and "adipose stromal vascular fraction" in text
    assert "lower leg" in text
    for code in UNDERSCORED_CODES:
        assert code not in text, code
    assert 'type="radio" name="anti_topo1" value="yes"' in page


def test_result_page_names_its_uncertainty_and_speaks_clinically(clinician: TestClient) -> None:
    page = submit_patient(clinician, make_patient(patient_id="WORDS-1", crp_mg_l=None)).text
    assert "Model uncertainty:" in page and "models refitted on resampled" in page
    assert "95 % interval" not in page
    assert "percentage points of probability" in page  # the chart's one scale
    text = shown_text(page)
    assert "not recorded mg/L" not in text and "crp_mg_l" not in text
    assert 'data-copy="' in page and 'class="copy"' in page and "onclick" not in page


def test_an_index_that_blanks_could_flip_is_not_assessable(sparse_page: str) -> None:
    """mRSS > 14 (1 point) with 9 EScSG items blank: 1 to 10 points, across 3 (§2.1)."""
    text = shown_text(sparse_page)
    assert "not assessable: 9 items missing" in text
    assert "EScSG activity index</th><td>1 to 10</td>" in sparse_page


def test_batch_warnings_are_words_and_rows_link_to_their_predictions(
        clinician: TestClient) -> None:
    complete = make_patient(patient_id="WORDS-B1")
    sparse = make_patient(patient_id="WORDS-B2", crp_mg_l=None, **dict.fromkeys(ESCSG_BLANKS))
    names = [name for name in complete if complete[name] is not None]
    rows = [",".join(names)] + [",".join("" if r.get(n) is None else str(r[n]).lower()
                                         if isinstance(r.get(n), bool) else str(r[n])
                                         for n in names) for r in (complete, sparse)]
    token = csrf_of(clinician.get("/patients").text)
    response = clinician.post("/patients", data={"csrf_token": token},
                              files={"file": ("p.csv", "\n".join(rows), "text/csv")})
    assert response.status_code == 200, response.text
    cells = re.findall(r'<ul class="warnings-in-cell">(.*?)</ul>', response.text, re.S)
    assert any("EScSG activity index not assessable" in cell for cell in cells)
    assert all("crp_mg_l" not in cell and "esr_mm_h" not in cell for cell in cells)
    links = re.findall(r'href="(/patient/predictions/[0-9a-f-]{36})"', response.text)
    assert len(links) == 2
    opened = clinician.get(links[1])
    assert opened.status_code == 200 and "WORDS-B2" in opened.text
    assert "not assessable" in opened.text  # the stored input's index gaps are shown too


def test_someone_elses_or_unknown_prediction_is_not_shown(clinician: TestClient) -> None:
    response = clinician.get("/patient/predictions/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404 and "None of your predictions" in response.text


def test_a_refusals_problems_are_shown_beside_their_fields_in_words() -> None:
    """A refusal's problems (out of scope, a field needed) as page messages, field and codes
    in words, in the refusal's order."""
    refusal = [Problem(1, "cell_product", "ad_svf",
                       "this model is for auto_bm_msc; you entered ad_svf"),
               Problem(1, "esr_mm_h", None, "needed for a prediction")]
    messages = messages_by_field(refusal)
    assert messages["cell_product"] == ["Cell product: this model is for autologous bone-marrow "
                                        "MSC; you entered adipose stromal vascular fraction."]
    assert messages["esr_mm_h"] == ["ESR: needed for a prediction."]
    assert list(messages) == ["cell_product", "esr_mm_h"]
