"""Tests for models.explain: additivity per estimator type, grouping, values, ordering."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsRegressor
from sklearn.tree import DecisionTreeClassifier

from ssc_response.models.explain import Contribution, Explanation, GroupedExplainer

CATEGORICAL = ("sex", "nvc_pattern")
UNITS = {
    "age_years": "years",
    "sex": "",
    "nvc_pattern": "",
    "crp_mg_l": "mg/L",
    "mrss_total": "points",
    "escsg_activity_index": "points",
}  # disease_duration_months deliberately has no unit here


def field_of(feature: str) -> str:
    """Test stand-in for the lead's pipeline-derived mapping."""
    if feature.startswith("missingindicator_"):
        return feature.removeprefix("missingindicator_")
    return next((f for f in CATEGORICAL if feature.startswith(f + "_")), feature)


def make_raw(n: int, seed: int) -> pd.DataFrame:
    """Validated-looking input rows with the pandas dtypes of ``validate_frame``."""
    rng = np.random.default_rng(seed)
    crp = rng.lognormal(1.0, 0.8, n)
    crp[rng.random(n) < 0.2] = np.nan
    nvc = pd.array(rng.choice(["early", "active", "late"], n), dtype="string")
    nvc[rng.random(n) < 0.1] = pd.NA
    return pd.DataFrame(
        {
            "age_years": rng.normal(45, 10, n).round(1),
            "sex": pd.array(rng.choice(["F", "M"], n, p=[0.8, 0.2]), dtype="string"),
            "disease_duration_months": rng.integers(3, 60, n).astype(float),
            "nvc_pattern": nvc,
            "crp_mg_l": crp,
            "mrss_total": pd.array(rng.integers(15, 45, n), dtype="Int64"),
            "escsg_activity_index": rng.uniform(0, 8, n).round(1),
        }
    )


def transform(raw: pd.DataFrame) -> pd.DataFrame:
    """A hand-written preprocessor: one-hot, median imputation plus a missing indicator."""
    out = pd.DataFrame(index=raw.index)
    out["age_years"] = raw["age_years"]
    for level in ("F", "M"):
        out[f"sex_{level}"] = (raw["sex"] == level).astype(float)
    for level in ("active", "early", "late"):
        out[f"nvc_pattern_{level}"] = (raw["nvc_pattern"] == level).fillna(False).astype(float)
    out["disease_duration_months"] = raw["disease_duration_months"]
    out["crp_mg_l"] = raw["crp_mg_l"].fillna(3.0)
    out["missingindicator_crp_mg_l"] = raw["crp_mg_l"].isna().astype(float)
    out["mrss_total"] = raw["mrss_total"].astype(float)
    out["escsg_activity_index"] = raw["escsg_activity_index"]
    return out


def delta_mrss(x: pd.DataFrame, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    signal = -0.35 * x["mrss_total"] - 1.5 * x["escsg_activity_index"] + 2 * x["sex_M"]
    return (signal + 0.1 * x["crp_mg_l"] + 8 + rng.normal(0, 3, len(x))).to_numpy()


class DeltaThresholdClassifier(ClassifierMixin, BaseEstimator):
    """Like the lead's DeltaMrssClassifier: P(response) from a regression of the change in mRSS."""

    def __init__(self, threshold: float = -5.0) -> None:
        self.threshold = threshold

    def fit(self, x: pd.DataFrame, delta: np.ndarray) -> DeltaThresholdClassifier:
        self.regressor_ = Ridge().fit(x, delta)
        self.scale_ = float(np.std(delta - self.regressor_.predict(x)))
        self.classes_ = np.array([False, True])
        return self

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        p = expit((self.threshold - self.regressor_.predict(x)) / self.scale_)
        return np.column_stack([1 - p, p])


RAW = make_raw(240, seed=1)
X = transform(RAW)
DELTA = delta_mrss(X, seed=2)
RESPONDER = DELTA <= -5

CLASSIFIERS: dict[str, Callable[[], Any]] = {
    "logistic_l2": lambda: LogisticRegression(max_iter=5000),
    "logistic_l1": lambda: LogisticRegression(l1_ratio=1.0, solver="saga", C=0.5, max_iter=20000),
    "logistic_enet": lambda: LogisticRegression(l1_ratio=0.5, solver="saga", max_iter=20000),
    "logistic_none": lambda: LogisticRegression(C=np.inf, max_iter=5000),
    "random_forest": lambda: RandomForestClassifier(n_estimators=50, random_state=0),
    "gradient_boosting": lambda: GradientBoostingClassifier(n_estimators=50, random_state=0),
    "hist_gradient_boosting": lambda: HistGradientBoostingClassifier(max_iter=50, random_state=0),
}
# A regressor of ΔmRSS has no structured method: it is explained by the fallback, in points.
REGRESSORS: dict[str, Callable[[], Any]] = {
    "knn_reg_fallback": lambda: KNeighborsRegressor(n_neighbors=10),
}
EXPECTED_SPACE = {
    "logistic_l2": "logit",
    "logistic_l1": "logit",
    "logistic_enet": "logit",
    "logistic_none": "logit",
    "random_forest": "probability",
    "gradient_boosting": "logit",
    "hist_gradient_boosting": "logit",
    "delta_classifier_fallback": "probability",
    **{name: "delta_mrss" for name in REGRESSORS},
}


def fit(name: str) -> Any:
    if name == "delta_classifier_fallback":
        return DeltaThresholdClassifier().fit(X, DELTA)
    if name in CLASSIFIERS:
        return CLASSIFIERS[name]().fit(X, RESPONDER)
    return REGRESSORS[name]().fit(X, DELTA)


def model_output(estimator: Any, space: str, x: pd.DataFrame) -> np.ndarray:
    if space == "delta_mrss":
        return np.asarray(estimator.predict(x), dtype=float)
    proba = estimator.predict_proba(x)[:, 1]
    return logit(proba) if space == "logit" else proba


@pytest.fixture(scope="module", params=sorted(EXPECTED_SPACE))
def fitted(request: pytest.FixtureRequest) -> tuple[str, Any, GroupedExplainer]:
    estimator = fit(request.param)
    return request.param, estimator, GroupedExplainer(estimator, X, field_of, UNITS)


NEW_RAW = make_raw(30, seed=7)
NEW_X = transform(NEW_RAW)


def test_output_space_depends_on_estimator_type(fitted: tuple[str, Any, GroupedExplainer]) -> None:
    name, _, explainer = fitted
    assert explainer.output_space == EXPECTED_SPACE[name]


def test_output_value_is_the_model_output(fitted: tuple[str, Any, GroupedExplainer]) -> None:
    _, estimator, explainer = fitted
    explanations = explainer.explain(NEW_X, NEW_RAW)
    outputs = [e.output_value for e in explanations]
    expected = model_output(estimator, explainer.output_space, NEW_X)
    np.testing.assert_allclose(outputs, expected, rtol=0, atol=1e-6)


def test_base_plus_contributions_is_the_output(fitted: tuple[str, Any, GroupedExplainer]) -> None:
    _, _, explainer = fitted
    for e in explainer.explain(NEW_X, NEW_RAW):
        total = e.base_value + sum(c.contribution for c in e.contributions)
        assert total == pytest.approx(e.output_value, abs=1e-9)


def test_contributions_sorted_by_absolute_size(fitted: tuple[str, Any, GroupedExplainer]) -> None:
    _, _, explainer = fitted
    for e in explainer.explain(NEW_X, NEW_RAW):
        sizes = [abs(c.contribution) for c in e.contributions]
        assert sizes == sorted(sizes, reverse=True)


def test_grouped_values_sum_model_features(fitted: tuple[str, Any, GroupedExplainer]) -> None:
    _, _, explainer = fitted
    base, values = explainer.shap_values(NEW_X)
    grouped = explainer.grouped_shap_values(NEW_X)
    per_feature = pd.DataFrame(values, columns=NEW_X.columns, index=NEW_X.index)
    assert list(grouped.columns) == list(dict.fromkeys(field_of(c) for c in NEW_X.columns))
    np.testing.assert_allclose(grouped["sex"], per_feature["sex_F"] + per_feature["sex_M"])
    crp = per_feature["crp_mg_l"] + per_feature["missingindicator_crp_mg_l"]
    np.testing.assert_allclose(grouped["crp_mg_l"], crp)
    np.testing.assert_allclose(grouped.sum(axis=1), values.sum(axis=1))
    assert isinstance(base, float)


def test_one_line_per_input_field() -> None:
    explainer = GroupedExplainer(fit("logistic_l2"), X, field_of, UNITS)
    (explanation,) = explainer.explain(NEW_X.iloc[:1], NEW_RAW.iloc[:1])
    names = [c.feature for c in explanation.contributions]
    assert sorted(names) == sorted(set(field_of(c) for c in X.columns))


def test_linear_contributions_are_coef_times_centred_value() -> None:
    model = fit("logistic_l2")
    explainer = GroupedExplainer(model, X, field_of, UNITS)
    base, values = explainer.shap_values(NEW_X)
    mean = X.mean().to_numpy()
    np.testing.assert_allclose(values, (NEW_X.to_numpy() - mean) * model.coef_[0])
    assert base == pytest.approx(model.intercept_[0] + model.coef_[0] @ mean)


def test_values_and_units_come_from_raw_input() -> None:
    raw = NEW_RAW.iloc[:3].copy()
    raw.loc[raw.index[0], "crp_mg_l"] = np.nan
    raw.loc[raw.index[1], "nvc_pattern"] = pd.NA
    raw.loc[raw.index[2], "sex"] = "M"
    explainer = GroupedExplainer(fit("logistic_l2"), X, field_of, UNITS)
    rows = [{c.feature: c for c in e.contributions} for e in explainer.explain(transform(raw), raw)]
    assert rows[0]["crp_mg_l"].value is None
    assert rows[1]["nvc_pattern"].value is None
    assert rows[2]["sex"].value == "M"
    assert rows[2]["age_years"].value == raw["age_years"].iloc[2]
    assert rows[2]["mrss_total"].value == int(raw["mrss_total"].iloc[2])
    assert rows[2]["crp_mg_l"].unit == "mg/L"
    assert rows[2]["escsg_activity_index"].unit == "points"
    assert rows[2]["disease_duration_months"].unit == ""  # not in UNITS


def test_field_absent_from_raw_shows_none() -> None:
    explainer = GroupedExplainer(fit("logistic_l2"), X, field_of, UNITS)
    raw = NEW_RAW.drop(columns="escsg_activity_index")
    for e in explainer.explain(NEW_X, raw):
        assert {c.feature: c.value for c in e.contributions}["escsg_activity_index"] is None


def test_to_dict_is_json_ready() -> None:
    explainer = GroupedExplainer(fit("random_forest"), X, field_of, UNITS)
    explanation = explainer.explain(NEW_X.iloc[:1], NEW_RAW.iloc[:1])[0]
    payload = json.loads(json.dumps(explanation.to_dict()))
    assert payload["output_space"] == "probability"
    assert set(payload["contributions"][0]) == {"feature", "value", "unit", "contribution"}
    assert isinstance(explanation, Explanation)
    assert isinstance(explanation.contributions[0], Contribution)


@pytest.mark.parametrize(
    "name", ["logistic_l2", "random_forest", "hist_gradient_boosting", "knn_reg_fallback"]
)
def test_single_row_matches_batch(name: str) -> None:
    explainer = GroupedExplainer(fit(name), X, field_of, UNITS)
    batch = explainer.explain(NEW_X, NEW_RAW)
    single = explainer.explain(NEW_X.iloc[[4]], NEW_RAW.iloc[[4]])[0]
    assert single.output_value == pytest.approx(batch[4].output_value, abs=1e-12)
    assert [c.feature for c in single.contributions] == [c.feature for c in batch[4].contributions]


def test_fallback_is_deterministic() -> None:
    model = fit("delta_classifier_fallback")
    explainer = GroupedExplainer(model, X, field_of, UNITS, seed=3)
    first, again = explainer.shap_values(NEW_X), explainer.shap_values(NEW_X)
    rebuilt = GroupedExplainer(model, X, field_of, UNITS, seed=3).shap_values(NEW_X)
    np.testing.assert_array_equal(first[1], again[1])
    np.testing.assert_array_equal(first[1], rebuilt[1])


class WrappedRidge(BaseEstimator):
    """A linear model the explainer does not recognise, to check the fallback against theory."""

    def fit(self, x: pd.DataFrame, y: np.ndarray) -> WrappedRidge:
        self.ridge_ = Ridge().fit(x, y)
        return self

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.ridge_.predict(x))


def test_fallback_recovers_exact_shap_of_a_linear_model() -> None:
    model = WrappedRidge().fit(X, DELTA)
    background = X.iloc[:40]  # below the fallback's sample size, so all of it is used
    base, values = GroupedExplainer(model, background, field_of, UNITS).shap_values(NEW_X)
    expected = (NEW_X - background.mean()).to_numpy() * model.ridge_.coef_
    np.testing.assert_allclose(values, expected, atol=1e-9)
    assert base == pytest.approx(model.predict(background).mean())


def test_direction_follows_the_model() -> None:
    """A higher baseline mRSS lowers ΔmRSS (more improvement) in the simulated truth, so it
    raises the log-odds of response."""
    explainer = GroupedExplainer(fit("logistic_l2"), X, field_of, UNITS)
    grouped = explainer.grouped_shap_values(NEW_X)
    high = NEW_X["mrss_total"] > X["mrss_total"].mean()
    assert (grouped.loc[high, "mrss_total"] > 0).all()


def test_rejects_columns_in_a_different_order() -> None:
    explainer = GroupedExplainer(fit("logistic_l2"), X, field_of, UNITS)
    with pytest.raises(ValueError, match="Expected model features"):
        explainer.explain(NEW_X[NEW_X.columns[::-1]], NEW_RAW)


def test_rejects_raw_of_another_length() -> None:
    explainer = GroupedExplainer(fit("logistic_l2"), X, field_of, UNITS)
    with pytest.raises(ValueError, match="rows"):
        explainer.explain(NEW_X, NEW_RAW.iloc[:2])


def test_rejects_multiclass_classifier() -> None:
    labels = np.digitize(DELTA, [-10, -5])
    model = DecisionTreeClassifier(max_depth=2).fit(X, labels)
    with pytest.raises(ValueError, match="binary"):
        GroupedExplainer(model, X, field_of, UNITS)


def test_rejects_estimator_without_predictions() -> None:
    with pytest.raises(TypeError, match="no predict_proba or predict"):
        GroupedExplainer(object(), X, field_of, UNITS)


def test_project_delta_classifier_is_explained_exactly_in_logit_space() -> None:
    """DeltaMrssClassifier's logit is additive per feature, so its SHAP values are exact."""
    from ssc_response.models.delta import DeltaMrssClassifier

    model = DeltaMrssClassifier().fit(X, DELTA)
    explanations = GroupedExplainer(model, X, field_of, UNITS).explain(NEW_X, NEW_RAW)
    outputs = [e.output_value for e in explanations]
    assert explanations[0].output_space == "logit"
    np.testing.assert_allclose(outputs, logit(model.predict_proba(NEW_X)[:, 1]), atol=1e-9)


def test_fallback_explains_any_probabilistic_classifier_additively() -> None:
    """An estimator without a known structure goes through permutation SHAP (probability)."""
    from sklearn.neighbors import KNeighborsClassifier

    model = KNeighborsClassifier(n_neighbors=15).fit(X, RESPONDER)
    explanations = GroupedExplainer(model, X, field_of, UNITS).explain(NEW_X.head(3),
                                                                       NEW_RAW.head(3))
    outputs = [e.output_value for e in explanations]
    assert explanations[0].output_space == "probability"
    np.testing.assert_allclose(outputs, model.predict_proba(NEW_X.head(3))[:, 1], atol=1e-9)


def test_tree_model_with_native_missing_values_stays_additive() -> None:
    x = X.copy()
    x.loc[x["missingindicator_crp_mg_l"] == 1, "crp_mg_l"] = np.nan  # no imputation for HGB
    model = HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(x, RESPONDER)
    new = NEW_X.copy()
    new.loc[new["missingindicator_crp_mg_l"] == 1, "crp_mg_l"] = np.nan
    explanations = GroupedExplainer(model, x, field_of, UNITS).explain(new, NEW_RAW)
    outputs = [e.output_value for e in explanations]
    np.testing.assert_allclose(outputs, logit(model.predict_proba(new)[:, 1]), atol=1e-6)


def test_rejects_linear_model_of_another_width() -> None:
    model = LogisticRegression(max_iter=5000).fit(X.iloc[:, 1:], RESPONDER)
    with pytest.raises(ValueError, match="one coefficient per model feature"):
        GroupedExplainer(model, X, field_of, UNITS)


# --- a bare matrix in place of the feature frame --------------------------------------------


def identical(got: Any, expected: Any) -> bool:
    """Equal, and of the very same types all the way down."""
    if type(got) is not type(expected):
        return False
    if isinstance(expected, dict):
        return list(got) == list(expected) and all(identical(got[k], v)
                                                    for k, v in expected.items())
    if isinstance(expected, list):
        return len(got) == len(expected) and all(map(identical, got, expected))
    return bool(got == expected)


def test_a_matrix_explains_as_the_frame_does(fitted: tuple[str, Any, GroupedExplainer]) -> None:
    _, _, explainer = fitted
    raw = NEW_RAW.astype({"mrss_total": float})

    from_frames = [e.to_dict() for e in explainer.explain(NEW_X, raw)]

    assert identical(explainer.explain_dicts(NEW_X.to_numpy(), raw), from_frames)
    assert identical(explainer.explain_dicts(NEW_X, raw), from_frames)
    assert identical([e.to_dict() for e in explainer.explain(NEW_X.to_numpy(), raw)],
                     from_frames)


def test_every_kind_of_gap_shows_as_none() -> None:
    explainer = GroupedExplainer(fit("logistic_l2"), X, field_of, UNITS)
    raw = NEW_RAW.iloc[:4].astype({"mrss_total": float, "nvc_pattern": object})
    raw["nvc_pattern"] = ["early", None, np.nan, pd.NA]
    raw["crp_mg_l"] = [1.5, np.nan, 2.0, np.nan]
    raw = raw.drop(columns="escsg_activity_index")  # a field not given at all

    shown = [{c["feature"]: c["value"] for c in e["contributions"]}
             for e in explainer.explain_dicts(NEW_X.iloc[:4].to_numpy(), raw)]

    assert [row["nvc_pattern"] for row in shown] == ["early", None, None, None]
    assert [row["crp_mg_l"] for row in shown] == [1.5, None, 2.0, None]
    assert [row["escsg_activity_index"] for row in shown] == [None] * 4
    assert all(type(row["age_years"]) is float for row in shown)


def test_a_matrix_of_another_width_is_refused() -> None:
    explainer = GroupedExplainer(fit("logistic_l2"), X, field_of, UNITS)
    with pytest.raises(ValueError, match="model features"):
        explainer.explain(NEW_X.to_numpy()[:, 1:], NEW_RAW)


def test_raw_values_of_another_length_are_refused() -> None:
    explainer = GroupedExplainer(fit("logistic_l2"), X, field_of, UNITS)
    with pytest.raises(ValueError, match="rows"):
        explainer.explain_dicts(NEW_X.to_numpy(), NEW_RAW.iloc[:2])
