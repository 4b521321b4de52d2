"""What a model card reports, as data: the TRIPOD+AI items it covers, the run's sources,
outcome, predictors, validation, intervals, metrics, sample size and subgroups
(:class:`ModelCard`), and the default texts.

:mod:`training.model_card` writes it as Markdown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "TRIPOD_AI_ITEMS",
    "DataSource",
    "IntervalScheme",
    "Metric",
    "ModelCard",
    "OutcomeDefinition",
    "Predictor",
    "SampleSizeCheck",
    "SubgroupResult",
    "ValidationScheme",
    "missing_data_text",
]

# (item, topic, card section or None when only the research team can report it), after
# Collins et al., TRIPOD+AI statement, BMJ 2024;385:e078378.
TRIPOD_AI_ITEMS: tuple[tuple[str, str, str | None], ...] = (
    ("1", "Title", None), ("2", "Abstract", None), ("3a", "Healthcare context", None),
    ("3b", "Target population and intended users", "Intended use"),
    ("3c", "Known health inequalities", None), ("4", "Objectives", None),
    ("5a", "Data sources", "Data"), ("5b", "Dates of data collection", "Data"),
    ("6a", "Setting and centres", None), ("6b", "Eligibility criteria", None),
    ("6c", "Treatments received", None), ("7", "Data preparation", "Predictors; Missing data"),
    ("8a", "Outcome definition and time horizon", "Outcome"),
    ("8b", "Outcome assessors", None), ("8c", "Blinding of outcome assessment", None),
    ("9a", "Choice of predictors", None), ("9b", "Predictor definitions and units", "Predictors"),
    ("9c", "Predictor assessors", None), ("10", "Sample size", "Sample size"),
    ("11", "Missing data", "Missing data"),
    ("12a", "Use of the data in the analysis", "Validation"),
    ("12b", "Handling of predictors", "Missing data; Model"),
    ("12c", "Model type, building, tuning, internal validation", "Model; Validation"),
    ("12d", "Heterogeneity across clusters", None),
    ("12e", "Performance measures", "Performance"), ("12f", "Model updating", None),
    ("12g", "Calculation of predictions (evaluation)", None), ("13", "Class imbalance", "Model"),
    ("14", "Fairness", "Fairness and subgroups"), ("15", "Model output", "Intended use"),
    ("16", "Training versus evaluation data", "Validation"), ("17", "Ethical approval", None),
    ("18a-e", "Funding, conflicts, protocol, registration, data sharing", None),
    ("18f", "Code availability", "Model details"), ("19", "Patient and public involvement", None),
    ("20a", "Participant flow", None), ("20b", "Participant characteristics", None),
    ("20c", "Development versus evaluation data", None),
    ("21", "Participants and outcome events per analysis", "Data; Sample size"),
    ("22", "Full model specification", "Model"), ("23a", "Model performance", "Performance"),
    ("23b", "Heterogeneity of performance", "Fairness and subgroups"),
    ("24", "Model updating results", None), ("25", "Interpretation", None),
    ("26", "Limitations", "Limitations (research team to extend)"),
    ("27a-c", "Usability in context", None),
)


@dataclass(frozen=True)
class DataSource:
    """Provenance of the development data."""

    name: str
    content_hash: str
    n_patients: int
    n_events: int
    simulated: bool
    period: str  # accrual and follow-up dates, or the simulation scenario and seed


@dataclass(frozen=True)
class OutcomeDefinition:
    """The predicted outcome, e.g. EUSTAR skin response at 12 ± 2 months."""

    name: str
    definition: str
    thresholds: Mapping[str, float | str] = field(default_factory=dict)


@dataclass(frozen=True)
class Predictor:
    """One input field of the model, with its share of missing values in the development data."""

    name: str
    label: str
    unit: str = ""
    percent_missing: float = 0.0
    rationale: str = ""


@dataclass(frozen=True)
class ValidationScheme:
    """Internal validation of the whole modelling procedure (see training.assessment)."""

    method: str  # "nested_cv" or "bootstrap"
    resamples: int  # outer repeats (nested_cv) or bootstrap replicates
    outer_folds: int
    inner_folds: int
    selection_metric: str
    candidates: int
    selection_frequency: Mapping[str, float] = field(default_factory=dict)
    recalibration: tuple[float, float] = (0.0, 1.0)  # the champion's (intercept, slope)


@dataclass(frozen=True)
class IntervalScheme:
    """What the two per-patient intervals are, and the evidence for them."""

    probability_level: float
    probability_members: int
    delta_level: float
    delta_folds: int
    delta_guarantee: float  # the finite-sample lower bound on coverage (Barber et al. 2021)


@dataclass(frozen=True)
class Metric:
    """One performance measure: apparent, validated (of the whole procedure) with its interval
    and its Monte-Carlo error."""

    name: str
    apparent: float
    corrected: float | None = None
    lower: float | None = None
    upper: float | None = None
    mc_error: float | None = None


@dataclass(frozen=True)
class SampleSizeCheck:
    """Minimum sample size by the criteria of Riley et al. (BMJ 2020;368:m441)."""

    n_available: int
    n_events: int
    n_parameters: int
    required_by_criterion: Mapping[str, int]

    @property
    def required(self) -> int:
        return max(self.required_by_criterion.values(), default=0)

    @property
    def adequate(self) -> bool:
        return self.n_available >= self.required


@dataclass(frozen=True)
class SubgroupResult:
    """Performance in one subgroup (e.g. "sex = F"); empty ``metrics`` means too few to estimate."""

    subgroup: str
    n: int
    n_events: int
    metrics: Mapping[str, float] = field(default_factory=dict)


DEFAULT_INTENDED_USE = (
    "Estimate, before transplantation, the probability that an adult with diffuse cutaneous "
    "systemic sclerosis (dcSSc) meets the skin-response outcome below after autologous "
    "bone-marrow mesenchymal stromal cell (MSC) transplantation. The output is a probability "
    "with an interval and the contribution of each input (SHAP)."
)
DEFAULT_INTENDED_USERS = "Rheumatologists and clinical researchers running MSC programmes."
DEFAULT_MISSING_HANDLING = (
    "Chained-equations imputation from the patient's other fields (scikit-learn's "
    "IterativeImputer, Bayesian ridge per field), with no missing-indicator features: why a "
    "field is blank differs between centres, so what a blank meant here need not hold "
    "elsewhere. Yes/no fields are imputed as yes or no and categories as one of their levels; "
    "a whole-number score keeps its imputed expectation (e.g. grade 2.4) rather than a "
    "rounded grade; an imputed number stays within the field's 5th-95th training percentiles. "
    "Imputation is part of the model pipeline, so it is refitted inside every bootstrap sample "
    "and CV fold."
)


def missing_data_text(indicators: bool, reason: str, draws: int, max_width: float,
                      required: Sequence[str]) -> str:
    """The card's missing-data section for an experiment's ``missing_data`` block."""
    text = DEFAULT_MISSING_HANDLING
    if indicators:
        text += (
            f" **This experiment adds missing-indicator features**: {reason.strip()} Warning: "
            "indicators let the model learn what a blank meant at the development centre; they "
            "assume every centre leaves fields blank for the same reasons (the "
            "`missingness_shift` simulation scenario shows what they cost when it does not).")
    needed = ", ".join(f"`{f}`" for f in required) or "none"
    return text + (
        f" At prediction time a patient with blank fields gets the range of the probability "
        f"over {draws} stochastic imputations (drawn from the fitted imputer's predictive "
        f"distribution); no number is given when that range is wider than "
        f"{100 * max_width:.0f} percentage points or a required field ({needed}) is blank: "
        "the service names the fields to record instead, most informative first.")


@dataclass(frozen=True)
class ModelCard:
    """Everything the Markdown card reports; built by the experiment runner from one run."""

    model_name: str
    model_version: str | None  # None until the model is registered (the card is logged first)
    run_id: str
    created_utc: datetime
    data: DataSource
    outcome: OutcomeDefinition
    predictors: Sequence[Predictor]
    model_type: str
    hyperparameters: Mapping[str, object]
    validation: ValidationScheme
    intervals: IntervalScheme
    metrics: Sequence[Metric]
    sample_size: SampleSizeCheck
    subgroups: Sequence[SubgroupResult] = ()
    code_version: str = "unknown"
    intended_use: str = DEFAULT_INTENDED_USE
    intended_users: str = DEFAULT_INTENDED_USERS
    missing_data_handling: str = DEFAULT_MISSING_HANDLING
    class_imbalance_handling: str = "none (no resampling or class weights)"
    extra_out_of_scope: Sequence[str] = ()
    extra_limitations: Sequence[str] = ()
    population: str = ""  # the population rules in words (the served bundle enforces them)
    n_out_of_scope: int = 0  # training rows set aside as outside the population
    # Riley & Collins (2023) per-patient instability: mean and 90th percentile of the mean
    # absolute difference between bootstrap refits' probabilities and the served one.
    instability: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        # A naive datetime would be silently read as local time; the card promises UTC.
        if self.created_utc.tzinfo is None:
            raise ValueError("created_utc must be timezone-aware (e.g. datetime.now(UTC))")
