"""Experiment configuration: what to train and how to validate it, read from YAML.

The file says *what* (outcome, feature set, estimator families and search spaces, validation,
promotion thresholds); the environment says *where* (tracking URI, registered model name).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from features.pipeline import FEATURE_SETS
from models.estimators import FAMILIES

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


class ValidationConfig(_Strict):
    selection_metric: Literal["brier", "auroc", "mae"] = "brier"
    cv_splits: int = Field(5, ge=2, le=20)
    cv_repeats: int = Field(2, ge=1, le=50)
    inner_splits: int = Field(3, ge=2, le=10)
    bootstrap: int = Field(100, ge=10, le=2000)
    interval_level: float = Field(0.95, gt=0.5, lt=1)
    seed: int = 0


class UncertaintyConfig(_Strict):
    bootstrap_models: int = Field(30, ge=5, le=500)
    probability_interval_level: float = Field(0.95, gt=0.5, lt=1)
    delta_interval_level: float = Field(0.90, gt=0.5, lt=1)


class PromotionConfig(_Strict):
    min_auroc_corrected: float | None = Field(0.65, ge=0, le=1)
    max_brier_corrected: float | None = Field(0.25, ge=0, le=1)
    min_calibration_slope_corrected: float | None = None
    max_calibration_slope_corrected: float | None = None
    max_mae_corrected: float | None = None


class ExperimentConfig(_Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    outcome: OutcomeConfig = OutcomeConfig()
    feature_set: str = "both"
    estimators: dict[str, dict[str, list[Any]]] = Field(min_length=1)
    validation: ValidationConfig = ValidationConfig()
    uncertainty: UncertaintyConfig = UncertaintyConfig()
    promotion: PromotionConfig = PromotionConfig()

    @field_validator("feature_set")
    @classmethod
    def _known_feature_set(cls, value: str) -> str:
        if value not in FEATURE_SETS:
            raise ValueError(f"unknown feature_set {value!r}; choose one of {FEATURE_SETS}")
        return value

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


def load_experiment(path: str | Path) -> ExperimentConfig:
    """Read and validate an experiment file; every problem is named in one error."""
    source = Path(path)
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
