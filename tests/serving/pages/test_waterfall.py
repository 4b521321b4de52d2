"""The explanation chart: largest contributions, 'other', clinical words, additivity."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from ssc_response.serving.pages.waterfall import bars, describe_value, waterfall_svg

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
    assert describe_value("crp_mg_l", None, "mg/L") == "CRP not recorded (imputed)"
    assert describe_value("fibrosis_grade", 2.0, "grade") == "Fibrosis grade 2"
    assert describe_value("myofibroblast_score", 1.0, "grade") == "Myofibroblasts (α-SMA) grade 1"


def test_small_contributions_are_grouped_and_the_chain_ends_at_the_output() -> None:
    steps = bars(EXPLANATION, top=2)
    assert [s.text for s in steps] == ["mRSS 29 points", "CRP not recorded (imputed)",
                                       "other (3 fields)"]
    end = steps[-1].start + steps[-1].amount
    assert math.isclose(end, EXPLANATION["output_value"], abs_tol=1e-12)


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
