"""``POST /v1/predictions``: predict for a batch and record every answer before returning it.

The route takes the request envelope (pydantic checks only ``{"patients": [object, ...]}``) and
awaits the :class:`serving.prediction_service.PredictionService`, which validates, screens,
predicts, answers and records (concurrent requests share one batch). Its ``ContractError`` is
the 422 (``serving/app.py`` shapes it); :class:`PredictionUnavailable` is a 503 with nothing
recorded.
"""

from typing import Any

from fastapi import APIRouter, HTTPException, Response, status

from ssc_response.serving.deps import ClinicianKey, ModelDep, PredictionServiceDep
from ssc_response.serving.prediction_service import PredictionUnavailable
from ssc_response.serving.schemas import (
    MessageOut,
    PredictionsOut,
    ValidationErrorOut,
    prediction_request_model,
)

_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": MessageOut, "description": "Missing or invalid API key."},
    403: {"model": MessageOut, "description": "The key's role is not clinician."},
    422: {"model": ValidationErrorOut, "description": (
        "Each broken rule, by field and patient; a patient outside the model's population "
        "(the field and the rule); or too little recorded (one item per field to record, "
        "rule 'needed for a prediction', most informative first). Nothing was recorded.")},
    503: {"model": MessageOut, "description": "Nothing was recorded; retry later."},
}


def build_router(max_batch: int) -> APIRouter:
    """The predictions router for batches of at most ``max_batch`` patients."""
    request_model = prediction_request_model(max_batch)
    router = APIRouter(prefix="/v1/predictions", tags=["predictions"])

    @router.post("", response_model=PredictionsOut, responses=_RESPONSES)
    async def create_predictions(
        body: request_model,  # type: ignore[valid-type]
        key: ClinicianKey,
        served: ModelDep,
        predictions: PredictionServiceDep,
    ) -> Response:
        """Predict skin response for each patient (clinician); answers are audited first."""
        records = [patient.root for patient in body.patients]  # type: ignore[attr-defined]
        try:
            answer = await predictions.predict(records, key, served)
        except PredictionUnavailable as error:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, error.detail,
                                {"Retry-After": "1"}) from None
        # Already checked against PredictionsOut and serialised by the service.
        return Response(answer.body, media_type="application/json")

    return router
