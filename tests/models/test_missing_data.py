"""Blank fields and out-of-scope patients on a model trained with the default experiment's core.

The done-when of issue 19: for every field the default model reads, a patient with that field
blank is refused because it is required, or gets a probability within the range the field's
recorded values give, all else equal (numbers: 5th-95th training percentiles; yes/no and
categories: their levels). No contribution is credited to a blank value. A patient with most
model fields blank gets no number, only the fields to record. Out-of-scope patients are refused
naming the field.

The model is the default experiment's (its core fields, missing-data rules and population) with
a smaller search space and fewer bootstrap members, so the module trains in seconds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from ssc_response.features import schema
from ssc_response.features.scope import NEEDED_RULE
from ssc_response.features.validation import ContractError, validate_records
from ssc_response.models.answerable import not_enough_information, out_of_scope
from ssc_response.models.bundle import ResponseModel
from ssc_response.models.tabular import score_frame
from ssc_response.training.config import load_experiment
from ssc_response.training.experiment import fit_final, prepare_cohort
from ssc_response.training.packaging import package
from ssc_response.training.simulation import simulate_cohort
from tests.factories import make_patient

# The percentiles are interpolated on the log scale for ESR and CRP (the models read
# log(1 + value)) and on the raw scale here: a blank may land a hair outside the raw-scale
# range. Half a percentage point covers that; a median-imputation error is far larger (0.1).
TOLERANCE = 0.005


@pytest.fixture(scope="module")
def trained() -> tuple[ResponseModel, pd.DataFrame]:
    default = load_experiment("default")
    config = default.model_copy(update={
        "estimators": {"logistic_l2": {"estimator__C": [0.1]}},
        "uncertainty": default.uncertainty.model_copy(update={"bootstrap_models": 5}),
        "validation": default.validation.model_copy(update={"n_jobs": 1, "inner_splits": 3}),
    })
    cohort = prepare_cohort(simulate_cohort(200, 11), config)
    final = fit_final(cohort, config)
    return package(final, cohort, config, {"experiment": config.name}), cohort.X


def predict(model: ResponseModel, *records: dict[str, Any]) -> list[dict[str, Any]]:
    return model.predict(validate_records(list(records), outcomes=False, model_dtypes=True))


def recorded_alternatives(name: str, X: pd.DataFrame) -> list[object]:
    """The values a field takes when recorded: its levels, or a grid over its 5th-95th
    training percentiles (computed here from the cohort, not from the model's summary)."""
    field = schema.fields()[name]
    if field.type == "boolean":
        return [True, False]
    if field.type == "category":
        return sorted(str(v) for v in X[name].dropna().unique())
    low, high = np.nanquantile(X[name].to_numpy(dtype=float), [0.05, 0.95])
    grid = np.linspace(low, high, 21)
    return [int(round(v)) if field.type == "integer" else float(v) for v in grid]


def test_a_blank_field_is_refused_or_gives_a_probability_its_recorded_values_give(
    trained: tuple[ResponseModel, pd.DataFrame],
) -> None:
    model, X = trained
    required = set(model.metadata["required_fields"])
    checked = 0
    for name in model.metadata["feature_fields"]:
        base = make_patient()
        if name == "mrss_total":  # the total is otherwise filled from the 17 site scores
            base = {k: v for k, v in base.items() if not k.startswith("mrss_")}
            base["mrss_total"] = make_patient()["mrss_total"]
        blank = {**base, name: None}
        try:
            frame = validate_records([blank], outcomes=False, model_dtypes=True)
        except ContractError as refused:  # required by the data contract itself, named
            assert [p.field for p in refused.problems] == [name]
            checked += 1
            continue
        [output] = model.predict(frame)
        [problems] = not_enough_information(model, frame, [output])
        if name in required:
            assert [p.field for p in problems][:1] == [name]
            assert problems[0].rule == NEEDED_RULE
            checked += 1
            continue
        assert problems == [], name
        given = predict(model, *[{**base, name: v, "patient_id": f"P{i}"}
                                 for i, v in enumerate(recorded_alternatives(name, X))])
        values = [g["probability_response"]["estimate"] for g in given]
        estimate = output["probability_response"]["estimate"]
        assert min(values) - TOLERANCE <= estimate <= max(values) + TOLERANCE, name
        checked += 1
    assert checked == len(model.metadata["feature_fields"])  # every field took one path


def test_no_contribution_is_credited_to_a_blank(
    trained: tuple[ResponseModel, pd.DataFrame],
) -> None:
    model, _ = trained
    blank = make_patient(esr_mm_h=None, anti_topo1=None, sex="M")
    [output] = predict(model, blank)
    explanation = output["explanation"]
    by_field = {c["feature"]: c for c in explanation["contributions"]}
    for name in ("esr_mm_h", "anti_topo1"):
        assert by_field[name]["imputed"] is True
        assert by_field[name]["value"] is not None  # shown at its imputed value
    assert not [c for c in explanation["contributions"] if "missing" in c["feature"]]
    assert not [c for c in explanation["contributions"]
                if c["imputed"] and c["value"] is None]
    total = explanation["base_value"] + sum(c["contribution"] for c in explanation["contributions"])
    assert total == pytest.approx(explanation["output_value"], abs=1e-9)
    sex = by_field["sex"]
    men = int(model.summary.level_counts["sex"].get("M", 0))
    assert (sex["note"] is not None) == (men < 20)


def test_most_fields_blank_gives_the_fields_to_record_most_informative_first(
    trained: tuple[ResponseModel, pd.DataFrame],
) -> None:
    model, _ = trained
    full = make_patient()
    minimal = {k: full[k] for k in (*schema.REQUIRED_FIELDS, "mrss_total")}
    frame = validate_records([minimal], outcomes=False, model_dtypes=True)
    [output] = model.predict(frame)
    [problems] = not_enough_information(model, frame, [output])
    spread = output["missing_data"]
    assert spread["upper"] - spread["lower"] > model.metadata["max_missing_range_width"]
    blank = set(model.metadata["feature_fields"]) - set(minimal)
    assert {p.field for p in problems} == blank
    assert all(p.rule == NEEDED_RULE for p in problems)
    narrows = [f["narrows_by"] for f in spread["fields_to_record"]]
    assert narrows == sorted(narrows, reverse=True)


def test_a_complete_patient_draws_nothing(trained: tuple[ResponseModel, pd.DataFrame]) -> None:
    model, _ = trained
    [output] = predict(model, make_patient())
    assert output["missing_data"] is None
    assert "refitted" in output["probability_response"]["basis"]


@pytest.mark.parametrize(("field", "value", "words"), [
    ("cutaneous_subset", "limited", "this model is for diffuse SSc; you entered limited SSc"),
    ("cell_product", "ad_svf", "you entered adipose stromal vascular fraction"),
])
def test_out_of_scope_patients_are_refused_naming_the_field(
    trained: tuple[ResponseModel, pd.DataFrame], field: str, value: str, words: str,
) -> None:
    model, _ = trained
    frame = validate_records([make_patient(**{field: value})], outcomes=False, model_dtypes=True)
    [problems] = out_of_scope(model, frame)
    assert [p.field for p in problems] == [field]
    assert words in problems[0].rule


def test_predict_marks_out_of_scope_rows_and_predicts_the_rest(
    trained: tuple[ResponseModel, pd.DataFrame],
) -> None:
    model, _ = trained
    rows = pd.DataFrame([make_patient(patient_id="IN"),
                         make_patient(patient_id="OUT", cutaneous_subset="limited")])
    table = score_frame(model, rows)
    assert list(table["patient_id"]) == ["IN", "OUT"]
    assert table.loc[0, "refused"] == "" and not pd.isna(table.loc[0, "probability_response"])
    assert "cutaneous_subset" in table.loc[1, "refused"]
    assert pd.isna(table.loc[1, "probability_response"])
