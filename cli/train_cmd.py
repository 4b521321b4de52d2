"""``train`` and ``runs``: the researcher's commands (``predict`` is in ``cli/predict_cmd.py``)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ssc_response.cli.options import (
    Encoding,
    MappingFile,
    Sheet,
    fail,
    fail_with_problems,
    read_options,
)

if TYPE_CHECKING:
    from ssc_response.features.io import ReadOptions
from ssc_response.cli.tables import COLUMNS_HELP

DEFAULT_EXPERIMENT = "default"
EXPERIMENT_HELP = ("Built-in experiment by name (default, quick) or the path of an experiment "
                   "YAML file.")


def run_with_progress(experiment: str, data: Path,  # noqa: ANN201 - RunSummary, lazily imported
                      reading: ReadOptions | None = None):
    """Run an experiment with a spinner and a count of model fits on stderr."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from ssc_response.training.run import run_experiment

    columns = (SpinnerColumn(), TextColumn("{task.description}"),
               TextColumn("{task.completed} fits"), TimeElapsedColumn())
    with Progress(*columns, transient=True, console=_stderr_console()) as progress:
        task = progress.add_task("fitting", total=None)

        def tick(label: str) -> None:
            progress.update(task, advance=1, description=f"fitting {label}")

        try:
            return run_experiment(experiment, data, tick=tick, reading=reading)
        finally:
            release_worker_pools()


def release_worker_pools() -> None:
    """Stop the worker processes the resamples ran in, and remove their memory-mapped folders.

    joblib keeps its loky pool alive for reuse. After training in a process that goes on to
    serve (``demo``, ``stack``), its workers, semaphores and folders would live as long as the
    server, and if that process ends without joblib's own clean-up (killed, or its workers
    stopped by the same Ctrl-C), loky's resource tracker reports them as "leaked". Released
    here, in order, nothing is left to report; real warnings are untouched.
    """
    from joblib.executor import MemmappingExecutor
    from joblib.externals.loky import get_reusable_executor

    pool = get_reusable_executor(reuse=True)  # the running pool (an idle new one if none ran)
    if isinstance(pool, MemmappingExecutor):
        pool.terminate()  # joblib's pool: its temporary folders too
    else:
        pool.shutdown(wait=True)


def train(
    data: Annotated[Path, typer.Option(help="Cohort: CSV, Excel (.xlsx) or Parquet "
                                            "(data-dictionary columns, or --mapping).",
                                       exists=True, dir_okay=False, readable=True)],
    experiment: Annotated[str, typer.Option(help=EXPERIMENT_HELP)] = DEFAULT_EXPERIMENT,
    encoding: Encoding = None,
    sheet: Sheet = None,
    mapping: MappingFile = None,
) -> None:
    """Train, validate the whole procedure, log to MLflow and register a model version."""
    from ssc_response.features.file_errors import FileProblem
    from ssc_response.features.validation import ContractError
    from ssc_response.training.config import ExperimentConfigError

    reading = read_options(encoding, sheet, mapping)
    try:
        summary = run_with_progress(experiment, data, reading)
    except ContractError as error:
        fail_with_problems(data, error, "nothing was trained")
    except FileProblem as error:
        fail(f"{data.name}: {error}")
    except (ExperimentConfigError, FileNotFoundError, ValueError) as error:
        fail(str(error))
    print_summary(summary)


def _stderr_console():  # noqa: ANN202 - rich type kept local to the lazy import
    from rich.console import Console

    return Console(stderr=True)


def print_summary(summary) -> None:  # noqa: ANN001
    m = summary.metrics
    typer.echo(f"run {summary.run_id} ({summary.experiment}); {summary.n_patients} patients"
               f" ({summary.n_excluded} excluded: outcome unknown)")
    intercept, slope = summary.recalibration
    typer.echo(f"champion: {summary.champion}, recalibrated on its out-of-fold scores "
               f"(intercept {intercept:.2f}, slope {slope:.2f})")
    typer.echo("validated: the whole procedure (tuning, family choice, recalibration) by "
               f"{summary.validation_text}")
    typer.echo(
        f"  AUROC {_estimate(m, 'auroc', 3)} (apparent {m['auroc_apparent']:.3f}); "
        f"Brier {_estimate(m, 'brier', 3)}"
    )
    typer.echo(
        f"  calibration slope {_estimate(m, 'calibration_slope', 2)}, intercept "
        f"{_estimate(m, 'calibration_intercept', 2)}"
    )
    typer.echo(f"  ΔmRSS MAE {_estimate(m, 'delta_mae', 2)} points")
    if "delta_auroc_corrected" in m:
        for line in comparison_lines(m):
            typer.echo(line)
    if summary.sample_size_warning:
        typer.echo(f"warning: {summary.sample_size_warning}")
    print_gate(summary.gate)
    reg = summary.registration
    if reg.promoted:
        typer.echo(f"registered {reg.name} version {reg.version}; alias 'champion' moved to it")
    else:
        typer.echo(f"registered {reg.name} version {reg.version}; NOT promoted (the gate failed), "
                   "alias 'champion' not moved")


def print_gate(checks) -> None:  # noqa: ANN001 - GateCheck, lazily imported
    """The promotion gate as a table: each threshold, the validated value, pass or FAIL."""
    from rich.console import Console

    from ssc_response.cli.tables import gate_table

    if not checks:
        typer.echo("promotion gate: the experiment sets no thresholds")
        return
    typer.echo("promotion gate (the experiment's thresholds, on the validated values):")
    Console(highlight=False).print(gate_table(checks))


def comparison_lines(metrics: dict[str, float]) -> list[str]:
    """The paired feature-set comparison (``comparison:`` in the experiment) in words."""
    low, high = metrics["delta_auroc_ci_low"], metrics["delta_auroc_ci_high"]
    lines = [
        "compared with the reference feature set on the same resamples (this minus reference):",
        f"  ΔAUROC {metrics['delta_auroc_corrected']:+.3f} (CI {low:+.3f} to {high:+.3f}); "
        f"ΔBrier {metrics['delta_brier_corrected']:+.4f} (CI {metrics['delta_brier_ci_low']:+.4f}"
        f" to {metrics['delta_brier_ci_high']:+.4f}; negative is better)",
    ]
    benefit = sorted((name, value) for name, value in metrics.items()
                     if name.startswith("delta_net_benefit_t"))
    if benefit:
        lines.append("  Δnet benefit " + ", ".join(
            f"{int(name.removeprefix('delta_net_benefit_t'))} %: {value:+.3f}"
            for name, value in benefit) + " (by threshold probability)")
    lines.append("  " + _verdict(low, high))
    return lines


def _verdict(low: float, high: float) -> str:
    """What the ΔAUROC interval allows one to say, and no more."""
    if low > 0:
        return "the added fields improve discrimination (the interval excludes 0)"
    if high < 0:
        return "the added fields worsen discrimination (the interval excludes 0)"
    return ("no evidence either way: the interval includes 0 (a larger cohort could still "
            "find a difference of the interval's size)")


def _estimate(metrics: dict[str, float], name: str, digits: int) -> str:
    """``value (95% CI low to high; Monte-Carlo error)`` of a validated metric; the MC error
    is left out when one repeat cannot estimate it."""
    value, low, high, mc = (metrics[f"{name}_corrected{suffix}"]
                            for suffix in ("", "_ci_low", "_ci_high", "_mc_error"))
    mc_text = "" if math.isnan(mc) else f"; Monte-Carlo error ±{mc:.{digits}f}"
    return f"{value:.{digits}f} (CI {low:.{digits}f} to {high:.{digits}f}{mc_text})"


def _columns_option(text: str | None) -> list[str] | None:
    from ssc_response.cli.tables import parse_columns

    try:
        return parse_columns(text)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="'--columns'") from None


def runs(
    experiment: Annotated[str, typer.Option(help=EXPERIMENT_HELP)] = DEFAULT_EXPERIMENT,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    columns: Annotated[str | None, typer.Option(help=COLUMNS_HELP)] = None,
) -> None:
    """Leaderboard of an experiment's runs, best validated AUROC first."""
    chosen = _columns_option(columns)  # a usage error before any work
    import mlflow
    from rich.console import Console

    from ssc_response.cli.tables import print_leaderboard
    from ssc_response.training.config import ExperimentConfigError, load_experiment
    from ssc_response.training.tracking import configure_tracking

    try:
        config = load_experiment(experiment)
    except ExperimentConfigError as error:
        fail(str(error))
    configure_tracking()
    frame = mlflow.search_runs(experiment_names=[config.name], max_results=limit,
                               order_by=["metrics.auroc_corrected DESC"])
    if frame.empty:
        typer.echo(f"no runs yet for experiment {config.name!r}")
        return
    print_leaderboard(Console(highlight=False), frame, chosen)


def register(app: typer.Typer) -> None:
    app.command()(train)
    app.command()(runs)

