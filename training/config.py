"""Experiment configuration: what to train and how to validate it, read from YAML.

The file says *what* (outcome, feature set, estimator families and search spaces, validation,
promotion thresholds); the environment says *where* (tracking URI, registered model name).

Built-in experiments ship with the package (``experiments/*.yaml``, package data of the
``experiments`` package) and are chosen by name (``default``, ``quick``) from any folder; a path
to a YAML file works too.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ssc_response.features.derived_columns import OutcomeThresholds
from ssc_response.features.pipeline import FEATURE_SETS, FeatureSpec
from ssc_response.models.estimators import FAMILIES
from ssc_response.training.intended_use import MissingDataConfig, PopulationConfig

BINARY_OUTCOMES: tuple[str, ...] = (
    "skin_responder",
    "skin_responder_mcid",
    "criss_improved",
    "morphological_responder",
    "raynaud_responder",
    "haq_responder",
)
CONTINUOUS_OUTCOMES: tuple[str, ...] = ("delta_mrss",)
SKIN_OUTCOMES: tuple[str, ...] = ("skin_responder", "skin_responder_mcid")


FeatureSetValue = str | list[str] | dict[str, str]


class ExperimentConfigError(ValueError):
    """An experiment file that cannot be used, with every problem named."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OutcomeConfig(_Strict):
    name: str = "skin_responder"
    abs_threshold: float = Field(5.0, ge=0)
    rel_threshold: float = Field(0.25, ge=0, le=1)
    strict: bool = True

    @field_validator("name")
    @classmethod
    def _known_outcome(cls, value: str) -> str:
        known = BINARY_OUTCOMES + CONTINUOUS_OUTCOMES
        if value not in known:
            raise ValueError(f"unknown outcome {value!r}; choose one of {', '.join(known)}")
        return value

    @property
    def is_binary(self) -> bool:
        return self.name in BINARY_OUTCOMES

    @property
    def is_mcid(self) -> bool:
        return self.name == "skin_responder_mcid"

    def thresholds(self) -> OutcomeThresholds:
        """The cut-offs that derive the labels (``abs_threshold`` is the MCID for that rule)."""
        return OutcomeThresholds(skin_abs_threshold=self.abs_threshold,
                                 skin_rel_threshold=self.rel_threshold, skin_strict=self.strict,
                                 skin_mcid=self.abs_threshold)

    def skin_rule(self) -> tuple[float, float, bool]:
        """(abs, rel, strict) of the skin rule the ΔmRSS model predicts, as the labels use it."""
        if self.is_mcid:
            return self.abs_threshold, 0.0, False
        return self.abs_threshold, self.rel_threshold, self.strict


class ValidationConfig(_Strict):
    # nested_cv: repeated K-fold around the whole procedure (any family); bootstrap: Harrell's
    # optimism correction of the whole procedure (smooth families only, see check_compatible).
    method: Literal["nested_cv", "bootstrap"] = "nested_cv"
    selection_metric: Literal["brier", "auroc"] = "brier"
    cv_splits: int = Field(5, ge=2, le=20)
    cv_repeats: int = Field(4, ge=1, le=50)
    inner_splits: int = Field(5, ge=2, le=10)
    bootstrap: int = Field(200, ge=10, le=2000)
    interval_level: float = Field(0.95, gt=0.5, lt=1)
    seed: int = 0
    n_jobs: int = Field(-1, description="parallel resamples (joblib); -1: every core")


class ComparisonConfig(_Strict):
    """Validate a reference feature set on the same resamples; log feature_set minus it."""

    reference: str | list[str] | dict[str, str]


class UncertaintyConfig(_Strict):
    bootstrap_models: int = Field(50, ge=5, le=500)
    probability_interval_level: float = Field(0.95, gt=0.5, lt=1)
    delta_interval_level: float = Field(0.90, gt=0.5, lt=1)


class PromotionConfig(_Strict):
    min_auroc_corrected: float | None = Field(0.65, ge=0, le=1)
    max_brier_corrected: float | None = Field(0.25, ge=0, le=1)
    min_calibration_slope_corrected: float | None = None
    max_calibration_slope_corrected: float | None = None
    max_abs_calibration_intercept_corrected: float | None = None
    max_mae_corrected: float | None = None


class ExperimentConfig(_Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    outcome: OutcomeConfig = OutcomeConfig()
    # A named set (clinical, histology, both), or pre-specified fields: a list, or a mapping
    # of each field to the rationale for including it (shown in the model card).
    feature_set: str | list[str] | dict[str, str] = "both"
    derived_indices: bool = False  # feed EScSG / EUSTAR / ACR-EULAR beside their own inputs
    estimators: dict[str, dict[str, list[Any]]] = Field(min_length=1)
    validation: ValidationConfig = ValidationConfig()
    uncertainty: UncertaintyConfig = UncertaintyConfig()
    promotion: PromotionConfig = PromotionConfig()
    comparison: ComparisonConfig | None = None
    missing_data: MissingDataConfig = MissingDataConfig()
    population: PopulationConfig = PopulationConfig()

    @field_validator("feature_set")
    @classmethod
    def _known_feature_set(cls, value: FeatureSetValue) -> FeatureSetValue:
        feature_spec(value)
        return value

    def features(self) -> FeatureSpec:
        """The fields the models read, with the derived indices if the experiment asks."""
        return feature_spec(self.feature_set, self.derived_indices,
                            self.missing_data.indicators)

    def reference_features(self) -> FeatureSpec | None:
        """The comparison's reference feature set (same derived-index choice), if any."""
        if self.comparison is None:
            return None
        return feature_spec(self.comparison.reference, self.derived_indices,
                            self.missing_data.indicators)

    @field_validator("estimators", mode="before")
    @classmethod
    def _empty_spaces(cls, value: Any) -> Any:
        # ``delta_mrss_regression:`` with nothing after it is YAML null; it means "no grid".
        if isinstance(value, dict):
            return {name: {} if space is None else space for name, space in value.items()}
        return value

    @field_validator("estimators")
    @classmethod
    def _known_families(cls, value: dict[str, dict[str, list[Any]]]) -> dict[str, Any]:
        unknown = [name for name in value if name not in FAMILIES]
        if unknown:
            raise ValueError(
                f"unknown estimator families {unknown}; known: {', '.join(FAMILIES)}"
            )
        for name, space in value.items():
            for param, candidates in space.items():
                if not param.startswith("estimator__") or not candidates:
                    raise ValueError(
                        f"{name}.{param}: search-space keys start with 'estimator__' and "
                        "list at least one candidate value"
                    )
        return value

    def check_compatible(self) -> None:
        """Cross-field rules pydantic cannot see field by field."""
        unread = [f for f in self.missing_data.required if f not in self.features().fields]
        if unread:
            raise ExperimentConfigError(
                f"missing_data.required: {unread} are not fields the model reads")
        if self.missing_data.indicators and not self.missing_data.indicators_reason.strip():
            raise ExperimentConfigError(
                "missing_data.indicators: say why in missing_data.indicators_reason (the model "
                "card shows it): indicators assume deployment centres leave fields blank for "
                "the same reasons as the development centre")
        memorising = [name for name in self.estimators if FAMILIES[name].memorises]
        if self.validation.method == "bootstrap" and memorising:
            raise ExperimentConfigError(
                f"validation.method: bootstrap (Harrell's optimism correction) under-corrects "
                f"learners that memorise their training data ({', '.join(memorising)}); use "
                "nested_cv")
        if self.comparison is not None and self.validation.method != "nested_cv":
            raise ExperimentConfigError(
                "comparison: feature sets are compared on paired nested cross-validation; set "
                "validation.method: nested_cv")
        skin = SKIN_OUTCOMES + CONTINUOUS_OUTCOMES
        if "delta_mrss_regression" in self.estimators and self.outcome.name not in skin:
            raise ExperimentConfigError(
                "estimators.delta_mrss_regression: models the change in mRSS, so it only "
                f"predicts skin outcomes {skin}, not {self.outcome.name!r}"
            )
        if not self.outcome.is_binary and set(self.estimators) != {"delta_mrss_regression"}:
            raise ExperimentConfigError(
                f"outcome {self.outcome.name!r} is continuous: only the delta_mrss_regression "
                "family models it (validated with MAE and R2; P(skin response) derived from it)"
            )


def feature_spec(value: FeatureSetValue, derived_indices: bool = False,
                 missing_indicators: bool = False) -> FeatureSpec:
    """A named feature set, or the listed fields (a list, or a mapping field -> rationale)."""
    if isinstance(value, str):
        if value not in FEATURE_SETS:
            raise ValueError(f"unknown feature_set {value!r}; choose one of {FEATURE_SETS} or "
                             "list the fields (field: rationale)")
        return FeatureSpec.named(value, derived_indices, missing_indicators)
    if not value:
        raise ValueError("a listed feature_set needs at least one field")
    return FeatureSpec.listed(list(value), derived_indices, missing_indicators)


def builtin_experiments() -> list[str]:
    """Names of the experiments that ship with the package, sorted."""
    folder = resources.files("ssc_response.experiments")
    return sorted(item.name.removesuffix(".yaml") for item in folder.iterdir()
                  if item.name.endswith(".yaml"))


def experiment_path(name_or_path: str | Path) -> Path:
    """The file of a built-in experiment by name, or the given path.

    A value naming an existing file, or that looks like a path (a folder part or a ``.yaml`` /
    ``.yml`` suffix), is a path; anything else is the name of a built-in experiment.
    """
    path = Path(name_or_path)
    if path.is_file() or len(path.parts) > 1 or path.suffix in (".yaml", ".yml"):
        return path
    if str(name_or_path) not in builtin_experiments():
        raise ExperimentConfigError(
            f"unknown experiment {str(name_or_path)!r}; built-in experiments: "
            f"{', '.join(builtin_experiments())} (or give the path of a YAML file)"
        )
    # The package is installed as files (editable or from a wheel), never zipped.
    return Path(str(resources.files("ssc_response.experiments").joinpath(f"{name_or_path}.yaml")))


def load_experiment(name_or_path: str | Path) -> ExperimentConfig:
    """Read and validate an experiment (built-in name or file); every problem in one error."""
    source = experiment_path(name_or_path)
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExperimentConfigError(f"{source}: experiment file not found") from None
    except yaml.YAMLError as error:
        raise ExperimentConfigError(f"{source}: not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise ExperimentConfigError(f"{source}: expected a mapping at the top level")
    try:
        config = ExperimentConfig.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        )
        raise ExperimentConfigError(f"{source}: {problems}") from None
    try:
        config.check_compatible()
    except ExperimentConfigError as error:
        raise ExperimentConfigError(f"{source}: {error}") from None
    return config
