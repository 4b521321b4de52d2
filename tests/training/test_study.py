"""The simulation study: every reported number beside the truth of a fresh cohort."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from ssc_response.training.config import ExperimentConfig
from ssc_response.training.study import (
    COVERAGE_LEVEL,
    fresh_cohort,
    study_one,
    summarise,
    summary_markdown,
)
from ssc_response.training.study_missing import range_coverage

pytestmark = pytest.mark.model

TINY_FIELDS = ["mrss_total", "disease_duration_months", "tendon_friction_rubs", "crp_mg_l",
               "esr_mm_h", "myofibroblast_score"]
TINY = ExperimentConfig.model_validate({
    "name": "tiny-study",
    "feature_set": TINY_FIELDS,
    "estimators": {"logistic_l2": {"estimator__C": [1.0]},
                   "delta_mrss_regression": {"estimator__alpha": [10.0]}},
    "validation": {"cv_splits": 3, "cv_repeats": 1, "inner_splits": 3, "n_jobs": 1, "seed": 2},
    "uncertainty": {"bootstrap_models": 5},
})


@pytest.fixture(scope="module")
def fresh():  # noqa: ANN201 - training.study.FreshCohort
    return fresh_cohort(TINY, "founding_centre", 3000)


def test_fresh_cohort_carries_the_true_probability_of_each_patient(fresh) -> None:  # noqa: ANN001
    assert len(fresh.true_probability) == len(fresh.y) == len(fresh.X)
    assert 0 <= fresh.true_probability.min() and fresh.true_probability.max() <= 1
    # The truth explains the observed outcomes: responders had higher true probabilities.
    assert fresh.true_probability[fresh.y == 1].mean() > fresh.true_probability[fresh.y == 0].mean()


def test_one_cohort_reports_numbers_beside_their_external_truth(fresh) -> None:  # noqa: ANN001
    row = study_one(TINY, "founding_centre", 80, 1, fresh)

    assert row["status"] == "ok"
    for name in ("auroc", "brier", "calibration_slope"):
        assert np.isfinite(row[f"reported_{name}"]) and np.isfinite(row[f"external_{name}"])
    for name in ("probability_coverage", "delta_coverage"):
        assert 0.0 <= row[name] <= 1.0
    assert isinstance(row["promoted"], bool)


def test_missing_range_coverage_counts_only_patients_with_a_range() -> None:
    """Hand-computed: patient 1's 0.5 lies in [0.4, 0.6]; patient 2's 0.2 is below [0.3, 0.5];
    patient 3's 0.9 is on the upper bound of [0.1, 0.9] (bounds inclusive); patient 4 has no
    blank field, so no range, and does not count. Coverage 2/3; widths 0.2, 0.2, 0.8: median
    0.2; three patients."""
    result = range_coverage(np.array([0.5, 0.2, 0.9, 0.4]),
                            np.array([0.4, 0.3, 0.1, np.nan]),
                            np.array([0.6, 0.5, 0.9, np.nan]),
                            np.array([True, True, True, False]))

    assert result["missing_range_coverage"] == pytest.approx(2 / 3, abs=1e-12)
    assert result["missing_range_width_median"] == pytest.approx(0.2, abs=1e-12)
    assert result["missing_range_patients"] == 3
    nobody = range_coverage(np.array([0.5]), np.array([np.nan]), np.array([np.nan]),
                            np.array([False]))
    assert nobody["missing_range_patients"] == 0 and np.isnan(nobody["missing_range_coverage"])


def test_missing_range_is_checked_on_every_fresh_patient_with_a_blank_model_field(
        fresh) -> None:  # noqa: ANN001
    row = study_one(TINY, "founding_centre", 80, 1, fresh)

    # Counted independently: fresh patients with a blank in a field the experiment reads.
    blank = fresh.X[TINY_FIELDS].isna().any(axis=1)
    assert 0 < row["missing_range_patients"] == int(blank.sum()) < len(fresh.X)
    assert 0.0 <= row["missing_range_coverage"] <= 1.0
    assert 0.0 < row["missing_range_width_median"] < 1.0
    # The truth behind the blanks is the fresh cohort itself wherever it is recorded.
    recorded = fresh.X[TINY_FIELDS].notna()
    for name in TINY_FIELDS:
        kept = recorded[name].to_numpy()
        assert np.allclose(fresh.X_complete[name][kept].astype(float),
                           fresh.X[name][kept].astype(float), atol=1e-12), name
    assert not fresh.X_complete[TINY_FIELDS].isna().any().any()


def test_summary_has_one_row_per_scenario_and_size(fresh) -> None:  # noqa: ANN001
    results = pd.DataFrame([study_one(TINY, "founding_centre", n, seed, fresh)
                            for n in (60, 90) for seed in (1, 2)])

    summary = summarise(results)

    assert summary[["scenario", "n", "cohorts"]].values.tolist() == [
        ["founding_centre", 60, 2], ["founding_centre", 90, 2]]
    expected = np.mean(np.abs(results.loc[results["n"] == 60, "reported_auroc"]
                              - results.loc[results["n"] == 60, "external_auroc"]))
    assert summary.loc[0, "auroc_mean_abs_error"] == pytest.approx(expected)
    slope = results.loc[results["n"] == 90, "external_calibration_slope"]
    assert summary.loc[1, "external_slope_median"] == pytest.approx(np.median(slope))
    assert f"{COVERAGE_LEVEL:.0%} interval coverage" in summary_markdown(summary)


def test_cohorts_without_both_classes_are_skipped_not_fatal(fresh) -> None:  # noqa: ANN001
    nobody = ExperimentConfig.model_validate(
        TINY.model_dump() | {"outcome": {"name": "skin_responder", "abs_threshold": 45.0}})

    row = study_one(nobody, "founding_centre", 30, 1, fresh)

    assert str(row["status"]).startswith("skipped: outcome 'skin_responder' has a single class")


@pytest.mark.slow
def test_study_command_runs_end_to_end(tmp_mlflow: str, tmp_path: Path) -> None:
    """What CI runs: two sizes, three seeds, the quick experiment; tables, plots, MLflow run."""
    from mlflow.tracking import MlflowClient

    from ssc_response.cli.main import build_app

    output = tmp_path / "study"
    result = CliRunner().invoke(build_app(), [
        "study", "--n", "60,120", "--seeds", "3", "--experiment", "quick", "--fresh", "3000",
        "--output", str(output)])

    assert result.exit_code == 0, result.output
    results = pd.read_csv(output / "results.csv")
    assert len(results) == 6 and set(results["n"]) == {60, 120}
    assert (output / "summary.md").read_text(encoding="utf-8").startswith("| scenario")
    assert (output / "study_founding_centre.png").stat().st_size > 10_000
    runs = MlflowClient().search_runs(
        [MlflowClient().get_experiment_by_name("ssc-response-study").experiment_id])
    assert runs and "probability_coverage_founding_centre_n60" in runs[0].data.metrics
