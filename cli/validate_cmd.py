"""``validate``: a registered model, as served, on another centre's cohort with known outcomes."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from ssc_response.cli.options import DatabaseUrl

DEFAULT_MODEL_URI = "models:/ssc-skin-response@champion"


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def validate(
    data: Annotated[Path | None, typer.Option(
        help="Cohort CSV or Parquet with baseline and follow-up columns (not with --served).",
        exists=True, dir_okay=False, readable=True)] = None,
    model: Annotated[str, typer.Option(help="Registry URI of the model.")] = DEFAULT_MODEL_URI,
    centre: Annotated[str | None, typer.Option(
        help="Name of the centre (default: the file's name).")] = None,
    served: Annotated[bool, typer.Option(
        "--served", help="Validate the predictions the service served, against the outcomes "
                         "recorded for them in the audit trail.")] = False,
    model_version: Annotated[str | None, typer.Option(
        help="With --served: the model version (default: the version --model names).")] = None,
    candidate: Annotated[str | None, typer.Option(
        help="With --served: a registry URI to replay the stored inputs through, side by side "
             "with the served version.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Externally validate a registered model: discrimination, calibration, net benefit."""
    if served:
        if data is not None:
            _fail("--served validates the outcomes in the audit trail; leave out --data")
        _validate_served(model, model_version, database_url, candidate)
        return
    if data is None:
        _fail("give --data (a cohort with follow-up), or --served")
        return
    from ssc_response.features.validation import ContractError
    from ssc_response.models.registry import ModelNotFoundError
    from ssc_response.training.external_validation import run_validation

    try:
        result = run_validation(model, data, centre)
    except ContractError as error:
        for problem in error.problems:
            typer.echo(str(problem), err=True)
        _fail(f"{data}: {len(error.problems)} problem(s); nothing was validated")
    except (ModelNotFoundError, FileNotFoundError, ValueError) as error:
        _fail(str(error))
    for line in report_lines(result):
        typer.echo(line)


def _ci(metrics: dict[str, float], name: str, digits: int) -> str:
    value = metrics[name]
    low, high = metrics.get(f"{name}_ci_low", math.nan), metrics.get(f"{name}_ci_high", math.nan)
    return f"{value:.{digits}f} (95 % CI {low:.{digits}f} to {high:.{digits}f})"


def report_lines(result) -> list[str]:  # noqa: ANN001 - ExternalValidation, lazily imported
    """The validation in words, in the order of the report."""
    m = result.summary.metrics
    lines = [f"validated {result.model_uri} (version {result.version}) on "
             f"{int(m['n_patients'])} patients with a known outcome ({int(m['n_events'])} "
             f"responders; {result.n_excluded} excluded: outcome unknown); run {result.run_id}"]
    warning = result.sample_size.warning()
    lines.append(f"warning: {warning}" if warning else
                 f"sample size: enough (Riley et al. 2021 ask for {result.sample_size.n_required})")
    lines += [
        f"  C statistic (AUROC) {_ci(m, 'auroc', 3)}",
        f"  O/E {_ci(m, 'oe_ratio', 2)}; calibration-in-the-large "
        f"{_ci(m, 'calibration_in_the_large', 2)} (> 0: risks underestimated)",
        f"  calibration slope {_ci(m, 'calibration_slope', 2)} (< 1: predictions too extreme)",
        f"  ICI {m['ici']:.3f}, E50 {m['e50']:.3f}, E90 {m['e90']:.3f}, Emax {m['emax']:.3f}",
        f"  Brier {m['brier']:.3f}, scaled Brier {m['scaled_brier']:.3f}",
    ]
    benefit = sorted(k for k in m if k.startswith("net_benefit_t") and not k.endswith(
        ("_ci_low", "_ci_high")))
    lines += [f"  net benefit at {int(k.removeprefix('net_benefit_t'))} %: {_ci(m, k, 3)}"
              for k in benefit]
    lines.append(f"  ΔmRSS: interval coverage {m['delta_interval_coverage']:.0%}, MAE of the "
                 f"predicted change {m['delta_mae']:.2f} points")
    for note in result.summary.notes:
        lines.append(f"note: {note}")
    lines.append("by subgroup:")
    for row in result.subgroups.to_dict("records"):
        if isinstance(row.get("note"), str):
            lines.append(f"  {row['subgroup']}: n {row['n_patients']}, {row['note']}")
        else:
            lines.append(f"  {row['subgroup']}: n {row['n_patients']}, AUROC {row['auroc']:.3f}, "
                         f"O/E {row['oe_ratio']:.2f}, slope {row['calibration_slope']:.2f}")
    return lines


def _validate_served(model: str, version: str | None, database_url: str | None,
                     candidate: str | None) -> None:
    """Prospective validation of one version from the audit trail (an audited read)."""
    import getpass

    from ssc_response.models.registry import ModelNotFoundError, load_served_model, resolve
    from ssc_response.serving.audit.access import AccessLog
    from ssc_response.serving.audit.outcomes import OutcomeStore
    from ssc_response.serving.audit.outcomes_validation import ResponseRule, prospective
    from ssc_response.serving.database import make_engine, resolve_database_url, schema_exists
    from ssc_response.training import tracking

    tracking.configure_tracking()
    try:
        ref = resolve(model)
        loaded = load_served_model(f"models:/{ref.name}/{version or ref.version}")
    except (ModelNotFoundError, ValueError) as error:
        _fail(str(error))
        return
    engine = make_engine(resolve_database_url(database_url), create_tables=False)
    try:
        if not schema_exists(engine):
            _fail("no service database at this URL: no served predictions to validate")
        engine.dispose()
        engine = make_engine(resolve_database_url(database_url))
        number = loaded.ref.version
        AccessLog(engine).record(f"cli:{getpass.getuser()}", "export",
                                 detail=f"outcomes of model version {number} (validate --served)")
        outcomes, waiting = OutcomeStore(engine).for_version(number)
        inputs = OutcomeStore(engine).served(number) if candidate else []
    finally:
        engine.dispose()
    rule = ResponseRule.of(loaded.model)
    for line in served_lines(prospective(number, outcomes, waiting, rule)):
        typer.echo(line)
    if candidate:
        from ssc_response.serving.audit.outcomes_candidate import compare

        try:
            other = load_served_model(candidate)
        except (ModelNotFoundError, ValueError) as error:
            _fail(str(error))
            return
        for line in candidate_lines(compare(number, other, inputs, outcomes, rule)):
            typer.echo(line)


def served_lines(result) -> list[str]:  # noqa: ANN001 - Prospective, lazily imported
    """The prospective validation in words."""
    lines = [f"model version {result.model_version}: {result.n_with_outcome} served "
             f"prediction(s) with an outcome ({result.n_events} responders), "
             f"{result.n_waiting} still waiting"]
    if result.summary is None:
        return [*lines, f"not estimated yet: {result.reason}"]
    m = result.summary.metrics
    lines += [
        f"  C statistic (AUROC) {_ci(m, 'auroc', 3)}",
        f"  O/E {_ci(m, 'oe_ratio', 2)}; calibration-in-the-large "
        f"{_ci(m, 'calibration_in_the_large', 2)}",
        f"  calibration slope {_ci(m, 'calibration_slope', 2)}",
        f"  ICI {m['ici']:.3f}, Brier {m['brier']:.3f}, scaled Brier {m['scaled_brier']:.3f}",
        "O/E over time (cumulative, by visit month):",
    ]
    lines += [f"  {p.month}: n {p.n}, O/E {p.oe:.2f} (95 % CI {p.low:.2f} to {p.high:.2f})"
              + (" - outside the band: calibration has drifted" if p.drifted else "")
              for p in result.oe_over_time]
    if result.drifted:
        lines.append("warning: calibration has drifted: the latest O/E band excludes 1")
    return lines


def candidate_lines(found) -> list[str]:  # noqa: ANN001 - CandidateComparison, lazily imported
    """The candidate beside the served version, in words."""
    lines = [f"candidate version {found.candidate_version} replayed on the "
             f"{found.n_inputs} stored input(s) of version {found.served_version}: "
             f"{len(found.moved)} probability(ies) would move by more than 10 points"]
    lines += [f"  {m.prediction_id} (patient {m.patient_id}): {m.served:.0%} -> "
              f"{m.candidate:.0%}" for m in found.moved]
    if found.served_metrics is None or found.candidate_metrics is None:
        return [*lines, f"side by side: not estimated ({found.n_with_outcome} outcome(s); at "
                        "least 10 responders and 10 non-responders are needed)"]
    lines.append(f"on the {found.n_with_outcome} predictions with an outcome "
                 "(served | candidate):")
    for name in ("auroc", "oe_ratio", "calibration_in_the_large", "calibration_slope", "brier",
                 "scaled_brier", "ici"):
        lines.append(f"  {name}: {found.served_metrics[name]:.3f} | "
                     f"{found.candidate_metrics[name]:.3f}")
    d = found.delta_auroc
    lines.append(f"  ΔAUROC (candidate - served) {d.value:+.3f} (paired DeLong 95 % CI "
                 f"{d.low:+.3f} to {d.high:+.3f}); ΔBrier {found.delta_brier:+.4f}")
    return lines


def register(app: typer.Typer) -> None:
    app.command()(validate)
