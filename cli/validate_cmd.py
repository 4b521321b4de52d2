"""``validate``: a registered model, as served, on another centre's cohort with known outcomes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ssc_response.cli.options import DatabaseUrl, Encoding, MappingFile, Sheet, read_options
from ssc_response.cli.report_numbers import ci

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
    encoding: Encoding = None,
    sheet: Sheet = None,
    mapping: MappingFile = None,
) -> None:
    """Externally validate a registered model: discrimination, calibration, net benefit."""
    if served:
        if data is not None:
            _fail("--served validates the outcomes in the audit trail; leave out --data")
        from ssc_response.cli.validate_served import validate_served

        validate_served(model, model_version, database_url, candidate)
        return
    if data is None:
        _fail("give --data (a cohort with follow-up), or --served")
        return
    from ssc_response.features.validation import ContractError
    from ssc_response.models.registry import ModelNotFoundError
    from ssc_response.training.external_validation import run_validation

    try:
        result = run_validation(model, data, centre, read_options(encoding, sheet, mapping))
    except ContractError as error:
        for problem in error.problems:
            typer.echo(str(problem), err=True)
        _fail(f"{data}: {len(error.problems)} problem(s); nothing was validated")
    except (ModelNotFoundError, FileNotFoundError, ValueError) as error:
        _fail(str(error))
    for line in report_lines(result):
        typer.echo(line)




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
        f"  C statistic (AUROC) {ci(m, 'auroc', 3)}",
        f"  O/E {ci(m, 'oe_ratio', 2)}; calibration-in-the-large "
        f"{ci(m, 'calibration_in_the_large', 2)} (> 0: risks underestimated)",
        f"  calibration slope {ci(m, 'calibration_slope', 2)} (< 1: predictions too extreme)",
        f"  ICI {m['ici']:.3f}, E50 {m['e50']:.3f}, E90 {m['e90']:.3f}, Emax {m['emax']:.3f}",
        f"  Brier {m['brier']:.3f}, scaled Brier {m['scaled_brier']:.3f}",
    ]
    benefit = sorted(k for k in m if k.startswith("net_benefit_t") and not k.endswith(
        ("_ci_low", "_ci_high")))
    lines += [f"  net benefit at {int(k.removeprefix('net_benefit_t'))} %: {ci(m, k, 3)}"
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


def register(app: typer.Typer) -> None:
    app.command()(validate)
