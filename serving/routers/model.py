"""``/v1/model``: what is being served (researcher, clinician) and switching it (researcher)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ssc_response.models.registry import ModelNotFoundError, ModelVersionRef
from ssc_response.serving.deps import HolderDep, ModelReaderKey, ResearcherKey, SettingsDep
from ssc_response.serving.model_holder import LoadedModel
from ssc_response.serving.prometheus import log_failure
from ssc_response.serving.schemas import (
    DETAIL_MODEL_LOAD_FAILED,
    DETAIL_MODEL_NOT_FOUND,
    MessageOut,
    ModelRef,
    ValidationErrorOut,
)
from ssc_response.serving.settings import Settings


class Estimate(BaseModel):
    """A validation metric with its confidence interval (None when not logged)."""

    estimate: float | None
    lower: float | None = None
    upper: float | None = None


class TrainingData(BaseModel):
    """What the model was trained on: size and the ranges it has seen."""

    n_patients: int
    numeric_ranges: dict[str, tuple[float, float]]
    categories: dict[str, list[str]]


class ModelInfo(BaseModel):
    """The served model: identity, optimism-corrected validation metrics, training data."""

    name: str
    version: str
    run_id: str | None
    family: str | None
    followed_uri: str = Field(description="The registry URI the service follows.")
    loaded_at: datetime
    auroc_corrected: Estimate
    brier_corrected: Estimate
    calibration_slope_corrected: float | None
    calibration_intercept_corrected: float | None
    metrics: dict[str, float] = Field(description="Every metric logged with the training run.")
    training_data: TrainingData


class ReloadRequest(BaseModel):
    """Which version to serve: a version number or an alias; neither = the configured URI."""

    model_config = ConfigDict(extra="forbid")

    version: str | None = Field(None, pattern=r"^\d{1,18}$")
    alias: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,64}$")

    @model_validator(mode="after")
    def _one_target(self) -> ReloadRequest:
        if self.version is not None and self.alias is not None:
            raise ValueError("give version or alias, not both")
        return self


class ReloadOut(BaseModel):
    """The model served before and after the reload."""

    previous: ModelRef
    current: ModelRef
    changed: bool
    followed_uri: str



router = APIRouter(
    prefix="/v1/model",
    tags=["model"],
    responses={401: {"model": MessageOut}, 403: {"model": MessageOut}},
)


@router.get("", response_model=ModelInfo)
def model_info(_key: ModelReaderKey, holder: HolderDep) -> ModelInfo:
    """The served model, its validation metrics and training data (researcher, clinician)."""
    return describe(holder.loaded, holder.uri)


@router.post(
    "/reload",
    response_model=ReloadOut,
    responses={
        404: {"model": MessageOut}, 422: {"model": ValidationErrorOut}, 503: {"model": MessageOut}
    },
)
def reload_model(
    _key: ResearcherKey, holder: HolderDep, settings: SettingsDep,
    target: Annotated[ReloadRequest | None, Body()] = None,
) -> ReloadOut:
    """Serve the current champion, or a given version/alias, without dropping requests."""
    try:
        result = holder.reload(target_uri(settings, target))
    except ModelNotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, DETAIL_MODEL_NOT_FOUND) from None
    except Exception as error:
        log_failure(error, "model reload")
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, DETAIL_MODEL_LOAD_FAILED) from None
    return ReloadOut(previous=_ref(result.previous), current=_ref(result.current),
                     changed=result.changed, followed_uri=result.followed_uri)


def target_uri(settings: Settings, target: ReloadRequest | None) -> str:
    """The registry URI a reload request names (no target: the configured URI)."""
    if target is not None and target.version is not None:
        return f"models:/{settings.model_name}/{target.version}"
    if target is not None and target.alias is not None:
        return f"models:/{settings.model_name}@{target.alias}"
    return settings.model_uri


def describe(loaded: LoadedModel, followed_uri: str) -> ModelInfo:
    """Identity, headline metrics and training-data summary of a loaded model."""
    served = loaded.served
    metrics = {k: float(v) for k, v in served.metrics.items() if math.isfinite(v)}
    summary = served.model.summary
    ref = served.ref
    return ModelInfo(
        name=ref.name,
        version=ref.version,
        run_id=ref.run_id,
        family=served.tags.get("selected_family") or served.model.metadata.get("family"),
        followed_uri=followed_uri,
        loaded_at=loaded.loaded_at,
        auroc_corrected=_estimate(metrics, "auroc_corrected"),
        brier_corrected=_estimate(metrics, "brier_corrected"),
        calibration_slope_corrected=metrics.get("calibration_slope_corrected"),
        calibration_intercept_corrected=metrics.get("calibration_intercept_corrected"),
        metrics=metrics,
        training_data=TrainingData(n_patients=summary.n_patients,
                                   numeric_ranges=summary.numeric_ranges,
                                   categories=summary.categories),
    )


def _estimate(metrics: dict[str, float], name: str) -> Estimate:
    return Estimate(estimate=metrics.get(name), lower=metrics.get(f"{name}_ci_low"),
                    upper=metrics.get(f"{name}_ci_high"))


def _ref(ref: ModelVersionRef) -> ModelRef:
    return ModelRef(name=ref.name, version=ref.version, run_id=ref.run_id)
