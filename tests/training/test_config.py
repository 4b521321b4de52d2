"""Experiment YAML: clear errors for bad files, shipped files load, a continuous outcome runs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from features.io import write_table
from training.config import ExperimentConfig, ExperimentConfigError, load_experiment
from training.simulation import simulate_cohort

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def write_experiment(directory: Path, **fields: Any) -> Path:
    """An experiment file with a valid minimum (name, one family), updated by ``fields``."""
    content: dict[str, Any] = {"name": "test", "estimators": {"logistic_l2": {}}} | fields
    path = directory / "experiment.yaml"
    path.write_text(yaml.safe_dump(content), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["default.yaml", "quick.yaml"])
def test_shipped_experiments_load(name: str) -> None:
    config = load_experiment(EXPERIMENTS / name)

    assert config.outcome.name == "skin_responder"
    assert config.estimators


def test_default_experiment_compares_every_family() -> None:
    from models.estimators import FAMILIES

    assert set(load_experiment(EXPERIMENTS / "default.yaml").estimators) == set(FAMILIES)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"estimators": {"svm": {}}},
         r"estimators: .*unknown estimator families \['svm'\]; known: logistic_l1, logistic_l2"),
        ({"validaton": {"bootstrap": 10}}, r"validaton: Extra inputs are not permitted"),
        ({"validation": {"bootstrapp": 10}}, r"validation\.bootstrapp: Extra inputs"),
        ({"outcome": {"name": "mrss"}},
         r"outcome\.name: .*unknown outcome 'mrss'; choose one of skin_responder"),
        ({"estimators": {"logistic_l2": {"estimator__C": 0.1}}},
         r"estimators\.logistic_l2\.estimator__C: Input should be a valid list"),
        ({"estimators": {"logistic_l2": {"C": [0.1]}}},
         r"logistic_l2\.C: search-space keys start with 'estimator__'"),
        ({"estimators": {"logistic_l2": {"estimator__C": []}}}, r"at least one candidate"),
        ({"validation": {"cv_splits": 1}}, r"validation\.cv_splits: .*greater than or equal to 2"),
        ({"feature_set": "genes"}, r"unknown feature_set 'genes'"),
        ({"outcome": {"name": "delta_mrss"}},
         r"outcome 'delta_mrss' is continuous: only the delta_mrss_regression family"),
        ({"outcome": {"name": "haq_responder"}, "estimators": {"delta_mrss_regression": {}}},
         r"delta_mrss_regression: models the change in mRSS"),
    ],
    ids=["unknown-family", "bad-key", "bad-nested-key", "bad-outcome", "non-list-space",
         "unprefixed-space", "empty-space", "out-of-range", "bad-feature-set",
         "continuous-with-classifier", "delta-model-for-non-skin-outcome"],
)
def test_invalid_experiment_names_the_problem(tmp_path: Path, fields: dict[str, Any],
                                              message: str) -> None:
    path = write_experiment(tmp_path, **fields)

    with pytest.raises(ExperimentConfigError, match=message) as error:
        load_experiment(path)

    assert str(error.value).startswith(str(path))  # every error says which file


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    path = write_experiment(tmp_path, validaton={}, outcome={"name": "mrss"})

    with pytest.raises(ExperimentConfigError, match="validaton") as error:
        load_experiment(path)

    assert "unknown outcome 'mrss'" in str(error.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ExperimentConfigError, match="nope.yaml: experiment file not found"):
        load_experiment(tmp_path / "nope.yaml")


def test_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n", encoding="utf-8")

    with pytest.raises(ExperimentConfigError, match="broken.yaml: not valid YAML"):
        load_experiment(path)


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n", encoding="utf-8")

    with pytest.raises(ExperimentConfigError, match="expected a mapping at the top level"):
        load_experiment(path)


def test_empty_search_space_may_be_left_blank(tmp_path: Path) -> None:
    path = tmp_path / "blank.yaml"
    path.write_text("name: blank\nestimators:\n  delta_mrss_regression:\n", encoding="utf-8")

    assert load_experiment(path).estimators == {"delta_mrss_regression": {}}


def test_config_is_frozen() -> None:
    config = load_experiment(EXPERIMENTS / "quick.yaml")

    with pytest.raises(ValueError, match="frozen"):
        config.name = "changed"  # type: ignore[misc]


def continuous_experiment(directory: Path) -> Path:
    return write_experiment(
        directory,
        name="continuous",
        outcome={"name": "delta_mrss"},
        estimators={"delta_mrss_regression": {}},
        validation={"selection_metric": "mae", "cv_splits": 3, "cv_repeats": 1,
                    "bootstrap": 10, "seed": 3},
        uncertainty={"bootstrap_models": 5},
        promotion={"min_auroc_corrected": None, "max_brier_corrected": None,
                   "max_mae_corrected": 20.0},
    )


def test_continuous_outcome_config_loads(tmp_path: Path) -> None:
    config = load_experiment(continuous_experiment(tmp_path))

    assert isinstance(config, ExperimentConfig)
    assert not config.outcome.is_binary


def test_continuous_outcome_runs_end_to_end(tmp_mlflow: str, tmp_path: Path) -> None:
    """ΔmRSS experiments log MAE and R2; the binary metrics are against skin_responder."""
    from mlflow.tracking import MlflowClient

    from training.run import run_experiment

    data = tmp_path / "cohort.csv"
    write_table(simulate_cohort(100, 5), data)

    summary = run_experiment(continuous_experiment(tmp_path), data)

    metrics = MlflowClient().get_run(summary.run_id).data.metrics
    for name in ("mae_corrected", "r2_corrected", "auroc_corrected", "brier_corrected"):
        assert math.isfinite(metrics[name]), name
    assert 0 < metrics["mae_corrected"] < 20
    assert summary.registration.promoted
    assert MlflowClient().get_run(summary.run_id).data.params["outcome.name"] == "delta_mrss"
    # Riley et al. Part I (continuous outcome), not the binary criteria on skin response.
    table = MlflowClient().download_artifacts(summary.run_id, "tables/sample_size.csv")
    assert "residual_sd" in Path(table).read_text(encoding="utf-8")
