"""The fast inference path answers what the sklearn path answers (to 1e-9), for 1 or many rows.

``reference_predict`` is ``ResponseModel.predict`` as it was computed before the numpy twins:
every step through sklearn and pandas, the ΔmRSS model preprocessing records on its own, and
warnings checked field by field. It is the specification the fast path is held to. The service's
path (the arrays of ``validate_record_columns``, no DataFrame) must answer exactly, value and
type, what the typed frame of ``validate_records`` gets.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from features import schema
from features.pipeline import as_model_frame, field_units
from features.validation import validate_frame, validate_record_columns, validate_records
from models.bundle import INDEX_COLUMNS, ResponseModel, TrainingSummary
from models.estimators import make_delta_regressor
from models.serialization import load_bundle, save_bundle
from tests.assertions import assert_identical
from tests.factories import make_patient
from training.config import ExperimentConfig, UncertaintyConfig
from training.experiment import Cohort, fit_final, prepare_cohort
from training.simulation import simulate_cohort

TOLERANCE = 1e-9
CASES = [("logistic_l2", "both"), ("random_forest", "clinical"),
         ("delta_mrss_regression", "both"), ("logistic_l2", "histology"),
         ("gradient_boosting", "both")]


@dataclasses.dataclass
class Fitted:
    model: ResponseModel
    cohort: Cohort
    old_regressor: Pipeline  # the ΔmRSS model as bundles held it before preprocessing was shared


def fit(family_name: str, feature_set: str) -> Fitted:
    config = ExperimentConfig(name="fast-path", estimators={family_name: {}},
                              feature_set=feature_set,
                              uncertainty=UncertaintyConfig(bootstrap_models=5))
    cohort = prepare_cohort(simulate_cohort(120, 5), config)
    model = fit_final(cohort, config, family_name, metadata={})
    return Fitted(model, cohort, make_delta_regressor(feature_set).fit(cohort.X, cohort.delta))


@pytest.fixture(scope="module")
def fitted() -> dict[tuple[str, str], Fitted]:
    return {case: fit(*case) for case in CASES}


def records(n: int = 40, seed: int = 8) -> pd.DataFrame:
    """New patients with what the service meets: gaps, odd values, levels training never saw."""
    raw = simulate_cohort(n, seed)
    frame = validate_frame(raw[[c for c in raw.columns if c in schema.baseline_fields()
                                or c == "patient_id"]])
    frame.loc[0:4, "cell_product"] = "ad_svf"
    frame.loc[3:8, "crp_mg_l"] = 290.0
    frame.loc[5:9, ["age_years", "sex", "hypocomplementemia"]] = pd.NA
    frame.loc[8:12, "mrss_total"] = pd.NA  # filled from the sites
    frame.loc[10:12, "nvc_pattern"] = "normal"
    return frame.drop(columns=["lvef_pct", "biopsy_site", "dermal_thickness_mm"])


# --- the sklearn path, as ResponseModel.predict computed it ----------------------------------


def reference_predict(model: ResponseModel, frame: pd.DataFrame,
                      regressor: Pipeline) -> list[dict[str, Any]]:
    preprocess = model.classifier.named_steps["preprocess"]
    with_indices = preprocess.named_steps["indices"].transform(as_model_frame(frame))
    features = preprocess.named_steps["encode"].transform(with_indices)
    probability = model.classifier.named_steps["estimator"].predict_proba(features)[:, 1]
    p_low, p_high = model.probability_ensemble.interval(features, level=model.probability_level)
    delta = regressor.predict(as_model_frame(frame))
    baseline = with_indices["mrss_total"].to_numpy(dtype=float)
    d_low, d_high = model.delta_conformal.interval(
        delta, level=model.delta_level, lower=-baseline, upper=51.0 - baseline)
    explanations = model.explainer.explain(features, with_indices)
    warnings = reference_warnings(model.summary, frame)
    return [{"patient_id": str(pid),
             "probability_response": interval(probability[i], p_low[i], p_high[i],
                                              model.probability_level, "probability", 0, 1),
             "predicted_delta_mrss": interval(delta[i], d_low[i], d_high[i], model.delta_level,
                                              "points", -51, 51),
             "indices": index_values(with_indices.iloc[i]),
             "explanation": explanations[i].to_dict(), "warnings": warnings[i]}
            for i, pid in enumerate(frame["patient_id"])]


def interval(estimate: float, low: float, high: float, level: float, unit: str,
             floor: float, ceiling: float) -> dict[str, Any]:
    def clip(v: float) -> float:
        return float(min(max(v, floor), ceiling))

    return {"estimate": clip(estimate), "lower": clip(min(low, estimate)),
            "upper": clip(max(high, estimate)), "level": level, "unit": unit}


def index_values(row: pd.Series) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in INDEX_COLUMNS:
        value = row.get(name)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            values[name] = None
        else:
            flag = name.endswith("_active") or name == "hypocomplementemia"
            values[name] = bool(value) if flag else float(value)
    return values


def reference_warnings(summary: TrainingSummary, frame: pd.DataFrame) -> list[list[str]]:
    """Field by field, row by row: the messages and their order the vectorised check keeps."""
    frame, units = as_model_frame(frame), field_units()
    messages: list[list[str]] = [[] for _ in range(len(frame))]
    fmt = "{:.4g}".format
    for name in sorted(summary.missing_share):
        column, unit = frame[name], units.get(name, "")
        for i in np.flatnonzero(column.isna().to_numpy()):
            messages[i].append(
                f"{name} missing: imputed with the training median "
                f"{fmt(summary.medians[name])} {unit}".rstrip() if name in summary.medians
                else f"{name} missing: treated as an unknown category")
        if name in summary.numeric_ranges:
            low, high = summary.numeric_ranges[name]
            values = pd.to_numeric(column.astype("Float64")).to_numpy(float, na_value=np.nan)
            for i in np.flatnonzero((values < low) | (values > high)):
                messages[i].append(
                    f"{name} = {fmt(values[i])} {unit} is outside the training range "
                    f"{fmt(low)}-{fmt(high)} {unit}; the prediction extrapolates"
                    .replace("  ", " "))
        elif name in summary.categories:
            for row, value in enumerate(column):
                if not pd.isna(value) and str(value) not in summary.categories[name]:
                    messages[row].append(f"{name} = {value!r} was not seen in training")
    return messages


def assert_same(expected: Any, got: Any) -> None:
    """Equal structure, types, strings and flags; numbers within TOLERANCE."""
    assert_identical(expected, got, tolerance=TOLERANCE)


# --- tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=["-".join(c) for c in CASES])
@pytest.mark.parametrize("rows", [slice(0, 1), slice(3, 4), slice(0, 40)], ids=["1a", "1b", "40"])
def test_predict_equals_the_sklearn_path(fitted: dict[tuple[str, str], Fitted],
                                         case: tuple[str, str], rows: slice) -> None:
    f = fitted[case]
    frame = records().iloc[rows]

    assert_same(reference_predict(f.model, frame, f.old_regressor), f.model.predict(frame))


@pytest.mark.parametrize("case", CASES, ids=["-".join(c) for c in CASES])
def test_transform_equals_the_fitted_preprocessor(fitted: dict[tuple[str, str], Fitted],
                                                  case: tuple[str, str]) -> None:
    model, frame = fitted[case].model, records()
    preprocess = model.classifier.named_steps["preprocess"]
    expected_indices = preprocess.named_steps["indices"].transform(as_model_frame(frame))

    with_indices, features = model.transform(frame)

    pd.testing.assert_frame_equal(features, preprocess.transform(as_model_frame(frame)),
                                  rtol=0, atol=1e-12)
    pd.testing.assert_frame_equal(with_indices, expected_indices[list(with_indices.columns)])


@pytest.mark.parametrize("case", CASES, ids=["-".join(c) for c in CASES])
def test_served_regressor_is_the_validated_delta_model(fitted: dict[tuple[str, str], Fitted],
                                                       case: tuple[str, str]) -> None:
    """Fitted on the classifier's features, it predicts what make_delta_regressor predicts."""
    f = fitted[case]
    _, features = f.model.transform(records())

    shared = f.model.regressor.predict(features)

    np.testing.assert_allclose(shared, f.old_regressor.predict(as_model_frame(records())),
                               rtol=0, atol=TOLERANCE)
    assert "preprocess" not in f.model.regressor.named_steps


def test_a_bundle_whose_regressor_preprocesses_for_itself_still_predicts_the_same(
    fitted: dict[tuple[str, str], Fitted],
) -> None:
    f = fitted[("logistic_l2", "both")]
    older = dataclasses.replace(f.model, regressor=f.old_regressor)  # bundles saved before

    assert_same(reference_predict(older, records(), f.old_regressor), older.predict(records()))


def test_a_patient_alone_gets_what_they_get_in_a_batch(
    fitted: dict[tuple[str, str], Fitted],
) -> None:
    model, frame = fitted[("delta_mrss_regression", "both")].model, records(120, 9)
    batch = model.predict(frame)  # > FEW_ROWS rows: the other way of reading records
    for i in (0, 7, 119):
        assert_same(batch[i], model.predict(frame.iloc[[i]])[0])


def test_warnings_list_fields_alphabetically_with_their_values(
    fitted: dict[tuple[str, str], Fitted],
) -> None:
    model = fitted[("logistic_l2", "both")].model
    frame = records(3).assign(crp_mg_l=[290.0, None, 1.0], cell_product=["ad_svf", None, None])

    warnings = model.warnings(frame)

    assert warnings == reference_warnings(model.summary, frame)
    assert "cell_product = 'ad_svf' was not seen in training" in warnings[0]
    assert any(m.startswith("crp_mg_l = 290 mg/L is outside") for m in warnings[0])
    assert any(m.startswith("crp_mg_l missing: imputed") for m in warnings[1])
    fields = [message.split(" ")[0] for message in warnings[0]]
    assert fields == sorted(fields)


@pytest.mark.parametrize("case", CASES, ids=["-".join(c) for c in CASES])
def test_explanation_dicts_are_the_explanations_own(fitted: dict[tuple[str, str], Fitted],
                                                   case: tuple[str, str]) -> None:
    model = fitted[case].model
    with_indices, features = model.transform(records(6))

    dicts = model.explainer.explain_dicts(features, with_indices)

    expected = [e.to_dict() for e in model.explainer.explain(features, with_indices)]
    assert_identical(expected, dicts)


def test_compiled_parts_are_rebuilt_after_a_round_trip(
    fitted: dict[tuple[str, str], Fitted], tmp_path: Path,
) -> None:
    model = fitted[("delta_mrss_regression", "both")].model
    before = model.predict(records(5))  # the compiled parts now exist on this object

    loaded = load_bundle(save_bundle(model, tmp_path / "bundle"))

    assert "_compiled" not in vars(loaded)
    assert_same(before, loaded.predict(records(5)))


def test_warm_builds_what_a_first_request_would(fitted: dict[tuple[str, str], Fitted]) -> None:
    model = dataclasses.replace(fitted[("logistic_l2", "both")].model)  # nothing built yet
    assert not {"explainer", "_compiled", "_delta", "_checks"} & set(vars(model))

    model.warm()

    assert {"explainer", "_compiled", "_delta", "_checks"} <= set(vars(model))


# --- the service's path: validated arrays, no DataFrame -------------------------------------


def api_records() -> list[dict[str, Any]]:
    """Records as the API hands them over: gaps, absent fields, unseen levels, wild values."""
    baseline = [n for n in schema.baseline_fields() if n not in ("lvef_pct", "biopsy_site")]
    plain = {k: v for k, v in make_patient().items() if k == "patient_id" or k in baseline}
    sites = schema.MRSS_SITE_FIELDS
    return [
        plain | {"patient_id": "A"},
        plain | {"patient_id": "B", "crp_mg_l": None, "cutaneous_subset": None,
                 "raynaud_duration_months": None},
        plain | {"patient_id": "C", "cell_product": "ad_svf", "crp_mg_l": 290.0},
        {k: v for k, v in plain.items() if k not in ("mrss_total", "esr_mm_h", "nvc_pattern")}
        | {"patient_id": "D"},
        plain | {"patient_id": "E", "nvc_pattern": "normal", "hypocomplementemia": None,
                 "c3_g_l": 0.5, "fibrosis_grade": None},
        {k: v for k, v in plain.items() if k not in sites} | {"patient_id": "F", "sex": "M"},
        plain | {"patient_id": "G", "age_years": "61", "delta_skin": "yes", "scleredema": 1,
                 "prior_immunosuppressants": 3.0, "dermal_thickness_mm": 5.9},
    ]


@pytest.mark.parametrize("case", CASES, ids=["-".join(c) for c in CASES])
@pytest.mark.parametrize("rows", [slice(0, 1), slice(1, 2), slice(0, 7)], ids=["A", "B", "all"])
def test_the_arrays_predict_exactly_what_the_typed_frame_predicts(
    fitted: dict[tuple[str, str], Fitted], case: tuple[str, str], rows: slice,
) -> None:
    model, given = fitted[case].model, api_records()[rows]

    from_arrays = model.predict(validate_record_columns(given))

    assert_identical(model.predict(validate_records(given)), from_arrays)
    assert_same(reference_predict(model, validate_records(given), fitted[case].old_regressor),
                from_arrays)


def test_the_arrays_read_into_the_same_inputs_as_the_frame(
    fitted: dict[tuple[str, str], Fitted],
) -> None:
    compiled = fitted[("logistic_l2", "both")].model._compiled
    given = api_records()

    from_arrays = compiled.inputs(validate_record_columns(given))
    from_frame = compiled.inputs(validate_records(given))

    assert list(from_arrays.index) == list(from_frame.index) == list(range(len(given)))
    np.testing.assert_array_equal(from_arrays.numbers, from_frame.numbers)
    assert_identical(from_frame.texts.tolist(), from_arrays.texts.tolist())  # str, NaN missing
    assert from_arrays.derived.keys() == from_frame.derived.keys()
    for name in from_frame.derived:
        np.testing.assert_array_equal(from_arrays.derived[name], from_frame.derived[name])


def test_shown_values_are_plain_python_as_the_typed_frame_path_showed_them(
    fitted: dict[tuple[str, str], Fitted],
) -> None:
    """Numbers as float (whole numbers and flags too, as read into the model's inputs), levels
    as str, a gap as None: the audit trail stores these values and a replay compares them."""
    model = fitted[("logistic_l2", "both")].model
    given = api_records()[1:3]  # B has gaps, C an unseen level

    explanations = [p["explanation"] for p in model.predict(validate_record_columns(given))]

    gaps, unseen = ({c["feature"]: c["value"] for c in e["contributions"]} for e in explanations)
    shown_gaps = (gaps["cutaneous_subset"], gaps["raynaud_duration_months"], gaps["crp_mg_l"])
    assert shown_gaps == (None, None, None)
    assert unseen["cell_product"] == "ad_svf" and unseen["sex"] == "F"
    assert type(unseen["prior_immunosuppressants"]) is float  # an integer field
    assert unseen["delta_skin"] == 1.0 and type(unseen["delta_skin"]) is float  # a boolean one
    assert type(unseen["crp_mg_l"]) is float and type(unseen["escsg_activity_index"]) is float


@pytest.mark.parametrize("case", [("logistic_l2", "both"), ("delta_mrss_regression", "both"),
                                  ("random_forest", "clinical")], ids="-".join)
def test_no_dataframe_is_built_from_arrays_when_no_estimator_checks_names(
    fitted: dict[tuple[str, str], Fitted], case: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Linear and mRSS-change models, forests and forest members read the matrix; a frame of it
    is ~0.1 ms of a one-patient answer."""
    model = fitted[case].model
    batch = validate_record_columns(api_records()[:3])  # with mrss_total: no site-sum frame
    model.predict(batch)  # compiled parts are built on first use (with frames): not counted
    built: list[int] = []
    real_init = pd.DataFrame.__init__

    def counted(self: pd.DataFrame, *args: Any, **kwargs: Any) -> None:
        built.append(1)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "__init__", counted)
    model.predict(batch)

    assert built == []
