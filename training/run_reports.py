"""Build and log a run's reports: sample-size check, figures, importance table, model card."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from ssc_response.features import schema
from ssc_response.features.pipeline import build_preprocessor, field_units
from ssc_response.models.bundle import ResponseModel
from ssc_response.training import report_content, tracking
from ssc_response.training.config import ExperimentConfig
from ssc_response.training.experiment import Cohort, FinalModel, Validation
from ssc_response.training.metrics import net_benefit
from ssc_response.training.model_card_contents import missing_data_text
from ssc_response.training.sample_size import RileyResult, riley_binary_min_n
from ssc_response.training.sample_size_continuous import riley_continuous_min_n

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
    """Parameters the models actually read: the encoded features of the experiment's feature
    set (values, missingness indicators, category levels; derived indices only when asked)."""
    return int(build_preprocessor(config.features()).fit_transform(cohort.X).shape[1])


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


def _metric_rows(validation: Validation, metrics: dict[str, float]) -> list[report_content.Metric]:
    estimates = validation.assessment.estimates
    return [report_content.Metric(name, metrics.get(f"{name}_apparent", np.nan), e.value, e.low,
                                  e.high, e.mc_error)
            for name, e in estimates.items()]


def _predictors(cohort: Cohort, model: ResponseModel,
                config: ExperimentConfig) -> list[report_content.Predictor]:
    units = field_units()
    reasons = config.feature_set if isinstance(config.feature_set, dict) else {}
    return [
        report_content.Predictor(name, schema.fields()[name].description, units.get(name, ""),
                          100.0 * share, reasons.get(name, ""))
        for name, share in model.summary.missing_share.items()
    ]


def _subgroups(cohort: Cohort, validation: Validation) -> list[report_content.SubgroupResult]:
    """Cross-validated performance by sex (nested CV only: it has out-of-fold predictions)."""
    from ssc_response.training.metrics import auroc, brier

    oof = validation.assessment.mean_oof_probability()
    if oof is None:
        return []
    groups = []
    for sex in ("F", "M"):
        mask = (cohort.frame["sex"] == sex).to_numpy(dtype=bool)
        y, p = cohort.y[mask], oof[mask]
        values = {}
        if mask.sum() >= 20 and 0 < y.sum() < len(y):
            values = {"auroc_cv": auroc(y, p), "brier_cv": brier(y, p)}
        groups.append(report_content.SubgroupResult(f"sex = {sex}", int(mask.sum()), int(y.sum()),
                                             values))
    return groups


def _validation_scheme(config: ExperimentConfig, validation: Validation,
                       final: FinalModel) -> report_content.ValidationScheme:
    v, assessment = config.validation, validation.assessment
    return report_content.ValidationScheme(
        method=assessment.method, resamples=assessment.resamples, outer_folds=v.cv_splits,
        inner_folds=v.inner_splits, selection_metric=v.selection_metric,
        candidates=len(final.procedure.candidates),
        selection_frequency=assessment.selection_frequency().to_dict(),
        recalibration=final.procedure.recalibration)


def _interval_scheme(config: ExperimentConfig, final: FinalModel) -> report_content.IntervalScheme:
    u, conformal = config.uncertainty, final.procedure.conformal
    folds = conformal.n_folds if conformal else 0
    guarantee = conformal.guaranteed_coverage(u.delta_interval_level) if conformal else 0.0
    return report_content.IntervalScheme(u.probability_interval_level,
                                  final.probability_interval.n_members,
                                  u.delta_interval_level, folds, guarantee)


def model_card(cohort: Cohort, config: ExperimentConfig, validation: Validation,
               final: FinalModel, model: ResponseModel, metrics: dict[str, float],
               sample_size: RileyResult, run_id: str) -> report_content.ModelCard:
    """The TRIPOD+AI model card of the run, before the model is registered (no version yet)."""
    simulated = cohort.frame["patient_id"].astype(str).str.startswith("SIM-").all()
    card = report_content.ModelCard(
        model_name=config.name, model_version=None, run_id=run_id,
        created_utc=datetime.now(UTC),
        data=report_content.DataSource(
            name=str(model.metadata.get("data_name", "training cohort")),
            content_hash=str(model.metadata.get("data_sha256", "")),
            n_patients=len(cohort.y), n_events=int(cohort.y.sum()), simulated=bool(simulated),
            period="simulated cohort" if simulated else "see data provenance",
        ),
        outcome=report_content.OutcomeDefinition(config.outcome.name, _outcome_text(config),
                                          config.outcome.model_dump(exclude={"name"})),
        predictors=_predictors(cohort, model, config),
        model_type=final.procedure.chosen.label,
        hyperparameters=final.procedure.classifier.named_steps["estimator"].estimator_.get_params(),
        validation=_validation_scheme(config, validation, final),
        intervals=_interval_scheme(config, final),
        metrics=_metric_rows(validation, metrics),
        sample_size=report_content.SampleSizeCheck(len(cohort.y), int(cohort.y.sum()),
                                            sample_size.n_parameters, sample_size.criteria),
        subgroups=_subgroups(cohort, validation),
        code_version=tracking.git_commit(),
        missing_data_handling=missing_data_text(
            config.missing_data.indicators, config.missing_data.indicators_reason,
            config.missing_data.draws, config.missing_data.max_range_width,
            config.missing_data.required),
        population=config.population.rules().describe(),
        n_out_of_scope=cohort.n_out_of_scope,
        instability=_instability(cohort, final),
    )
    return card


def log_model_card(card: report_content.ModelCard, name: str | None = None,
                   version: str | None = None) -> None:
    """Log ``model_card.md``; once registered, under the registered ``name`` and ``version``.

    Logged before registration (a run whose registration fails still has its card), then again,
    in place, with the version the registry gave.
    """
    import mlflow

    if version is not None:
        card = dataclasses.replace(card, model_name=name or card.model_name, model_version=version)
    mlflow.log_text(report_content.model_card_markdown(card), "model_card.md")


def _instability(cohort: Cohort, final: FinalModel) -> tuple[float, float]:
    """Mean and 90th percentile of the per-patient instability over the training patients."""
    features = final.features(cohort.X)
    probability = final.procedure.probability(cohort.X)
    values = final.probability_interval.instability(features, probability)
    return float(values.mean()), float(np.quantile(values, 0.9))


def shap_reports(cohort: Cohort, model: ResponseModel) -> tuple[object, pd.DataFrame]:
    """Global SHAP beeswarm (model features) and the importance table (clinical fields)."""
    with_indices, features = model.transform(cohort.X)
    _, values = model.explainer.shap_values(features)
    labels = {name: f.description.split(";")[0] for name, f in schema.fields().items()}
    figure = report_content.shap_beeswarm_figure(values, features, list(features.columns))
    table = report_content.feature_importance_table(
        values, list(features.columns), model.field_of, labels,
        units=field_units(), field_values=with_indices,
    )
    return figure, table


def log_reports(cohort: Cohort, config: ExperimentConfig, validation: Validation,
                final: FinalModel, model: ResponseModel, metrics: dict[str, float],
                sample_size: RileyResult, run_id: str) -> report_content.ModelCard:
    """Log figures, tables and the model card as artifacts of the active run; the card, for
    :func:`log_model_card` to log again once the model has its version."""
    import mlflow

    _log_figures(cohort, validation, final)
    beeswarm, importance = shap_reports(cohort, model)
    mlflow.log_figure(beeswarm, "plots/shap_beeswarm.png")
    mlflow.log_text(importance.to_csv(index=False), "tables/feature_importance.csv")
    assessment = validation.assessment
    mlflow.log_text(assessment.per_resample.to_csv(index=False), "tables/validation_resamples.csv")
    mlflow.log_text(assessment.selection_frequency().to_csv(), "tables/selection_frequency.csv")
    mlflow.log_text(final.procedure.candidates.to_csv(index=False), "tables/candidates.csv")
    mlflow.log_text(sample_size.summary().to_csv(), "tables/sample_size.csv")
    if validation.decision_curves is not None:
        mlflow.log_text(validation.decision_curves.to_csv(index=False),
                        "tables/comparison_decision_curves.csv")
        mlflow.log_figure(report_content.comparison_figure(validation.decision_curves),
                          "plots/comparison_decision_curves.png")
    card = model_card(cohort, config, validation, final, model, metrics, sample_size, run_id)
    log_model_card(card)
    mlflow.set_tags({"validation.method": validation.method,
                     "champion": final.procedure.chosen.label})
    if sample_size.warning:
        mlflow.set_tag("sample_size_warning", sample_size.warning[:4000])
    return card


def _log_figures(cohort: Cohort, validation: Validation, final: FinalModel) -> None:
    """ROC (apparent beside cross-validated), calibration and decision curves.

    The validated predictions are the nested CV's out-of-fold ones; a bootstrap-validated run has
    none, so its calibration and decision curves show the apparent predictions, labelled so.
    """
    import mlflow

    y = cohort.y
    apparent = final.procedure.probability(cohort.X)
    oof = validation.assessment.mean_oof_probability()
    shown, label = (apparent, "apparent") if oof is None else (oof, "cross-validated")
    estimates = validation.assessment.estimates
    mlflow.log_figure(report_content.roc_figure(y, apparent, oof), "plots/roc.png")
    mlflow.log_figure(report_content.calibration_figure(
        y, shown, slope=estimates["calibration_slope"].value,
        intercept=estimates["calibration_intercept"].value,
        title=f"Calibration ({label})"), "plots/calibration.png")
    thresholds = np.round(np.arange(0.05, 0.96, 0.05), 2)
    mlflow.log_figure(report_content.decision_curve_figure(net_benefit(y, shown, thresholds)),
                      "plots/decision_curve.png")
