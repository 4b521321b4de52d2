"""``update``: update a registered model for a new centre and register the chosen update."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ssc_response.cli.options import Encoding, MappingFile, Sheet, read_options

DEFAULT_MODEL_URI = "models:/ssc-skin-response@champion"


class Method(StrEnum):
    intercept = "intercept"
    recalibration = "recalibration"
    refit = "refit"


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def update(
    data: Annotated[Path, typer.Option(help="The new centre's cohort (baseline and follow-up).",
                                       exists=True, dir_okay=False, readable=True)],
    model: Annotated[str, typer.Option(help="Registry URI of the model.")] = DEFAULT_MODEL_URI,
    method: Annotated[Method | None, typer.Option(
        help="Force an update instead of the closed test's choice.")] = None,
    encoding: Encoding = None,
    sheet: Sheet = None,
    mapping: MappingFile = None,
) -> None:
    """Update a model for a new centre: intercept, recalibration or refit, chosen by a closed
    test, validated on the new centre and registered through the promotion gate."""
    from ssc_response.features.validation import ContractError
    from ssc_response.models.registry import ModelNotFoundError
    from ssc_response.training.update_run import run_update

    try:
        summary = run_update(model, data, None if method is None else method.value,
                             read_options(encoding, sheet, mapping))
    except ContractError as error:
        for problem in error.problems:
            typer.echo(str(problem), err=True)
        _fail(f"{data}: {len(error.problems)} problem(s); nothing was updated")
    except (ModelNotFoundError, FileNotFoundError, ValueError) as error:
        _fail(str(error))
    typer.echo(f"closed test on {data.name} (each simpler model against the refit, 5 %):")
    for name, statistic, df, p in summary.test.tests:
        typer.echo(f"  {name}: LR {statistic:.2f}, df {df}, p {p:.4f}")
    if summary.registration is None:
        typer.echo(f"the served model {summary.parent} transports: no update registered")
        return
    m = summary.metrics
    typer.echo(f"update: {summary.method}; validated on the new centre: "
               f"AUROC {m['auroc_corrected']:.3f}, "
               f"calibration slope {m['calibration_slope_corrected']:.2f}, "
               f"intercept {m['calibration_intercept_corrected']:.2f}, "
               f"Brier {m['brier_corrected']:.3f}")
    reg = summary.registration
    if reg.promoted:
        typer.echo(f"registered {reg.name} version {reg.version}; alias 'champion' moved to it")
    else:
        typer.echo(f"registered {reg.name} version {reg.version}; NOT promoted:")
        for failure in reg.failures:
            typer.echo(f"  - {failure}")


def register(app: typer.Typer) -> None:
    app.command()(update)
