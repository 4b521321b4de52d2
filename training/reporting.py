"""Build and log a run's reports: sample-size check, figures, importance table, model card."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from features import schema
from features.pipeline import build_preprocessor, field_units
from models.bundle import ResponseModel
from training import reports, tracking
from training.config import ExperimentConfig
from training.experiment import Cohort, Validation
from training.metrics import net_benefit
from training.sample_size import RileyResult, riley_binary_min_n
from training.sample_size_continuous import riley_continuous_min_n

OUTCOME_TEXT = {
    "skin_responder": "EUSTAR skin response at follow-up: mRSS decrease > {abs} points and "
                      ">= {rel:.0%} of baseline (Dobrota 2016; Ann Rheum Dis 75:1743)",
    "skin_responder_mcid": "mRSS decrease >= {abs} points (dcSSc MCID; Khanna 2019)",
    "criss_improved": "ACR CRISS >= 0.60 (Khanna 2016; step 1 organ events force 0)",
    "morphological_responder": "fibrosis grade down and microvessel density or epidermal "
                               "thickness up at the follow-up biopsy",
    "raynaud_responder": "Raynaud's Condition Score down by >= 1.4 (MID 14/100; Khanna 2010)",
    "haq_responder": "HAQ-DI down by >= 0.14 (MCID; Khanna 2006)",
    "delta_mrss": "change in mRSS (follow-up minus baseline, points; negative = improvement)",
}


def n_model_parameters(cohort: Cohort, config: ExperimentConfig) -> int:
    """Candidate predictor parameters: model features after encoding and indicators."""
    return int(build_preprocessor(config.feature_set).fit_transform(cohort.X).shape[1])


# Anticipated R2 of a continuous-outcome model when nothing better is known: the ΔmRSS models
# of the simulated cohorts reach a corrected R2 of about 0.3-0.4; 0.2 errs on the safe side.
ANTICIPATED_R2_CONTINUOUS = 0.2


def sample_size_check(cohort: Cohort, config: ExperimentConfig) -> RileyResult:
    """Riley et al. minimum n for this many candidate parameters (binary or continuous)."""
    parameters = n_model_parameters(cohort, config)
    if not config.outcome.is_binary:
        # Criterion 4 (precise mean) is left out: it is ill-posed for a change score near 0.
        return riley_continuous_min_n(parameters, ANTICIPATED_R2_CONTINUOUS,
                                      n_available=len(cohort.y))
    prevalence = float(np.clip(cohort.y.mean(), 0.01, 0.99))
    return riley_binary_min_n(parameters, prevalence, n_available=len(cohort.y))


def _outcome_text(config: ExperimentConfig) -> str:
    o = config.outcome
    return OUTCOME_TEXT[o.name].format(abs=o.abs_threshold, rel=o.rel_threshold)


def _interval_method(validation: Validation) -> str:
    """How the corrected values and their intervals were obtained (read into the model card)."""
    if validation.binary is not None:
        return "location-shifted bootstrap (Noma 2021)"
    return (f"{validation.selected} memorises its training data, for which Harrell's bootstrap "
            "barely corrects, so its 'optimism-corrected' column holds the nested repeated "
            "cross-validation estimate (the bootstrap applies to the ΔmRSS model only); "
            "intervals from influence functions: DeLong for AUROC (LeDell 2015), the variance "
            "of a mean for the Brier score, none for calibration")


def _metric_rows(validation: Validation) -> list[reports.Metric]:
    a, c, d = validation.apparent, validation.corrected, validation.delta
    cv = validation.candidates[validation.selected].pooled_metrics.mean()
    rows = [
        reports.Metric(name, a[name], c[name].value, c[name].low, c[name].high,
                       float(cv.get(name, np.nan)))
        for name in ("auroc", "brier", "calibration_slope", "calibration_intercept")
    ]
    rows += [reports.Metric(f"delta_{name}", d.apparent[name], d.corrected[name],
                            d.ci_lower[name], d.ci_upper[name]) for name in ("mae", "r2")]
    return rows


def _predictors(cohort: Cohort, model: ResponseModel) -> list[reports.Predictor]:
    units = field_units()
    return [
        reports.Predictor(name, schema.fields()[name].description, units.get(name, ""),
                          100.0 * share)
        for name, share in model.summary.missing_share.items()
    ]


def _subgroups(cohort: Cohort, validation: Validation) -> list[reports.SubgroupResult]:
    from training.metrics import auroc, brier

    groups = []
    for sex in ("F", "M"):
        mask = (cohort.frame["sex"] == sex).to_numpy(dtype=bool)
        y, p = cohort.y[mask], validation.oof_probability[mask]
        metrics = {}
        if mask.sum() >= 20 and 0 < y.sum() < len(y):
            metrics = {"auroc_cv": auroc(y, p), "brier_cv": brier(y, p)}
        groups.append(reports.SubgroupResult(f"sex = {sex}", int(mask.sum()), int(y.sum()),
                                             metrics))
    return groups


def model_card(cohort: Cohort, config: ExperimentConfig, validation: Validation,
               model: ResponseModel, sample_size: RileyResult, run_id: str) -> str:
    """The TRIPOD+AI model card as Markdown."""
    simulated = cohort.frame["patient_id"].astype(str).str.startswith("SIM-").all()
    card = reports.ModelCard(
        model_name=config.name, model_version="(registered after this run)", run_id=run_id,
        created_utc=datetime.now(UTC),
        data=reports.DataSource(
            name=str(model.metadata.get("data_name", "training cohort")),
            content_hash=str(model.metadata.get("data_sha256", "")),
            n_patients=len(cohort.y), n_events=int(cohort.y.sum()), simulated=bool(simulated),
            period="simulated cohort" if simulated else "see data provenance",
        ),
        outcome=reports.OutcomeDefinition(config.outcome.name, _outcome_text(config),
                                          config.outcome.model_dump(exclude={"name"})),
        predictors=_predictors(cohort, model),
        model_type=validation.selected,
        hyperparameters=model.classifier.named_steps["estimator"].get_params(),
        validation=reports.ValidationScheme(
            config.validation.bootstrap, config.validation.cv_splits,
            config.validation.cv_repeats, True, _interval_method(validation),
            corrected_by_bootstrap=validation.binary is not None),
        metrics=_metric_rows(validation),
        sample_size=reports.SampleSizeCheck(len(cohort.y), int(cohort.y.sum()),
                                            sample_size.n_parameters, sample_size.criteria),
        subgroups=_subgroups(cohort, validation),
        code_version=tracking.git_commit(),
    )
    return reports.model_card_markdown(card)


def shap_reports(cohort: Cohort, model: ResponseModel) -> tuple[object, pd.DataFrame]:
    """Global SHAP beeswarm (model features) and the importance table (clinical fields)."""
    with_indices, features = model.transform(cohort.X)
    _, values = model.explainer.shap_values(features)
    labels = {name: f.description.split(";")[0] for name, f in schema.fields().items()}
    figure = reports.shap_beeswarm_figure(values, features, list(features.columns))
    table = reports.feature_importance_table(
        values, list(features.columns), model.field_of, labels,
        units=field_units(), field_values=with_indices,
    )
    return figure, table


def log_reports(cohort: Cohort, config: ExperimentConfig, validation: Validation,
                model: ResponseModel, sample_size: RileyResult, run_id: str) -> None:
    """Log figures, tables and the model card as artifacts of the active run."""
    import mlflow

    _log_figures(cohort, validation, model)
    beeswarm, importance = shap_reports(cohort, model)
    mlflow.log_figure(beeswarm, "plots/shap_beeswarm.png")
    mlflow.log_text(importance.to_csv(index=False), "tables/feature_importance.csv")
    if validation.binary is not None:  # no bootstrap for learners it cannot correct
        mlflow.log_text(validation.binary.summary().to_csv(), "tables/optimism_binary.csv")
    mlflow.log_text(validation.delta.summary().to_csv(), "tables/optimism_delta_mrss.csv")
    mlflow.log_text(sample_size.summary().to_csv(), "tables/sample_size.csv")
    card = model_card(cohort, config, validation, model, sample_size, run_id)
    mlflow.log_text(card, "model_card.md")
    mlflow.set_tag("validation.method", validation.method)
    if sample_size.warning:
        mlflow.set_tag("sample_size_warning", sample_size.warning[:4000])


def _log_figures(cohort: Cohort, validation: Validation, model: ResponseModel) -> None:
    """ROC (apparent and cross-validated), calibration and decision curves."""
    import mlflow

    y, oof = cohort.y, validation.oof_probability
    apparent = model.classifier.predict_proba(cohort.X)[:, 1]
    corrected = validation.corrected
    mlflow.log_figure(reports.roc_figure(y, apparent, oof), "plots/roc.png")
    mlflow.log_figure(reports.calibration_figure(
        y, oof, slope=corrected["calibration_slope"].value,
        intercept=corrected["calibration_intercept"].value,
        title="Calibration (cross-validated)"), "plots/calibration.png")
    thresholds = np.round(np.arange(0.05, 0.96, 0.05), 2)
    mlflow.log_figure(reports.decision_curve_figure(net_benefit(y, oof, thresholds)),
                      "plots/decision_curve.png")
