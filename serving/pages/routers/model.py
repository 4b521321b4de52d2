"""The model page: the champion's validated metrics, its external validations, its model card
and the alias history.

Read by researchers and clinicians (the roles of ``GET /v1/model``). The card and the history
come from the MLflow registry; the card is fetched once per run and kept. Researchers also see
the run's validation plots (ROC, calibration, decision curve), served from its artifacts.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from markdown_it import MarkdownIt
from markupsafe import Markup

from ssc_response.models.registry import VersionRecord, run_text, version_history
from ssc_response.models.validation_runs import validations_of
from ssc_response.serving.audit.access import AccessLog
from ssc_response.serving.audit.outcomes import OutcomeStore
from ssc_response.serving.audit.outcomes_metrics import gauges_for
from ssc_response.serving.audit.outcomes_validation import Prospective, ResponseRule, prospective
from ssc_response.serving.deps import HolderDep, ServicesDep, SettingsDep
from ssc_response.serving.keys import Role
from ssc_response.serving.pages.deps import ModelPage, PageDenied, PagesDep, SignedIn, render
from ssc_response.serving.routers.model import describe

router = APIRouter(include_in_schema=False)
CARD_ARTIFACT = "model_card.md"
HEADLINE = (("auroc", "AUROC (discrimination)"), ("brier", "Brier score (lower is better)"),
            ("calibration_slope", "Calibration slope (1 is ideal)"),
            ("calibration_intercept", "Calibration intercept (0 is ideal)"),
            ("delta_mae", "ΔmRSS mean absolute error (points)"))


@dataclass(frozen=True)
class Period:
    """A registered version and what the registry says about its promotion."""

    record: VersionRecord
    champion_from: datetime | None
    champion_until: datetime | None


def champion_periods(history: list[VersionRecord]) -> list[Period]:
    """Each version with the time it held ``champion``, reconstructed from the promotion tags.

    ``train`` moves the alias to a version as it registers it when the gate passes, so a passed
    version was champion from its registration until the next passed one. Alias moves made by
    hand are not recorded by MLflow; the current holder is shown as the registry has it.
    """
    passed = [r for r in history if r.promotion == "passed"]
    periods = []
    for record in history:
        start = record.registered_at if record.promotion == "passed" else None
        later = [p.registered_at for p in passed if int(p.version) > int(record.version)]
        periods.append(Period(record, start, min(later) if start and later else None))
    return list(reversed(periods))  # newest first


@router.get("/model")
def model_page(request: Request, signed: ModelPage, pages: PagesDep, holder: HolderDep,
               settings: SettingsDep, services: ServicesDep) -> Any:
    """The served model: metrics with intervals, model card, alias history, MLflow links."""
    loaded = holder.loaded
    info, served = describe(loaded, holder.uri), loaded.served
    if served.ref.run_id not in pages.cards:
        pages.cards[served.ref.run_id] = run_text(served.ref.run_id, CARD_ARTIFACT)
    card = pages.cards[served.ref.run_id]
    context = {
        "signed": signed, "info": info, "headline": _headline(info.metrics),
        "card": Markup(_markdown().render(card)) if card else None,  # raw HTML disabled
        "periods": champion_periods(version_history(served.ref.name)),
        "links": _links(settings.mlflow_ui_url, served.experiment_id, served.ref),
        # External validations of this version (``ssc-response validate``), newest first.
        "validations": validations_of(served.ref.name, served.ref.version),
        "plots": _plots_shown(signed, served.ref.run_id),
        "prospective": _prospective(signed, services, served),
    }
    return render(request, pages, "model.html", context)


def _prospective(signed: Any, services: Any, served: Any) -> Prospective | None:
    """The served version's predictions that met their outcome (researchers only); reading the
    outcomes is recorded as an access, and the O/E band is shown on ``/metrics`` too."""
    if signed.key.role != Role.RESEARCHER:
        return None
    version = served.ref.version
    AccessLog(services.engine).record(signed.key.key_id, "view",
                                      detail=f"outcomes of model version {version}")
    outcomes, waiting = OutcomeStore(services.engine).for_version(version)
    result = prospective(version, outcomes, waiting, ResponseRule.of(served.model))
    latest = result.oe_over_time[-1] if result.oe_over_time else None
    gauges_for(services.metrics.registry).show(version, result.n_with_outcome, waiting, latest)
    return result


# --- the run's validation plots (researchers) ---------------------------------------------------

# name in the URL -> (artifact logged by training/run_reports.py, what the figure shows)
PLOTS = {
    "roc": ("plots/roc.png", "ROC curve: the apparent curve (training data) beside the "
                             "cross-validated one"),
    "calibration": ("plots/calibration.png", "Calibration: observed against predicted "
                                             "probability of response, with slope and intercept"),
    "decision_curve": ("plots/decision_curve.png", "Decision curve: net benefit by threshold "
                                                   "probability, against treating all or none"),
}


async def _researcher(signed: ModelPage) -> SignedIn:
    if signed.key.role is not Role.RESEARCHER:
        raise PageDenied(403, "The validation plots are for the researcher role; you are signed "
                              f"in with a {signed.key.role.value} key.")
    return signed


ResearcherPage = Annotated[SignedIn, Depends(_researcher)]


@router.get("/model/plots/{name}.png")
def model_plot(name: str, _signed: ResearcherPage, holder: HolderDep) -> Response:
    """One validation plot of the served model's run, as logged with it (researcher)."""
    image = _run_png(holder.loaded.served.ref.run_id, PLOTS[name][0]) if name in PLOTS else None
    if image is None:
        raise PageDenied(404, "The served model's run has no such plot.")
    return Response(image, media_type="image/png", headers={"Cache-Control": "private"})


def _plots_shown(signed: SignedIn, run_id: str | None) -> list[dict[str, str]]:
    """The plots the page shows: to researchers, those the run logged."""
    if signed.key.role is not Role.RESEARCHER or not run_id:
        return []
    return [{"src": f"/model/plots/{name}.png", "caption": caption}
            for name, (path, caption) in PLOTS.items() if _run_png(run_id, path) is not None]


@lru_cache(maxsize=3 * 4)  # the plots of a few runs: a run's artifacts never change
def _run_png(run_id: str, artifact_path: str) -> bytes | None:
    """A PNG artifact of a run, or None when it was not logged."""
    import mlflow
    from mlflow.exceptions import MlflowException

    with tempfile.TemporaryDirectory() as folder:
        try:
            local = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=artifact_path, dst_path=folder)
        except (MlflowException, OSError):
            return None
        return Path(local).read_bytes()


def _headline(metrics: dict[str, float]) -> list[dict[str, Any]]:
    rows = []
    for name, text in HEADLINE:
        value = metrics.get(f"{name}_corrected")
        if value is not None:
            rows.append({"name": text, "value": value,
                         "low": metrics.get(f"{name}_corrected_ci_low"),
                         "high": metrics.get(f"{name}_corrected_ci_high")})
    return rows


def _markdown() -> MarkdownIt:
    """CommonMark with tables; HTML in the card is shown as text, never run."""
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def _links(ui: str | None, experiment_id: str | None, ref: Any) -> dict[str, str]:
    if not ui:
        return {}
    base = ui.rstrip("/")
    links = {"model": f"{base}/#/models/{ref.name}/versions/{ref.version}"}
    if experiment_id:
        links["run"] = f"{base}/#/experiments/{experiment_id}/runs/{ref.run_id}"
    return links
