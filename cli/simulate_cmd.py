"""``ssc-response simulate``: write a synthetic cohort and/or report it against the literature."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ssc_response.training.simulation.scenarios import SCENARIOS, UnknownScenarioError, get_scenario

if TYPE_CHECKING:
    import pandas as pd

OUTPUT_SUFFIXES: tuple[str, ...] = (".csv", ".parquet", ".pq")


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command to ``app``."""
    app.command("simulate")(simulate)


def _scenario_name(value: str) -> str:
    """Reject an unknown scenario before any work, naming the valid ones."""
    try:
        return get_scenario(value).name
    except UnknownScenarioError as error:
        raise typer.BadParameter(str(error)) from None


def _output_path(value: Path | None) -> Path | None:
    if value is not None and value.suffix.lower() not in OUTPUT_SUFFIXES:
        expected = ", ".join(OUTPUT_SUFFIXES)
        raise typer.BadParameter(f"unsupported file type {value.suffix!r}: expected {expected}")
    return value


def simulate(
    n: Annotated[int, typer.Option("--n", min=1, help="Number of patients.")] = 200,
    seed: Annotated[int, typer.Option(min=0, help="Random seed; same seed, same cohort.")] = 42,
    scenario: Annotated[
        str,
        typer.Option(
            callback=_scenario_name,
            help="Cohort scenario: "
            + "; ".join(f"{name} ({sc.description})" for name, sc in SCENARIOS.items())
            + ".",
        ),
    ] = "founding_centre",
    output: Annotated[
        Path | None,
        typer.Option(
            callback=_output_path,
            help="File to write: .csv or .parquet (chosen by extension; written atomically).",
        ),
    ] = None,
    report: Annotated[
        bool,
        typer.Option("--report", help="Print summary statistics beside literature targets."),
    ] = False,
) -> None:
    """Simulate a synthetic cohort with every data-dictionary field (baseline and follow-up)."""
    if output is None and not report:
        # Typer vendors its own click, so a click.UsageError would escape as a crash.
        raise typer.BadParameter(
            "nothing to do: give --output FILE, --report, or both", param_hint="'--output'"
        )
    from ssc_response.features.io import write_table
    from ssc_response.training.simulation import compare_with_targets, simulate_cohort

    frame = simulate_cohort(n, seed, scenario)
    if output is not None:
        write_table(frame, output)
        typer.echo(f"Wrote {len(frame)} simulated patients ({scenario}, seed {seed}) to {output}.")
    if report:
        typer.echo(_report_text(compare_with_targets(frame, scenario)))


def _report_text(table: pd.DataFrame) -> str:
    """The comparison table as aligned text; ``within`` as yes/no (blank without a target)."""
    import pandas as pd

    within = table["within"].map({True: "yes", False: "no"}).astype(object).fillna("")
    shown = table.round(2).assign(within=within)
    with pd.option_context("display.width", 200, "display.max_rows", None):
        return shown.to_string(na_rep="")
