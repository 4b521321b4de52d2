"""``validate --served``: prospective validation of a served version from the audit trail.

The served predictions of one version that met their recorded outcome are validated with the
same statistics as ``validate`` (:mod:`serving.audit.outcomes_validation`); with
``--candidate``, the stored inputs are replayed through another version and compared
(:mod:`serving.audit.outcomes_candidate`). Reading the outcomes is an audited access. The result
is logged as a run of the validations experiment (``validation.kind`` "prospective"), tagged with
the model and, as the data's digest, the head hash of the outcome chain: the exact outcomes used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from ssc_response.cli.options import fail
from ssc_response.cli.report_numbers import ci

if TYPE_CHECKING:
    from ssc_response.serving.audit.outcomes import StoredOutcome
    from ssc_response.serving.audit.records import AuditRecord


def validate_served(model: str, version: str | None, database_url: str | None,
                    candidate: str | None) -> None:
    """Prospective validation of one version from the audit trail (an audited read), logged."""
    from ssc_response.models.registry import ModelNotFoundError, load_served_model, resolve
    from ssc_response.serving.audit.outcomes_validation import ResponseRule, prospective
    from ssc_response.training import tracking

    tracking.configure_tracking()
    try:
        ref = resolve(model)
        loaded = load_served_model(f"models:/{ref.name}/{version or ref.version}")
        other = load_served_model(candidate) if candidate else None
    except (ModelNotFoundError, ValueError) as error:
        fail(str(error))
    number = loaded.ref.version
    outcomes, waiting, inputs, digest = _read_trail(database_url, number, other is not None)
    rule = ResponseRule.of(loaded.model)
    result = prospective(number, outcomes, waiting, rule)
    for line in served_lines(result):
        typer.echo(line)
    found = None
    if other is not None:
        from ssc_response.serving.audit.outcomes_candidate import compare

        found = compare(number, other, inputs, outcomes, rule)
        for line in candidate_lines(found):
            typer.echo(line)
    run_id = _log(loaded, result, found, digest)
    typer.echo(f"logged as run {run_id} of the validations experiment")


def _read_trail(database_url: str | None, version: str, with_inputs: bool,
                ) -> tuple[list[StoredOutcome], int, list[AuditRecord], str]:
    """The version's outcomes, how many wait, its stored inputs (for a candidate) and the
    outcome chain's head hash; the read is recorded as an access."""
    import getpass

    from ssc_response.serving.audit.access import AccessLog
    from ssc_response.serving.audit.outcomes import OutcomeStore
    from ssc_response.serving.audit.trail import read_heads
    from ssc_response.serving.database import make_engine, resolve_database_url, schema_exists

    engine = make_engine(resolve_database_url(database_url), create_tables=False)
    try:
        if not schema_exists(engine):
            fail("no service database at this URL: no served predictions to validate")
        engine.dispose()
        engine = make_engine(resolve_database_url(database_url))
        AccessLog(engine).record(f"cli:{getpass.getuser()}", "export",
                                 detail=f"outcomes of model version {version} (validate --served)")
        store = OutcomeStore(engine)
        outcomes, waiting = store.for_version(version)
        inputs = store.served(version) if with_inputs else []
        with engine.connect() as conn:
            digest = read_heads(conn)["outcomes"].hash
    finally:
        engine.dispose()
    return outcomes, waiting, inputs, digest


def _log(loaded, result, found, digest: str) -> str:  # noqa: ANN001 - lazily imported types
    """One run of the validations experiment: the prospective metrics (and the candidate's)."""
    import mlflow

    from ssc_response.models.validation_runs import validations_experiment
    from ssc_response.training import tracking

    ref = loaded.ref
    tracking.use_experiment(validations_experiment())
    with mlflow.start_run(run_name=f"{ref.name} v{ref.version} prospective") as run:
        mlflow.set_tags({"model.name": ref.name, "model.version": ref.version,
                         "model.run_id": ref.run_id, "model.uri": ref.uri,
                         "validation.kind": "prospective", "centre": "served predictions",
                         "data.name": "audit trail (outcome chain head)", "data.sha256": digest,
                         "notes": (result.reason or "")[:4000]})
        metrics = {"n_with_outcome": float(result.n_with_outcome),
                   "n_waiting": float(result.n_waiting)}
        if result.summary is not None:
            metrics |= result.summary.metrics
        if result.oe_over_time:
            metrics["calibration_drift"] = float(result.drifted)
        if found is not None:
            mlflow.set_tag("candidate.version", found.candidate_version)
            metrics["candidate_n_moved_10pt"] = float(len(found.moved))
            if found.candidate_metrics is not None and found.delta_auroc is not None:
                metrics |= {f"candidate_{k}": v for k, v in found.candidate_metrics.items()}
                metrics |= {"delta_auroc": found.delta_auroc.value,
                            "delta_auroc_ci_low": found.delta_auroc.low,
                            "delta_auroc_ci_high": found.delta_auroc.high,
                            "delta_brier": float(found.delta_brier or 0.0)}
        tracking.log_metrics(metrics)
    return str(run.info.run_id)


def served_lines(result) -> list[str]:  # noqa: ANN001 - Prospective, lazily imported
    """The prospective validation in words."""
    lines = [f"model version {result.model_version}: {result.n_with_outcome} served "
             f"prediction(s) with an outcome ({result.n_events} responders), "
             f"{result.n_waiting} still waiting"]
    if result.summary is None:
        return [*lines, f"not estimated yet: {result.reason}"]
    m = result.summary.metrics
    lines += [
        f"  C statistic (AUROC) {ci(m, 'auroc', 3)}",
        f"  O/E {ci(m, 'oe_ratio', 2)}; calibration-in-the-large "
        f"{ci(m, 'calibration_in_the_large', 2)}",
        f"  calibration slope {ci(m, 'calibration_slope', 2)}",
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


