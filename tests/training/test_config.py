"""Experiment YAML: clear errors for bad files, shipped files load, a continuous outcome runs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from ssc_response.features.io import write_table
from ssc_response.training.config import (
    ExperimentConfig,
    ExperimentConfigError,
    builtin_experiments,
    experiment_path,
    load_experiment,
)
from ssc_response.training.simulation import simulate_cohort

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def write_experiment(directory: Path, **fields: Any) -> Path:
    """An experiment file with a valid minimum (name, one family), updated by ``fields``."""
    content: dict[str, Any] = {"name": "test", "estimators": {"logistic_l2": {}}} | fields
    path = directory / "experiment.yaml"
    path.write_text(yaml.safe_dump(content), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["default.yaml", "quick.yaml", "flexible.yaml",
                                  "histology_value.yaml", "histology_value_core.yaml"])
def test_shipped_experiments_load(name: str) -> None:
    config = load_experiment(EXPERIMENTS / name)

    assert config.outcome.name == "skin_responder"
    assert config.estimators


def test_flexible_experiment_compares_every_family() -> None:
    from ssc_response.models.estimators import FAMILIES

    assert set(load_experiment(EXPERIMENTS / "flexible.yaml").estimators) == set(FAMILIES)


def test_default_experiment_reads_its_pre_specified_core_with_a_reason_for_each() -> None:
    config = load_experiment(EXPERIMENTS / "default.yaml")

    assert isinstance(config.feature_set, dict) and len(config.feature_set) <= 16
    assert all("[S" in reason or "§" in reason for reason in config.feature_set.values())
    assert not config.features().derived_indices
    assert "escsg_activity_index" not in config.features().numeric


def test_derived_indices_are_read_only_when_asked(tmp_path: Path) -> None:
    asked = load_experiment(write_experiment(tmp_path, feature_set="clinical",
                                             derived_indices=True))
    default = load_experiment(write_experiment(tmp_path, feature_set="clinical"))

    assert "escsg_activity_index" in asked.features().numeric
    assert "escsg_activity_index" not in default.features().numeric


@pytest.mark.parametrize("abs_threshold, rel_threshold", [(3.0, 0.25), (5.0, 0.10), (8.0, 0.4)])
def test_outcome_thresholds_of_the_experiment_reach_the_labels(
        tmp_path: Path, abs_threshold: float, rel_threshold: float) -> None:
    from ssc_response.features.outcomes import skin_responder
    from ssc_response.training.experiment import prepare_cohort

    cohort_frame = simulate_cohort(300, 4)
    eustar = load_experiment(write_experiment(tmp_path))
    changed = load_experiment(write_experiment(
        tmp_path, outcome={"name": "skin_responder", "abs_threshold": abs_threshold,
                           "rel_threshold": rel_threshold}))

    default_y = prepare_cohort(cohort_frame, eustar).y
    cohort = prepare_cohort(cohort_frame, changed)

    expected = skin_responder(cohort.frame["mrss_total"], cohort.frame["mrss_total_followup"],
                              abs_threshold, rel_threshold)
    np.testing.assert_array_equal(cohort.y, expected.to_numpy(dtype=int))
    assert not np.array_equal(cohort.y, default_y)  # the labels did change


def test_mcid_outcome_labels_use_its_threshold(tmp_path: Path) -> None:
    from ssc_response.training.experiment import prepare_cohort

    frame = simulate_cohort(300, 4)
    four = prepare_cohort(frame, load_experiment(write_experiment(
        tmp_path, outcome={"name": "skin_responder_mcid", "abs_threshold": 4.0})))
    seven = prepare_cohort(frame, load_experiment(write_experiment(
        tmp_path, outcome={"name": "skin_responder_mcid", "abs_threshold": 7.0})))

    decrease = -four.delta
    np.testing.assert_array_equal(four.y, decrease >= 4)
    np.testing.assert_array_equal(seven.y, decrease >= 7)


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
        ({"feature_set": {"mrss_total": "ok", "gene_x": "?"}},
         r"not baseline model inputs of the data dictionary: \['gene_x'\]"),
        ({"validation": {"method": "bootstrap"}, "estimators": {"random_forest": {}}},
         r"under-corrects learners that memorise their training data \(random_forest\)"),
        ({"comparison": {"reference": "clinical"}, "validation": {"method": "bootstrap"}},
         r"comparison: feature sets are compared on paired nested cross-validation"),
        ({"outcome": {"name": "delta_mrss"}},
         r"outcome 'delta_mrss' is continuous: only the delta_mrss_regression family"),
        ({"outcome": {"name": "haq_responder"}, "estimators": {"delta_mrss_regression": {}}},
         r"delta_mrss_regression: models the change in mRSS"),
    ],
    ids=["unknown-family", "bad-key", "bad-nested-key", "bad-outcome", "non-list-space",
         "unprefixed-space", "empty-space", "out-of-range", "bad-feature-set",
         "unknown-listed-field", "harrell-for-forests", "comparison-needs-nested-cv",
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
        validation={"cv_splits": 3, "cv_repeats": 1, "inner_splits": 3, "seed": 3},
        uncertainty={"bootstrap_models": 5},
        promotion={"min_auroc_corrected": None, "max_brier_corrected": None,
                   "max_mae_corrected": 20.0},
    )


def test_continuous_outcome_config_loads(tmp_path: Path) -> None:
    config = load_experiment(continuous_experiment(tmp_path))

    assert isinstance(config, ExperimentConfig)
    assert not config.outcome.is_binary


@pytest.mark.slow  # a whole run
def test_continuous_outcome_runs_end_to_end(tmp_mlflow: str, tmp_path: Path) -> None:
    """ΔmRSS experiments log MAE and R2; the binary metrics are against skin_responder."""
    from mlflow.tracking import MlflowClient

    from ssc_response.training.run import run_experiment

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


# --- built-in experiments, by name, from any folder ----------------------------------------------


def test_builtin_experiments_are_listed_by_name() -> None:
    assert {"default", "quick"} <= set(builtin_experiments())


@pytest.mark.parametrize("name", ["default", "quick"])
def test_a_builtin_experiment_loads_by_name_from_any_folder(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # nothing of the repository here

    assert load_experiment(name) == load_experiment(EXPERIMENTS / f"{name}.yaml")


def test_an_unknown_name_lists_the_known_experiments() -> None:
    with pytest.raises(ExperimentConfigError, match="unknown experiment 'defualt'") as raised:
        load_experiment("defualt")

    assert "default" in str(raised.value) and "quick" in str(raised.value)


def test_a_path_still_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mine.yaml").write_text((EXPERIMENTS / "quick.yaml").read_text("utf-8"), "utf-8")
    monkeypatch.chdir(tmp_path)

    assert load_experiment("mine.yaml").name == "ssc-skin-response-quick"
    assert experiment_path("mine.yaml") == Path("mine.yaml")


# --- missing data and intended use (issue 19) ----------------------------------------------------


def test_default_experiment_reads_the_seeds_three_findings_and_the_cell_dose() -> None:
    config = load_experiment("default")
    fields = set(config.features().fields)
    assert {"fibrosis_grade", "microvessel_density_per_mm2", "epidermal_thickness_um",
            "cell_dose_million_per_kg"} <= fields
    assert not config.missing_data.indicators
    assert config.population.cutaneous_subset == ["diffuse"]


@pytest.mark.parametrize(("fields", "expected"), [
    ({"missing_data": {"indicators": True}}, "indicators_reason"),
    ({"missing_data": {"required": ["lvef_pct"]}}, "not fields the model reads"),
    ({"population": {"cutaneous_subset": ["diffuse", "widespread"]}}, "unknown levels"),
    ({"population": {"age_years": [70, 18]}}, "lower end 70"),
    ({"missing_data": {"max_range_width": 0}}, "max_range_width"),
])
def test_missing_data_and_population_problems_are_named(
    tmp_path: Path, fields: dict[str, Any], expected: str,
) -> None:
    path = write_experiment(tmp_path, feature_set=["mrss_total", "sex"], **fields)
    with pytest.raises(ExperimentConfigError, match=expected):
        load_experiment(path)


def test_missing_indicators_are_an_opt_in_with_a_reason(tmp_path: Path) -> None:
    path = write_experiment(tmp_path, feature_set=["mrss_total", "crp_mg_l"],
                            missing_data={"indicators": True,
                                          "indicators_reason": "same centre, same habits."})
    assert load_experiment(path).features().missing_indicators


def test_training_sets_aside_rows_outside_the_population() -> None:
    from ssc_response.training.experiment import prepare_cohort

    frame = simulate_cohort(60, 5)
    frame.loc[:4, "cutaneous_subset"] = "limited"
    frame.loc[5:6, "cell_product"] = "ad_svf"
    cohort = prepare_cohort(frame, load_experiment("quick"))
    assert cohort.n_out_of_scope == 7
    assert len(cohort.frame) + cohort.n_excluded == 53
