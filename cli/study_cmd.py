"""``ssc-response study``: how honest are an experiment's numbers at 40, 80, 150, 300 patients?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ssc_response.training.simulation.scenarios import SCENARIOS


def register(app: typer.Typer) -> None:
    app.command("study")(study)
    app.command("study-compare")(study_compare)


def _sizes(value: str) -> list[int]:
    try:
        sizes = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"--n takes whole numbers separated by commas, got {value!r}") from None
    if not sizes or min(sizes) < 20:
        raise typer.BadParameter("--n needs cohort sizes of at least 20 patients")
    return sizes


def _scenarios(value: str) -> list[str]:
    names = list(SCENARIOS) if value == "all" else [s.strip() for s in value.split(",")]
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        raise typer.BadParameter(f"unknown scenario(s) {unknown}; known: {', '.join(SCENARIOS)}"
                                 " (or 'all')")
    return names


def study(
    n: Annotated[str, typer.Option("--n", help="Cohort sizes, comma-separated.")] = (
        "40,80,150,300"),
    seeds: Annotated[int, typer.Option(min=1, max=1000, help="Cohorts per size.")] = 20,
    scenario: Annotated[str, typer.Option(
        help="Scenario(s), comma-separated, or 'all': " + ", ".join(SCENARIOS) + ".")] = (
        "founding_centre"),
    experiment: Annotated[str, typer.Option(
        help="Experiment to study: a built-in name or a YAML path.")] = "default",
    fresh: Annotated[int, typer.Option(
        min=1000, help="Fresh patients per scenario that the reported numbers are checked on.",
    )] = 20_000,
    output: Annotated[Path, typer.Option(help="Folder for the tables and plots.")] = Path("study"),
) -> None:
    """Simulate cohorts, run the experiment on each, check its numbers on fresh patients.

    Writes results.csv (one row per cohort), summary.csv / summary.md (per scenario and size)
    and plots into --output, and logs them as one MLflow run (experiment ssc-response-study).
    """
    sizes, scenarios = _sizes(n), _scenarios(scenario)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ssc_response.training.config import ExperimentConfigError, load_experiment
    from ssc_response.training.study import run_study, summarise, summary_markdown
    from ssc_response.training.study_report import log_study, write_study

    try:
        config = load_experiment(experiment)
    except ExperimentConfigError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from None
    total = len(sizes) * len(scenarios) * seeds
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("simulated cohorts", total=total)
        results = run_study(config, scenarios, sizes, seeds, fresh,
                            lambda label: progress.update(task, advance=1, description=label))
    summary = summarise(results)
    paths = write_study(results, summary, output)
    run_id = log_study(config, results, summary, paths,
                       {"n": n, "seeds": seeds, "scenario": ",".join(scenarios),
                        "experiment": config.name, "fresh": fresh})
    typer.echo(summary_markdown(summary))
    typer.echo(f"wrote {', '.join(str(p) for p in paths)}; MLflow run {run_id}")


def study_compare(
    old: Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                        help="results.csv of the earlier study.")],
    new: Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                        help="results.csv of the later study (same seeds).")],
) -> None:
    """Compare two studies of the same cohorts seed by seed: AUROC and calibration slope, old
    and new, paired differences with Monte-Carlo standard errors, and whether the new is no
    worse (AUROC within 0.01, slope within 0.1), on fresh patients and as reported."""
    import pandas as pd

    from ssc_response.training.study_compare import compare_studies, comparison_markdown

    comparison = compare_studies(pd.read_csv(old), pd.read_csv(new))
    for kind, title in (("external", "deployment (fresh patients)"),
                        ("reported", "reported (nested CV)")):
        typer.echo(f"\n{title}\n")
        typer.echo(comparison_markdown(comparison, kind))
