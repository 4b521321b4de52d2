"""The explanation chart: largest contributions, 'other', clinical words, additivity."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from ssc_response.serving.pages.waterfall import bars, describe_value, waterfall_svg, wrapped

EXPLANATION = {
    "base_value": -0.2, "output_space": "logit", "output_value": 0.55,
    "contributions": [
        {"feature": "mrss_total", "value": 29.0, "unit": "points", "contribution": 0.6},
        {"feature": "sex", "value": "F", "unit": "", "contribution": -0.1},
        {"feature": "crp_mg_l", "value": None, "unit": "mg/L", "contribution": 0.15},
        {"feature": "anti_topo1", "value": 1.0, "unit": "", "contribution": 0.05},
        {"feature": "fibrosis_grade", "value": 2.0, "unit": "grade", "contribution": 0.05},
    ],
}


def test_values_are_worded_clinically() -> None:
    assert describe_value("mrss_total", 29.0, "points") == "mRSS 29 points"
    assert describe_value("anti_topo1", 1.0, "") == "Anti-Scl-70 yes"
    assert describe_value("crp_mg_l", None, "mg/L") == "CRP not recorded"
    assert describe_value("sex", "M", "") == "Sex male"
    assert describe_value("biopsy_site", "lower_leg", "") == "Biopsy site lower leg"
    assert describe_value("fibrosis_grade", 2.0, "grade") == "Fibrosis grade 2"
    assert describe_value("myofibroblast_score", 1.0, "grade") == "Myofibroblasts (α-SMA) grade 1"


def test_small_contributions_are_grouped_and_the_chain_ends_at_the_output() -> None:
    steps = bars(EXPLANATION, top=2)
    assert [s.text for s in steps] == ["mRSS 29 points", "CRP not recorded",
                                       "other (3 fields)"]
    end = steps[-1].start + steps[-1].amount
    # Log-odds are drawn in percentage points: from 100·expit(base) to 100·expit(output).
    assert math.isclose(steps[0].start, 100 / (1 + math.exp(0.2)), abs_tol=1e-9)
    assert math.isclose(end, 100 / (1 + math.exp(-0.55)), abs_tol=1e-9)
    # mRSS first: expit(-0.2 + 0.6) - expit(-0.2), by hand 59.87 - 45.02 = 14.85 points
    assert math.isclose(steps[0].amount, 14.85, abs_tol=0.01)
    delta = bars({**EXPLANATION, "output_space": "delta_mrss"}, top=2)
    assert math.isclose(delta[-1].start + delta[-1].amount, 0.55, abs_tol=1e-12)


def test_direction_follows_the_scale() -> None:
    assert bars(EXPLANATION)[0].favours_response
    delta = {**EXPLANATION, "output_space": "delta_mrss"}
    assert not bars(delta)[0].favours_response  # a larger mRSS change is a worse outcome


def test_svg_is_well_formed_accessible_and_escaped() -> None:
    hostile = {**EXPLANATION, "contributions": [
        {"feature": "sex", "value": "<script>", "unit": "", "contribution": 0.75}]}
    svg = waterfall_svg(hostile)
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "log-odds" in root.find("{http://www.w3.org/2000/svg}desc").text  # type: ignore[union-attr]


def test_long_labels_wrap_instead_of_being_clipped() -> None:
    """Every label line fits the 290 px left of the bars (34 characters at 13 px), and no word
    of the label is lost."""
    long = {**EXPLANATION, "contributions": [
        {"feature": "inflammatory_infiltrate_score", "value": 2.0, "unit": "grade",
         "contribution": 0.4},
        {"feature": "delta_cardiopulmonary", "value": 1.0, "unit": "", "contribution": -0.3}]}
    root = ET.fromstring(waterfall_svg(long))
    ns = "{http://www.w3.org/2000/svg}"
    lines = [span.text or "" for span in root.iter(f"{ns}tspan")]
    assert all(len(line) <= 34 for line in lines)
    joined = " ".join(lines)
    assert "Inflammatory infiltrate grade 2" in joined
    assert "Worse heart/lung symptoms (last month) yes" in joined
    assert wrapped("Worse heart/lung symptoms (last month) yes") == [
        "Worse heart/lung symptoms (last", "month) yes"]
