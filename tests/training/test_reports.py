"""Run reports: figures, the feature-importance table and the model card."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from ssc_response.training.model_card import SECTION_HEADINGS, TEAM
from ssc_response.training.plots import lowess, wilson_interval
from ssc_response.training.report_content import (
    IMPORTANCE_COLUMNS,
    DataSource,
    IntervalScheme,
    Metric,
    ModelCard,
    OutcomeDefinition,
    Predictor,
    SampleSizeCheck,
    SubgroupResult,
    ValidationScheme,
    calibration_figure,
    decision_curve_figure,
    feature_importance_table,
    model_card_markdown,
    roc_figure,
    shap_beeswarm_figure,
)

# --- factories ---------------------------------------------------------------------------------


def make_predictions(n: int = 80, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outcome, apparent and noisier out-of-fold probabilities of a weakly informative model."""
    rng = np.random.default_rng(seed)
    p = 1 / (1 + np.exp(-rng.normal(0, 1.2, n)))
    y = (rng.random(n) < p).astype(int)
    y[:2] = [0, 1]  # both classes whatever the seed
    p_oof = np.clip(p + rng.normal(0, 0.15, n), 0.01, 0.99)
    return y, p, p_oof


def make_net_benefit(n: int = 30) -> pd.DataFrame:
    threshold = np.linspace(0.05, 0.8, n)
    prevalence = 0.3
    return pd.DataFrame({
        "threshold": threshold,
        "model": prevalence - 0.2 * threshold,
        "treat_all": prevalence - (1 - prevalence) * threshold / (1 - threshold),
        "treat_none": 0.0,
    })


def make_card(**overrides: object) -> ModelCard:
    card = ModelCard(
        model_name="ssc-skin-response",
        model_version="3",
        run_id="0123abcd",
        created_utc=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        data=DataSource("astana-sim", "sha256:feed", 40, 14, True, "scenario astana, seed 7"),
        outcome=OutcomeDefinition(
            "skin_responder", "mRSS decrease > 5 points and ≥ 25% at 12 ± 2 months",
            {"abs_threshold": 5, "rel_threshold": 0.25},
        ),
        predictors=[Predictor("mrss_total", "Baseline mRSS", "points", 0.0,
                              "regression to the mean [S12]"),
                    Predictor("crp_mg_l", "C-reactive protein", "mg/L", 12.5)],
        model_type="Penalised logistic regression",
        hyperparameters={"C": 0.5},
        validation=ValidationScheme("nested_cv", resamples=10, outer_folds=5, inner_folds=4,
                                    selection_metric="brier", candidates=7,
                                    selection_frequency={"logistic_l2(C=0.1)": 0.7,
                                                         "delta_mrss_regression": 0.3},
                                    recalibration=(0.05, 1.2)),
        intervals=IntervalScheme(0.95, 50, 0.9, 4, 0.727),
        metrics=[Metric("AUROC", 0.812, 0.731, 0.602, 0.845, 0.705),
                 Metric("Brier score", 0.171, 0.198)],
        sample_size=SampleSizeCheck(40, 14, 6, {"(i) shrinkage": 250, "(iii) overall risk": 350}),
        subgroups=[SubgroupResult("sex = F", 36, 13, {"AUROC": 0.8}),
                   SubgroupResult("sex = M", 4, 1)],
    )
    return dataclasses.replace(card, **overrides)  # type: ignore[arg-type]


def legend_texts(fig: Figure, axes_index: int = 0) -> list[str]:
    legend = fig.axes[axes_index].get_legend()
    assert legend is not None
    return [text.get_text() for text in legend.get_texts()]


# --- ROC -----------------------------------------------------------------------------------------


def test_roc_shows_apparent_and_cross_validated_auroc() -> None:
    y, p, p_oof = make_predictions()
    from sklearn.metrics import roc_auc_score

    fig = roc_figure(y, p, p_oof)
    texts = legend_texts(fig)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    assert len(fig.axes[0].get_lines()) == 3  # apparent, cross-validated, chance
    assert f"apparent (optimistic), AUROC = {roc_auc_score(y, p):.3f}" in texts
    assert f"cross-validated, AUROC = {roc_auc_score(y, p_oof):.3f}" in texts


def test_roc_without_out_of_fold_has_one_curve_and_the_diagonal() -> None:
    y, p, _ = make_predictions()
    assert len(roc_figure(y, p).axes[0].get_lines()) == 2


@pytest.mark.parametrize("y", [np.ones(10), np.zeros(10)])
def test_roc_rejects_a_single_outcome_class(y: np.ndarray) -> None:
    with pytest.raises(ValueError, match="needs both outcome classes"):
        roc_figure(y, np.linspace(0.1, 0.9, 10))


def test_roc_rejects_mismatched_or_invalid_predictions() -> None:
    with pytest.raises(ValueError, match="has 3 predictions but y has 4"):
        roc_figure([0, 1, 0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        roc_figure([0, 1], [0.1, np.nan])
    with pytest.raises(ValueError, match="only 0/1"):
        roc_figure([0, 2], [0.1, 0.2])


def test_roc_accepts_a_nullable_boolean_outcome() -> None:
    y = pd.Series([True, False, True, False], dtype="boolean")
    assert "AUROC = 1.000" in legend_texts(roc_figure(y, [0.9, 0.1, 0.8, 0.2]))[0]


# --- calibration -----------------------------------------------------------------------------


def test_calibration_has_curve_bins_histogram_and_annotation() -> None:
    y, _, p_oof = make_predictions()
    fig = calibration_figure(y, p_oof, slope=0.84, intercept=-0.12)
    texts = legend_texts(fig)
    annotations = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert len(fig.axes) == 2  # calibration + prediction histogram
    assert {"ideal", "LOWESS", "quantile bins (95% Wilson CI)"} <= set(texts)
    assert "calibration slope = 0.84" in annotations
    assert "calibration intercept = -0.12" in annotations


def test_calibration_without_slope_has_no_annotation() -> None:
    y, p, _ = make_predictions()
    assert len(calibration_figure(y, p).axes[0].texts) == 0


def test_calibration_handles_a_tiny_sample_with_ties() -> None:
    fig = calibration_figure([0, 1, 1, 0, 1], [0.5, 0.5, 0.5, 0.2, 0.9], n_bins=10)
    assert len(fig.axes) == 2


def test_calibration_rejects_a_single_outcome_class() -> None:
    with pytest.raises(ValueError, match="calibration plot needs both outcome classes"):
        calibration_figure(np.ones(5), np.full(5, 0.5))


def test_wilson_interval_matches_a_hand_computed_value() -> None:
    # 3 of 10, z = 1.96: centre 0.3 + 0.192 / 1.384..., known result 0.1078 to 0.6032.
    low, high = wilson_interval(3, 10)
    assert low == pytest.approx(0.1078, abs=1e-4) and high == pytest.approx(0.6032, abs=1e-4)
    assert wilson_interval(0, 5)[0] == 0.0 and wilson_interval(5, 5)[1] == 1.0


def test_lowess_recovers_a_straight_line() -> None:
    x = np.linspace(0, 1, 50)
    xs, fitted = lowess(x[::-1].copy(), 0.2 + 0.6 * x[::-1])
    np.testing.assert_allclose(xs, x)
    np.testing.assert_allclose(fitted, 0.2 + 0.6 * x, atol=1e-9)


# --- decision curve ------------------------------------------------------------------------------


def test_decision_curve_draws_model_treat_all_and_treat_none() -> None:
    fig = decision_curve_figure(make_net_benefit())
    assert len(fig.axes[0].get_lines()) == 3
    assert legend_texts(fig) == ["model", "treat all", "treat none"]
    assert fig.axes[0].get_ylim()[0] == pytest.approx(-0.05)


def test_decision_curve_names_missing_columns() -> None:
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['treat_none'\]"):
        decision_curve_figure(make_net_benefit().drop(columns="treat_none"))


def test_decision_curve_rejects_an_empty_frame() -> None:
    with pytest.raises(ValueError, match="no rows"):
        decision_curve_figure(make_net_benefit().iloc[:0])


# --- SHAP beeswarm -------------------------------------------------------------------------------


def test_beeswarm_orders_features_by_mean_absolute_shap() -> None:
    rng = np.random.default_rng(1)
    values = pd.DataFrame(rng.normal(size=(30, 3)), columns=["a", "b", "c"])
    shap_values = values.to_numpy() * [0.1, 2.0, -0.5]
    values.iloc[:4, 0] = np.nan  # missing values are drawn grey, not dropped
    fig = shap_beeswarm_figure(shap_values, values, ["Age", "Baseline mRSS", "CRP"])
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks == ["Age", "CRP", "Baseline mRSS"]  # bottom to top: most important on top
    assert len(fig.axes) == 2  # swarm + colour bar
    assert sum(np.shape(c.get_offsets())[0] for c in fig.axes[0].collections) == 90


def test_beeswarm_limits_the_number_of_features() -> None:
    values = pd.DataFrame(np.eye(4), columns=list("abcd"))
    fig = shap_beeswarm_figure(np.eye(4), values, list("ABCD"), max_display=2)
    assert len(fig.axes[0].get_yticklabels()) == 2


def test_beeswarm_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="feature labels"):
        shap_beeswarm_figure(np.zeros((3, 2)), pd.DataFrame(np.zeros((3, 2))), ["only one"])
    with pytest.raises(ValueError, match="match feature_values"):
        shap_beeswarm_figure(np.zeros((3, 2)), pd.DataFrame(np.zeros((3, 3))), ["a", "b"])


def test_figures_never_import_pyplot() -> None:
    # pyplot would pick a GUI backend and keep global figures; a fresh interpreter shows whether
    # drawing every figure pulls it in.
    script = (
        "import sys, numpy as np, pandas as pd\n"
        "from training.report_content import roc_figure, calibration_figure, shap_beeswarm_figure\n"
        "y = np.array([0, 1, 0, 1]); p = np.array([0.2, 0.7, 0.4, 0.6])\n"
        "roc_figure(y, p, p).savefig('/dev/null', format='png')\n"
        "calibration_figure(y, p).savefig('/dev/null', format='png')\n"
        "shap_beeswarm_figure(np.eye(2), pd.DataFrame(np.eye(2)), ['a', 'b'])"
        ".savefig('/dev/null', format='png')\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


# --- feature importance --------------------------------------------------------------------------

FEATURES = ["num__mrss_total", "num__missingindicator_crp_mg_l", "num__crp_mg_l",
            "cat__sex_F", "cat__sex_M"]


def field_of(feature: str) -> str:
    name = feature.split("__", 1)[1].removeprefix("missingindicator_")
    return "sex" if name.startswith("sex_") else name


def test_importance_groups_one_hot_columns_back_to_their_field() -> None:
    shap_values = np.array([[0.5, 0.1, 0.2, 0.3, -0.3],
                            [-1.5, 0.0, -0.2, -0.4, 0.1]])
    table = feature_importance_table(shap_values, FEATURES, field_of, {"sex": "Sex"},
                                     units={"mrss_total": "points"})
    assert list(table.columns) == list(IMPORTANCE_COLUMNS)
    assert list(table["field"]) == ["mrss_total", "crp_mg_l", "sex"]  # sorted, descending
    # sex: rows sum to 0.0 and -0.3 -> mean |.| 0.15; crp: 0.3 and -0.2 -> 0.25.
    np.testing.assert_allclose(table["mean_abs_contribution"], [1.0, 0.25, 0.15])
    assert table.set_index("field").loc["sex", "label"] == "Sex"
    assert table.set_index("field").loc["mrss_total", "unit"] == "points"
    assert table.set_index("field").loc["crp_mg_l", "label"] == "crp_mg_l"  # no label: the name
    assert set(table["direction"]) == {"not computed"}


def test_importance_units_default_to_the_data_dictionary() -> None:
    table = feature_importance_table(np.ones((2, 1)), ["num__age_years"], field_of, {})
    assert table.loc[0, "unit"] == "years"


def test_importance_direction_from_raw_field_values() -> None:
    n = 40
    mrss = np.linspace(10, 40, n)
    sex = pd.Series(["F", "M"] * (n // 2), dtype="string")
    tfr = pd.Series([True, False] * (n // 2), dtype="boolean")
    shap_values = np.column_stack([
        (mrss - 25) / 10, np.zeros(n), np.zeros(n),
        np.where(sex == "F", -0.2, 0.0), np.where(sex == "M", 0.3, 0.0),
    ])
    raw = pd.DataFrame({"mrss_total": mrss, "sex": sex, "crp_mg_l": np.nan, "tfr": tfr})
    table = feature_importance_table(shap_values, FEATURES, field_of, {}, field_values=raw)
    direction = table.set_index("field")["direction"]
    assert direction["mrss_total"] == "higher value → higher prediction"
    assert direction["sex"] == "M → higher prediction than F"
    assert direction["crp_mg_l"] == "undetermined"  # all missing


def test_importance_direction_of_a_boolean_field() -> None:
    tfr = pd.Series([True, False, True, False, pd.NA, True], dtype="boolean")
    shap_values = np.array([[-1.0], [0.5], [-0.8], [0.4], [0.0], [-0.9]])
    table = feature_importance_table(shap_values, ["bool__tfr"], field_of, {},
                                     field_values=pd.DataFrame({"tfr": tfr}))
    assert table.loc[0, "direction"] == "yes → lower prediction"


def test_importance_rejects_a_shape_mismatch() -> None:
    with pytest.raises(ValueError, match=r"shape \(n_patients, 5\)"):
        feature_importance_table(np.zeros((3, 4)), FEATURES, field_of, {})


# --- model card ----------------------------------------------------------------------------------


def test_card_has_every_section() -> None:
    text = model_card_markdown(make_card())
    for heading in SECTION_HEADINGS:
        assert f"\n{heading}\n" in text


def test_card_reports_metrics_with_intervals() -> None:
    text = model_card_markdown(make_card())
    assert "| AUROC | 0.812 | 0.731 | 0.602 to 0.845 | 0.705 |" in text
    assert "| Brier score | 0.171 | 0.198 | — | — |" in text


def test_card_says_what_was_validated_and_how() -> None:
    nested = model_card_markdown(make_card())
    bootstrap = model_card_markdown(make_card(validation=dataclasses.replace(
        make_card().validation, method="bootstrap", resamples=200)))

    assert "**whole procedure**" in nested and "5 outer folds x 10 repeats" in nested
    assert "logistic_l2(C=0.1) 70%" in nested and "logit P = 0.050 + 1.200" in nested
    assert "Harrell's optimism correction" in bootstrap and "200 bootstrap replicates" in bootstrap
    assert "Harrell" not in nested


def test_card_describes_both_intervals_and_the_predictors_rationale() -> None:
    text = model_card_markdown(make_card())

    assert "locally weighted CV+ over 4 folds" in text and "at least 72.7%" in text
    assert "SD of 50 bootstrap refits" in text
    assert "| `mrss_total` | Baseline mRSS | points | regression to the mean [S12] |" in text


def test_card_shows_nan_metrics_as_missing_and_escapes_table_cells() -> None:
    class Nested:
        def __repr__(self) -> str:
            return "Pipeline(steps=[a|b,\n    c])"

    nan = float("nan")
    card = make_card(metrics=[Metric("AUROC", 0.8, nan, 0.6, nan, nan)],
                     hyperparameters={"estimator": Nested()})
    text = model_card_markdown(card)
    assert "| AUROC | 0.800 | — | — | — |" in text
    assert "| `estimator` | `Pipeline(steps=[a\\|b, c])` |" in text


def test_card_warns_when_the_sample_is_too_small() -> None:
    text = model_card_markdown(make_card())
    assert "Warning: sample size insufficient" in text
    assert "fewer than the 350 required by criterion (iii) overall risk" in text


def test_card_without_warning_when_the_sample_is_adequate() -> None:
    adequate = SampleSizeCheck(400, 120, 6, {"(i) shrinkage": 250, "(iii) overall risk": 350})
    text = model_card_markdown(make_card(sample_size=adequate))
    assert "insufficient" not in text and "meets the largest minimum (n ≥ 350)" in text


def test_card_warns_about_simulated_data_only_when_simulated() -> None:
    simulated = model_card_markdown(make_card())
    real_source = DataSource("Astana MSC series", "sha256:beef", 40, 14, False, "2015-2023")
    real = model_card_markdown(make_card(data=real_source))
    assert "Warning: trained on simulated data" in simulated
    assert "Any clinical use: the model was trained on simulated data." in simulated
    assert "simulated" not in real.lower()


def test_card_lists_out_of_scope_uses_and_limitations() -> None:
    text = model_card_markdown(make_card())
    assert "Limited cutaneous SSc" in text
    assert "not a substitute for clinical judgement" in text
    assert "Regression to the mean" in text
    assert "cannot separate treatment effect from natural history" in text


def test_card_reports_subgroups_or_too_few() -> None:
    text = model_card_markdown(make_card())
    assert "| sex = F | 36 | 13 | 0.800 |" in text
    assert "| sex = M | 4 | 1 | too few to estimate |" in text
    assert "too few patients per subgroup" in model_card_markdown(make_card(subgroups=()))


def test_card_checklist_marks_items_for_the_research_team() -> None:
    text = model_card_markdown(make_card())
    assert "| 10 | Sample size | Sample size |" in text
    assert f"| 17 | Ethical approval | *{TEAM}* |" in text


def test_card_reports_provenance_and_missing_data() -> None:
    text = model_card_markdown(make_card())
    assert "2025-01-02 03:04:05 UTC" in text and "`0123abcd`" in text
    assert "`sha256:feed`" in text and "Patients: 40; outcome events: 14" in text
    assert "| `crp_mg_l` | 12.5 |" in text and "Chained-equations imputation" in text
    assert "one 4-fold inner cross-validation, grouped by patient" in text


def test_card_requires_an_aware_creation_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        make_card(created_utc=datetime(2025, 1, 2))


def test_card_states_the_population_instability_and_the_indicator_warning() -> None:
    from ssc_response.training.model_card_contents import missing_data_text

    text = model_card_markdown(make_card(
        population="diffuse SSc; autologous bone-marrow MSC", n_out_of_scope=7,
        instability=(0.031, 0.062),
        missing_data_handling=missing_data_text(True, "One centre, one protocol.", 20, 0.4,
                                                ["mrss_total"])))
    assert "Population (enforced" in text and "diffuse SSc; autologous bone-marrow MSC" in text
    assert "Training set aside 7 rows outside it." in text
    assert "mean 0.031, 90th percentile 0.062" in text
    assert "One centre, one protocol." in text and "assume every centre" in text
    assert "wider than 40 percentage points" in text and "`mrss_total`" in text
