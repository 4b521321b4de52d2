"""The experiment's blocks on blank fields and on the population the model is for.

``missing_data``: chained-equations imputation is always the base; missing indicators are an
opt-in with a stated reason; the stochastic imputations, the widest range of probabilities a
blank record may leave, and the fields without which no number is given.
``population``: the patients the model is for (set aside in training, refused in serving).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ssc_response.features.schema import fields as schema_fields
from ssc_response.features.scope import Population


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MissingDataConfig(_Strict):
    """How blank fields are handled (chained-equations imputation is always the base)."""

    # Opt-in missing indicators: set ``indicators_reason`` (shown in the model card) too.
    indicators: bool = False
    indicators_reason: str = ""
    draws: int = Field(20, ge=5, le=200, description="stochastic imputations per patient")
    # No number when the blank fields leave the probability spread wider than this.
    max_range_width: float = Field(0.40, gt=0, le=1)
    # Fields without which no prediction is given (each must be a field the model reads).
    required: list[str] = Field(default_factory=list)


class PopulationConfig(_Strict):
    """The patients the model is for; others are set aside in training and refused in serving."""

    cutaneous_subset: list[str] = Field(default_factory=lambda: ["diffuse"], min_length=1)
    cell_product: list[str] = Field(default_factory=lambda: ["auto_bm_msc", "auto_bm_mnc"],
                                    min_length=1)
    age_years: tuple[float, float] = (18.0, 75.0)
    disease_duration_months: tuple[float, float] = (0.0, 360.0)

    @field_validator("cutaneous_subset", "cell_product")
    @classmethod
    def _known_levels(cls, value: list[str], info: Any) -> list[str]:
        allowed = schema_fields()[info.field_name].allowed
        unknown = [v for v in value if v not in allowed]
        if unknown:
            raise ValueError(f"unknown levels {unknown}; the dictionary allows {list(allowed)}")
        return value

    @field_validator("age_years", "disease_duration_months")
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        if value[0] > value[1]:
            raise ValueError(f"the range's lower end {value[0]} is above its upper end {value[1]}")
        return value

    def rules(self) -> Population:
        """The rules as the bundle carries them."""
        return Population(
            {"cutaneous_subset": tuple(self.cutaneous_subset),
             "cell_product": tuple(self.cell_product)},
            {"age_years": self.age_years, "disease_duration_months": self.disease_duration_months})
