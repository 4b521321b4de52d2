"""``ssc-response audit``: check the tamper-evident audit trail of served predictions."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ssc_response.cli.options import DatabaseUrl

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from ssc_response.serving.audit.checkpoint import Checkpoint
    from ssc_response.serving.audit.records import VerifyResult
    from ssc_response.serving.audit.trail import TrailReport

EXIT_OK, EXIT_BROKEN, EXIT_UNUSABLE = 0, 1, 2
CHECKPOINT_FILE_ENV = "SSC_AUDIT_CHECKPOINT_FILE"


def register(app: typer.Typer) -> None:
    """Add the ``audit`` sub-command group (``verify``, ``replay``) to ``app``."""
    audit_app = typer.Typer(
        help="Inspect the audit trail of served predictions.", no_args_is_help=True
    )
    audit_app.command("verify")(verify)
    audit_app.command("replay")(replay)
    app.add_typer(audit_app, name="audit")


CheckpointsOption = Annotated[
    Path | None,
    typer.Option("--checkpoints", help="Signed checkpoints to check the chain against, e.g. "
                 "your own copy (default: $SSC_AUDIT_CHECKPOINT_FILE, else the file beside "
                 "the database)."),
]
PublicKeyOption = Annotated[
    Path | None,
    typer.Option("--public-key", help="The signer's public key (PEM or base64) to trust "
                 "(default: derived from the configured signing key)."),
]


def verify(database_url: DatabaseUrl = None, checkpoints: CheckpointsOption = None,
           public_key: PublicKeyOption = None) -> None:
    """Verify both chains and check them against signed checkpoints; exit 1 on any problem."""
    from ssc_response.serving.audit.trail import verify_trail
    from ssc_response.serving.database import make_engine, resolve_database_url, schema_exists

    url = resolve_database_url(database_url)
    # Read-only: never create a database here, or a mistyped path would "verify" an empty trail.
    engine = make_engine(url, create_tables=False)
    if not schema_exists(engine):
        typer.echo(
            f"Error: no audit trail found in {engine.url.render_as_string(hide_password=True)}.",
            err=True,
        )
        raise typer.Exit(code=EXIT_UNUSABLE)
    path, found = _checkpoints(url, checkpoints)
    trusted = _trusted_key(url, public_key)
    report = verify_trail(engine, found, trusted)
    for line in report_lines(report, path, trusted is not None):
        typer.echo(line)
    if not report.ok:
        raise typer.Exit(code=EXIT_BROKEN)


def _checkpoints(url: str, given: Path | None) -> tuple[Path, list[Checkpoint]]:
    """The checkpoint file to use and what it holds; an unreadable file is a usage error."""
    from ssc_response.serving.audit.checkpoint import CheckpointFileError, read_all
    from ssc_response.serving.audit.signing import default_checkpoint_path

    path = given or Path(os.environ.get(CHECKPOINT_FILE_ENV) or default_checkpoint_path(url))
    if given is not None and not given.is_file():
        typer.echo(f"Error: no checkpoint file at {given}.", err=True)
        raise typer.Exit(code=EXIT_UNUSABLE)
    try:
        return path, read_all(path)
    except CheckpointFileError as error:
        typer.echo(f"Error: {error}.", err=True)
        raise typer.Exit(code=EXIT_UNUSABLE) from None


def _trusted_key(url: str, given: Path | None) -> Ed25519PublicKey | None:
    """The public key to check signatures with: given, else the configured key's, else none."""
    from ssc_response.serving.audit.signing import (
        KEY_ENV,
        KEY_FILE_ENV,
        SigningKeyError,
        public_key_from_text,
        resolve_private_key,
    )

    try:
        if given is not None:
            return public_key_from_text(given.read_text(encoding="utf-8"))
        key_file = os.environ.get(KEY_FILE_ENV)
        private = resolve_private_key(os.environ.get(KEY_ENV), Path(key_file) if key_file
                                      else None, url)
    except (SigningKeyError, OSError) as error:
        typer.echo(f"Error: {error}.", err=True)
        raise typer.Exit(code=EXIT_UNUSABLE) from None
    return None if private is None else private.public_key()


def report_lines(report: TrailReport, path: Path, trusted: bool) -> list[str]:
    """What ``audit verify`` prints: each chain, the checkpoints, then every problem found."""
    lines = [_chain_line("", report.predictions), _chain_line("Accesses: ", report.accesses)]
    if report.outcomes is not None:
        lines.append(_chain_line("Outcomes: ", report.outcomes))
    if report.latest is None:
        lines.append(f"No checkpoints at {path}: entries removed from the end of the chain "
                     "cannot be detected without one.")
    else:
        latest = report.latest
        lines.append(f"Checkpoints: {report.checkpoints} in {path}; the latest, signed "
                     f"{latest.signed_at}, covers predictions up to entry "
                     f"{latest.predictions.seq} and accesses up to entry {latest.accesses.seq}.")
        if not trusted:
            lines.append("Note: no trusted public key given; signatures were checked against "
                         "the key each checkpoint names (use --public-key).")
    lines += [f"{finding.kind.upper()}: {finding.message}"
              + (f" (first entry concerned: {finding.first_entry})" if finding.first_entry
                 else "") + "."
              for finding in report.findings]
    return lines


def _chain_line(prefix: str, result: VerifyResult) -> str:
    if result.ok:
        head = f"; head seq {result.head_seq} hash {result.head_hash}" if result.checked else ""
        return f"{prefix}OK: {result.checked} entries verified{head}."
    named = (f" (prediction_id {result.first_broken_prediction_id or 'unknown'})"
             if prefix == "" else "")
    return (f"{prefix}BROKEN at seq {result.first_broken_seq}{named}: {result.reason}. "
            f"{result.checked} entries verified before it.")


def replay(
    prediction_id: Annotated[str, typer.Argument(help="The prediction to recompute.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Recompute a stored prediction with its logged model version; exit 1 if it differs."""
    from ssc_response.models.registry import load_served_model
    from ssc_response.serving.audit import AuditStore
    from ssc_response.serving.audit.replay import ReplayError, replay_prediction
    from ssc_response.serving.database import make_engine, resolve_database_url, schema_exists
    from ssc_response.training.tracking import configure_tracking

    engine = make_engine(resolve_database_url(database_url), create_tables=False)
    record = AuditStore(engine).get(prediction_id) if schema_exists(engine) else None
    if record is None:
        typer.echo(f"Error: no audit entry with prediction_id {prediction_id}.", err=True)
        raise typer.Exit(code=EXIT_UNUSABLE)
    configure_tracking()
    try:
        result = replay_prediction(
            record, lambda name, version: load_served_model(f"models:/{name}/{version}")
        )
    except ReplayError as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(code=EXIT_UNUSABLE) from None
    model = f"{result.model_name} version {result.model_version}"
    if result.match:
        typer.echo(f"MATCH: prediction {prediction_id} recomputed with {model} "
                   f"({result.distance}).")
        return
    typer.echo(f"DIFFERS: prediction {prediction_id} recomputed with {model} "
               f"({result.distance}):")
    for difference in result.differences:
        typer.echo(f"  {difference.path}: recorded {difference.recorded!r}, "
                   f"replayed {difference.replayed!r}")
    raise typer.Exit(code=EXIT_BROKEN)
