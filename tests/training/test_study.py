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

pytestmark = pytest.mark.model

TINY = ExperimentConfig.model_validate({
    "name": "tiny-study",
    "feature_set": ["mrss_total", "disease_duration_months", "tendon_friction_rubs",
                    "crp_mg_l", "esr_mm_h", "myofibroblast_score"],
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
