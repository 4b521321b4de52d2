"""A Markdown model card with the TRIPOD+AI items that software can fill from an experiment run.

The card states only what the run knows (data provenance, outcome, predictors, validation,
performance, sample size; its contents are :class:`training.model_card_contents.ModelCard`);
items that need the research team's knowledge are listed in the
TRIPOD+AI table as "to be completed by the research team" rather than guessed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC

from ssc_response.training.model_card_contents import (
    TRIPOD_AI_ITEMS,
    Metric,
    ModelCard,
    SubgroupResult,
)

__all__ = ["SECTION_HEADINGS", "TEAM", "model_card_markdown"]

TEAM = "to be completed by the research team"
SECTION_HEADINGS: tuple[str, ...] = (
    "## Model details", "## Intended use", "## Out-of-scope use", "## Data", "## Outcome",
    "## Predictors", "## Missing data", "## Model", "## Validation", "## Performance",
    "## Per-patient intervals", "## Sample size", "## Fairness and subgroups", "## Limitations",
    "## TRIPOD+AI checklist",
)


def model_card_markdown(card: ModelCard) -> str:
    """The model card as Markdown, for ``mlflow.log_text(..., "model_card.md")``."""
    parts = [_heading(card)]
    if card.data.simulated:
        parts.append(SIMULATED_WARNING)
    parts += [
        _details(card), _intended_use(card), _out_of_scope(card), _data(card), _outcome(card),
        _predictors(card), _missing(card), _model(card), _validation(card), _performance(card),
        _intervals(card),
        _sample_size(card), _subgroups(card), _limitations(card), _checklist(),
    ]
    return "\n\n".join(parts) + "\n"


def _heading(card: ModelCard) -> str:
    """``# Model card: name version 1``; before registration, the run the model comes from."""
    if card.model_version is None:
        return f"# Model card: {card.model_name}, run {card.run_id} (not registered)"
    return f"# Model card: {card.model_name} version {card.model_version}"


SIMULATED_WARNING = (
    "> **Warning: trained on simulated data.** The patients in the development data are "
    "synthetic; performance figures describe the simulator, not real patients. Not for "
    "clinical use."
)


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: object, max_chars: int = 120) -> str:
    """One table cell: a pipe or newline (e.g. in a nested estimator's repr) would break the row."""
    text = " ".join(str(value).split()).replace("|", "\\|")
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def _bullets(items: Sequence[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def _number(value: float | None, digits: int = 3) -> str:
    # NaN means "not estimable" (e.g. no CV value for this metric): show it like a missing value.
    return "—" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _details(card: ModelCard) -> str:
    created = card.created_utc.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return "## Model details\n\n" + _bullets([
        f"Name: `{card.model_name}`", f"Version: {card.model_version or 'not registered'}",
        f"MLflow run id: `{card.run_id}`", f"Created: {created}",
        f"Code version: `{card.code_version}`", f"Model type: {card.model_type}",
    ])


def _intended_use(card: ModelCard) -> str:
    text = f"## Intended use\n\n{card.intended_use}\n\nIntended users: {card.intended_users}"
    if card.population:
        text += (f"\n\nPopulation (enforced: the service refuses other patients, naming the "
                 f"field and the rule): {card.population}. Training set aside "
                 f"{card.n_out_of_scope} rows outside it.")
    return text


def _out_of_scope(card: ModelCard) -> str:
    items = [
        "Limited cutaneous SSc, morphoea or other fibrosing conditions: not represented in "
        "the development data.",
        "Other treatments (autologous haematopoietic stem-cell transplantation, allogeneic or "
        "adipose-derived cells, drugs): the model was developed only after bone-marrow MSC.",
        "Deciding alone whether a patient receives transplantation: the model is not a "
        "substitute for clinical judgement.",
        "Estimating the effect of transplantation for a patient (see Limitations).",
        "Patients whose inputs fall outside the ranges seen in development (flagged at "
        "prediction time).",
    ]
    if card.data.simulated:
        items.insert(0, "Any clinical use: the model was trained on simulated data.")
    return "## Out-of-scope use\n\n" + _bullets([*items, *card.extra_out_of_scope])


def _data(card: ModelCard) -> str:
    data = card.data
    kind = "simulated, synthetic cohort" if data.simulated else "real patients"
    return "## Data\n\n" + _bullets([
        f"Source: {data.name} ({kind})", f"Content hash: `{data.content_hash}`",
        f"Patients: {data.n_patients}; outcome events: {data.n_events}",
        f"Dates / scenario: {data.period}",
    ])


def _outcome(card: ModelCard) -> str:
    outcome = card.outcome
    text = f"## Outcome\n\n`{outcome.name}`: {outcome.definition}"
    if outcome.thresholds:
        text += "\n\n" + _table(["parameter", "value"], list(outcome.thresholds.items()))
    return text


def _predictors(card: ModelCard) -> str:
    rows = [(f"`{p.name}`", p.label, p.unit or "—", p.rationale or "—") for p in card.predictors]
    return f"## Predictors\n\n{len(rows)} input fields.\n\n" + _table(
        ["field", "clinical name", "unit", "why it is a candidate"], rows)


def _missing(card: ModelCard) -> str:
    rows = [(f"`{p.name}`", f"{p.percent_missing:.1f}") for p in card.predictors]
    return (f"## Missing data\n\n{card.missing_data_handling}\n\n"
            + _table(["field", "% missing"], rows))


def _model(card: ModelCard) -> str:
    rows = sorted((f"`{k}`", f"`{v!r}`") for k, v in card.hyperparameters.items())
    return (f"## Model\n\n{card.model_type}. Class imbalance: {card.class_imbalance_handling}. "
            "The fitted pipeline (preprocessing and estimator) is the MLflow model of the run."
            "\n\n"
            + _table(["hyper-parameter", "value"], rows))


def _validation(card: ModelCard) -> str:
    v = card.validation
    procedure = (
        f"The modelling procedure chooses among {v.candidates} candidates (each family at each "
        f"point of its search space) by the {v.selection_metric} of their recalibrated "
        f"out-of-fold predictions in one {v.inner_folds}-fold inner cross-validation, grouped "
        "by patient; fits a logistic recalibration on the winner's out-of-fold scores; and "
        "refits the winner on all patients.")
    if v.method == "nested_cv":
        scheme = (
            f"The reported ('validated') numbers are those of the **whole procedure** - tuning, "
            f"family selection and recalibration repeated in every resample - by nested "
            f"cross-validation: {v.outer_folds} outer folds x {v.resamples} repeats. Metrics "
            "are computed on each repeat's pooled out-of-fold predictions and averaged; their "
            "Monte-Carlo error is the SD over repeats / sqrt(repeats). Models are trained on "
            f"{v.outer_folds - 1}/{v.outer_folds} of the patients, so the estimates are slightly "
            "pessimistic. 95% intervals: DeLong (AUROC; LeDell 2015), variance of a mean "
            "(Brier, MAE), Fisher information (calibration); they treat the fitted models as "
            "fixed and are somewhat narrow.")
    else:
        scheme = (
            f"The reported numbers are Harrell's optimism correction of the **whole procedure** "
            f"({v.resamples} bootstrap replicates, each re-running tuning, selection and "
            "recalibration with inner folds grouped by patient), with Noma et al. (2021) "
            "location-shifted intervals. Only smooth families are validated this way; on pure "
            "noise it under-corrects (see the README).")
    frequency = ", ".join(f"{name} {share:.0%}" for name, share in v.selection_frequency.items())
    intercept, slope = v.recalibration
    return "## Validation\n\n" + _bullets([
        procedure, scheme,
        f"Choice across resamples (model stability): {frequency or 'not recorded'}.",
        f"The champion's recalibration: logit P = {intercept:.3f} + {slope:.3f} x its raw score.",
        "All data were used for development; there is no external validation.",
    ])


def _intervals(card: ModelCard) -> str:
    i = card.intervals
    instability = ("" if card.instability is None else
                   f" Per-patient prediction instability (Riley & Collins 2023: mean absolute "
                   f"difference between the refits' probabilities and the served one): mean "
                   f"{card.instability[0]:.3f}, 90th percentile {card.instability[1]:.3f} over "
                   "the training patients.")
    return "## Per-patient intervals\n\n" + _bullets([
        f"Probability of response, 'model uncertainty' ({i.probability_level:.0%} normal "
        f"spread): logit p ± z x the SD of {i.probability_members} bootstrap refits of the "
        "champion's family (each re-tuned and recalibrated). It is the spread of the estimate "
        "across resampled cohorts, not a coverage interval: it leaves out model "
        "misspecification, and the simulation study (`ssc-response study`) measured that it "
        "holds the true probability for fewer patients than its level says in some scenarios."
        + instability,
        f"Change in mRSS, {i.delta_level:.0%}: locally weighted CV+ over {i.delta_folds} folds "
        f"(Barber et al. 2021), the fold estimators fitted on the ΔmRSS model's own fitted "
        "preprocessing (label-free: it saw every patient's inputs, never their outcomes). "
        f"Barber et al.'s bound for exchangeable patients is at least {i.delta_guarantee:.1%}; "
        "it is proved for fold fits that exclude the held-out patients entirely, so here it is "
        f"an approximation, and the simulation study measures the coverage (close to "
        f"{i.delta_level:.0%}); wider at higher baseline mRSS; kept within "
        "-baseline..51-baseline.",
    ])


def _performance(card: ModelCard) -> str:
    rows = [(m.name, _number(m.apparent), _number(m.corrected), _interval(m),
             _number(m.mc_error)) for m in card.metrics]
    header = ["metric", "apparent", "validated (whole procedure)", "95% interval",
              "Monte-Carlo error"]
    return ("## Performance\n\nApparent performance is measured on the development data and is "
            "optimistic; the validated column is what the procedure achieves on patients it did "
            "not see.\n\n" + _table(header, rows))


def _interval(metric: Metric) -> str:
    low, high = _number(metric.lower), _number(metric.upper)
    return "—" if "—" in (low, high) else f"{low} to {high}"


def _sample_size(card: ModelCard) -> str:
    s = card.sample_size
    per_parameter = (f" ({s.n_events / s.n_parameters:.1f} events per parameter)"
                     if s.n_parameters else "")
    text = (f"## Sample size\n\n{s.n_available} patients, {s.n_events} events, "
            f"{s.n_parameters} candidate parameters{per_parameter}.\n\n"
            + _table(["Riley et al. (2020) criterion", "minimum n"],
                     list(s.required_by_criterion.items())))
    if not s.required_by_criterion:
        return text + "\n\nNot assessed: no criterion was computed."
    if s.adequate:
        return text + f"\n\nThe sample meets the largest minimum (n ≥ {s.required})."
    binding = max(s.required_by_criterion, key=lambda name: s.required_by_criterion[name])
    return text + (f"\n\n> **Warning: sample size insufficient.** {s.n_available} patients are "
                   f"fewer than the {s.required} required by criterion {binding}. Expect "
                   "overfitting; even the optimism-corrected estimates are imprecise.")


def _subgroups(card: ModelCard) -> str:
    heading = "## Fairness and subgroups\n\n"
    if not card.subgroups:
        return heading + "Not computed: too few patients per subgroup (e.g. by sex)."
    names = sorted({name for g in card.subgroups for name in g.metrics}) or ["performance"]
    rows = [(g.subgroup, g.n, g.n_events, *_subgroup_cells(g, names)) for g in card.subgroups]
    return heading + _table(["subgroup", "n", "events", *names], rows)


def _subgroup_cells(group: SubgroupResult, names: Sequence[str]) -> list[str]:
    if not group.metrics:
        return ["too few to estimate"] * len(names)
    return [_number(group.metrics.get(name)) for name in names]


def _limitations(card: ModelCard) -> str:
    items = [
        "Regression to the mean and natural history: without cell therapy, about 22–30% of "
        "patients with dcSSc improve in skin score within a year (EUSTAR cohorts: Dobrota et "
        "al., Ann Rheum Dis 2016; Arthritis Res Ther 2024; faSScinate placebo arm), more often "
        "with high baseline mRSS and long disease duration.",
        "The development data are an uncontrolled series: the model predicts the outcome after "
        "transplantation, not the effect of transplantation, and cannot separate treatment "
        "effect from natural history.",
        "Small cohort and internal validation only: performance in new patients and other "
        "centres is unknown.",
    ]
    if card.data.simulated:
        items.append("Simulated development data: effect sizes were set by the simulator.")
    return "## Limitations\n\n" + _bullets([*items, *card.extra_limitations])


def _checklist() -> str:
    rows = [(item, topic, section or f"*{TEAM}*") for item, topic, section in TRIPOD_AI_ITEMS]
    return ("## TRIPOD+AI checklist\n\nItems of the TRIPOD+AI statement (Collins et al., BMJ "
            "2024) and where this card reports them.\n\n"
            + _table(["item", "topic", "section"], rows))
