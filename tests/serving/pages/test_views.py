"""A prediction as the result page words it: indices with missing items, the probability's
uncertainty, contributions in probability points (no service needed)."""

from __future__ import annotations

import math

from ssc_response.features.index_gaps import IndexGap
from ssc_response.serving.pages.contributions import contribution_rows, scale_sentence
from ssc_response.serving.pages.views import index_rows, probability_sentence, warnings_in_words

EXPLANATION = {
    "base_value": 0.0, "output_space": "logit", "output_value": math.log(3),
    "contributions": [
        {"feature": "sex", "value": "M", "unit": "", "contribution": -0.5},
        {"feature": "mrss_total", "value": 30.0, "unit": "points",
         "contribution": math.log(3) + 0.5},
        {"feature": "cell_product", "value": "auto_bm_msc", "unit": "", "contribution": 0.0},
        {"feature": "esr_mm_h", "value": None, "unit": "mm/h", "contribution": 0.0},
    ],
}


def test_contributions_in_probability_points_add_up_to_the_headline() -> None:
    """Base logit 0 (50 %), output log 3 (75 %): mRSS first (largest), 50 % -> expit(log 3 +
    0.5) = 83.18 %, then sex back to 75 %: +33.18 and -8.18 points, by hand."""
    rows = contribution_rows(EXPLANATION)
    assert [r.field for r in rows][:2] == ["mRSS", "Sex"]
    assert math.isclose(rows[0].points or 0, 33.18, abs_tol=0.01)
    assert math.isclose(rows[1].points or 0, -8.18, abs_tol=0.01)
    assert math.isclose(sum(r.points or 0 for r in rows), 25.0, abs_tol=1e-9)
    values = [r.value for r in rows]
    assert values == ["30 points", "male", "autologous bone-marrow MSC", "not recorded"]
    assert "(50 %)" in scale_sentence(EXPLANATION) and "(75 %)" in scale_sentence(EXPLANATION)


def test_an_undecided_index_reads_not_assessable_with_its_count() -> None:
    gap = IndexGap("escsg_activity_index", 1.0, 10.0,
                   ("scleredema", "delta_skin", "esr_mm_h", "arthritis"), False)
    rows = {r.name: r for r in index_rows(
        {"mrss_total": 22.0, "escsg_activity_index": None, "escsg_active": None,
         "eustar_activity_index": 4.0, "eustar_active": True, "acr_eular_2013_score": 12.0},
        [gap])}
    escsg = rows["EScSG activity index"]
    assert (escsg.value, escsg.status) == ("1 to 10", "not assessable: 4 items missing")
    assert escsg.note == "Not recorded: Scleredema, Worse skin (last month), ESR, Arthritis."
    assert rows["Revised EUSTAR activity index"].status == "active"
    assert rows["ACR/EULAR 2013 classification score"].status == "criteria met"


def test_a_decided_index_with_missing_items_says_at_least() -> None:
    gap = IndexGap("eustar_activity_index", 3.25, 5.5, ("crp_mg_l",), True)
    [_, _, eustar, _] = index_rows({"eustar_activity_index": 3.25, "eustar_active": True}, [gap])
    assert eustar.value == "at least 3.25"
    assert eustar.status == "active (1 item missing, whatever they are)"


def test_stored_predictions_without_a_record_still_say_not_assessable() -> None:
    [_, escsg, _, acr] = index_rows({"escsg_activity_index": None, "escsg_active": None,
                                     "acr_eular_2013_score": None})
    assert escsg.status == acr.status == "not assessable"


def test_warnings_in_words_and_index_gaps_once() -> None:
    gap = IndexGap("eustar_activity_index", 0.0, 2.5, ("digital_ulcers_active", "dlco_pct_pred"),
                   False)
    shown = warnings_in_words(["crp_mg_l missing: imputed with the training median 4.5 mg/L"],
                              [gap])
    assert shown[0] == "CRP missing: imputed with the training median 4.5 mg/L"
    assert shown[1].startswith("Revised EUSTAR activity index not assessable: 2 items missing "
                               "(Active digital ulcers, DLCO)")
    assert warnings_in_words(shown, [gap]) == shown  # already in the answer: not repeated
    assert warnings_in_words(["pah missing: treated as an unknown category",
                              "cell_product = 'allo_bm_msc' was not seen in training"]) == [
        "PAH missing: treated as an unknown category",
        "Cell product = 'allogeneic bone-marrow MSC' was not seen in training"]


def test_the_probability_range_is_named_for_what_it_is() -> None:
    sentence = probability_sentence({"lower": 0.22, "upper": 0.62}, 200)
    assert sentence.startswith("Model uncertainty: 22 % to 62 %. 200 models refitted")
    assert "interval" not in sentence and "95" not in sentence
