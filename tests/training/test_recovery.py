"""Does a tracked run recover the simulator's truth? Drivers and honest AUROC.

One run of a small experiment (L2 logistic regression against the ΔmRSS model, 20 bootstrap
replicates) on 350 simulated patients, compared with what the generator knows:

(a) Drivers. ``true_drivers()`` ranks the inputs of the *mean change in mRSS*. The ΔmRSS model's
    exact (linear) SHAP values must put at least 4 of the top-5 drivers among its 10 most
    important fields. The run's importance table explains P(response) instead, where baseline
    mRSS both raises the expected improvement (regression to the mean) and raises the
    improvement required (>= 25 % of baseline), so its effect largely cancels and it ranks low
    by design; for that table: its most important field is a true driver, and at least 3 of
    the 7 strongest drivers are among its top 10. Chance alone would put ~1 of them there.
    Observed while choosing these criteria (n = 300-400): the ΔmRSS model had exactly 4 of 5 in
    each of 6 seeds (``fibrosis_grade``, a coarse 3-level grade 19 % missing whose effect enters
    only through its difference with the myofibroblast score, never reached the top 10); over 10
    seeds the table had 3-6 of the 7, and its top field was always a true driver.
(b) Honest AUROC. The reported ``auroc_corrected`` must be within 0.05 of the AUROC of the
    registered model on 20,000 fresh patients from the same generator (another seed). Observed
    over the same seeds: within 0.035 (Harrell's bootstrap, reported for these smooth models).
    For learners that memorise their training data Harrell's correction failed badly (random
    forest: 0.92-0.93 reported against 0.74-0.76 fresh, seeds 201-204), which is why the runner
    reports their nested cross-validation instead (``training.headline``). The last test checks
    that on a random-forest-only experiment (seed 202; over seeds 201-204 the reported value
    minus the fresh-cohort AUROC was -0.047, +0.021, +0.007 and -0.028, slightly pessimistic as
    models trained on 4/5 of the patients should be).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from features.io import write_table
from features.pipeline import field_units
from models.bundle import ResponseModel
from models.explain import GroupedExplainer
from training.config import load_experiment
from training.experiment import family_spec, prepare_cohort, validate
from training.metrics import auroc
from training.modelling import fit_tuned
from training.simulation import simulate_cohort, true_drivers

N_PATIENTS, SEED = 350, 201
FRESH_PATIENTS, FRESH_SEED = 20_000, 99_999
AUROC_TOLERANCE = 0.05
EXPERIMENT = {
    "name": "recovery",
    "estimators": {"logistic_l2": {"estimator__C": [0.1, 1.0]}, "delta_mrss_regression": {}},
    "validation": {"cv_splits": 5, "cv_repeats": 1, "bootstrap": 20, "seed": 7},
    "uncertainty": {"bootstrap_models": 10},
}
FOREST_SEED = 202
FOREST = {
    "name": "recovery-forest",
    "estimators": {"random_forest": {"estimator__min_samples_leaf": [5, 15]}},
    "validation": {"cv_splits": 5, "cv_repeats": 1, "bootstrap": 20, "seed": 7},
}


@pytest.fixture(scope="module")
def recovered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The run's summary, registered model, importance table and training cohort."""
    import mlflow

    from models.registry import load_served_model
    from training.run import run_experiment

    root = tmp_path_factory.mktemp("recovery")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    data, experiment = root / "cohort.csv", root / "recovery.yaml"
    write_table(simulate_cohort(N_PATIENTS, SEED), data)
    experiment.write_text(yaml.safe_dump(EXPERIMENT), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        mlflow.set_tracking_uri(uri)
        summary = run_experiment(experiment, data)
        table = mlflow.artifacts.load_text(
            f"runs:/{summary.run_id}/tables/feature_importance.csv")
        served = load_served_model(f"models:/{summary.registration.name}@champion")
        yield {"summary": summary, "model": served.model, "data": data, "experiment": experiment,
               "importance": pd.read_csv(io.StringIO(table))}
    mlflow.set_tracking_uri(None)  # type: ignore[arg-type]


def fresh_auroc(config_path: Path, classifier: Any) -> float:
    """AUROC of a fitted classifier on 20,000 fresh patients from the same generator."""
    config = load_experiment(config_path)
    fresh = prepare_cohort(simulate_cohort(FRESH_PATIENTS, FRESH_SEED), config)
    return auroc(fresh.y, classifier.predict_proba(fresh.X)[:, 1])


def delta_importance(model: ResponseModel, cohort: pd.DataFrame) -> pd.Series:
    """Mean |SHAP| per field of the ΔmRSS model (exact for its ridge), most important first.

    The served ridge reads the classifier's features through its own standardisation step.
    """
    _, features = model.transform(cohort)
    scale, ridge = model.regressor[:-1], model.regressor.named_steps["estimator"]
    scaled = pd.DataFrame(scale.transform(features), index=features.index,
                          columns=[str(c) for c in scale.get_feature_names_out()])
    explainer = GroupedExplainer(ridge, scaled, model.field_of, field_units())
    return explainer.grouped_shap_values(scaled).abs().mean().sort_values(ascending=False)


def test_delta_model_finds_the_true_drivers(recovered: dict[str, Any]) -> None:
    cohort = simulate_cohort(N_PATIENTS, SEED)
    top10 = list(delta_importance(recovered["model"], cohort).index[:10])

    found = [name for name in true_drivers()[:5] if name in top10]

    assert len(found) >= 4, f"top-5 drivers found: {found}; model's top 10: {top10}"
    assert top10[0] == "mrss_total"  # regression to the mean: the largest effect by far


def test_importance_table_leads_with_true_drivers(recovered: dict[str, Any]) -> None:
    top10 = list(recovered["importance"]["field"][:10])

    found = [name for name in true_drivers()[:7] if name in top10]

    assert top10[0] in true_drivers(), top10
    assert len(found) >= 3, f"drivers found: {found}; table's top 10: {top10}"


def test_reported_auroc_matches_a_fresh_cohort(recovered: dict[str, Any]) -> None:
    external = fresh_auroc(recovered["experiment"], recovered["model"].classifier)

    reported = recovered["summary"].metrics["auroc_corrected"]

    assert abs(reported - external) <= AUROC_TOLERANCE, (reported, external)


def test_forest_auroc_matches_a_fresh_cohort(tmp_path: Path) -> None:
    path = tmp_path / "forest.yaml"
    path.write_text(yaml.safe_dump(FOREST), encoding="utf-8")
    config = load_experiment(path)
    cohort = prepare_cohort(simulate_cohort(N_PATIENTS, FOREST_SEED), config)

    validation = validate(cohort, config)
    final = fit_tuned(family_spec(config, "random_forest"), cohort.X, cohort.y, cohort.delta)

    reported, external = validation.metrics["auroc_corrected"], fresh_auroc(path, final)
    assert validation.method == "cross-validation"
    assert abs(reported - external) <= AUROC_TOLERANCE, (reported, external)

