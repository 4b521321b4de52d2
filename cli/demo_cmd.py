"""``demo``: the main job on a fresh machine - simulate, train, register, create keys, serve."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from ssc_response.cli.train_cmd import DEFAULT_EXPERIMENT, EXPERIMENT_HELP

ROLES = ("clinician", "auditor", "researcher")
# The one example request the demo points at: written into its folder (``demo/`` by default), so
# it exists wherever the program runs, installed or from the repository.
REQUEST_FILE = "prediction_request.json"
TYPICAL_PRODUCT = "auto_bm_msc"  # the product's patient: autologous bone-marrow MSC


def _configure_environment(workdir: Path) -> dict[str, str]:
    """Keep every store of the demo inside its folder (and tell the server where they are)."""
    settings = {
        "MLFLOW_TRACKING_URI": f"sqlite:///{(workdir / 'mlflow.db').resolve()}",
        "SSC_DATABASE_URL": f"sqlite:///{(workdir / 'ssc-service.db').resolve()}",
    }
    os.environ.update(settings)
    return settings


def _simulate(workdir: Path, n: int, seed: int, scenario: str) -> Path:
    from ssc_response.features.io import write_table
    from ssc_response.training.simulation import simulate_cohort

    path = workdir / "cohort.csv"
    cohort = simulate_cohort(n, seed, scenario)
    write_table(cohort, path)
    _write_request(_typical_patient(cohort), request_path(workdir))
    typer.echo(f"1/4 simulated {n} patients ({scenario}, seed {seed}) -> {path}")
    return path


def request_path(workdir: Path) -> Path:
    """Where the demo writes its example prediction request (and the path it prints)."""
    return workdir / REQUEST_FILE


def _typical_patient(cohort: Any) -> Any:
    """The first simulated patient given autologous BM-MSC (else the first), as a 1-row frame."""
    typical = cohort[cohort["cell_product"].eq(TYPICAL_PRODUCT).fillna(False).astype(bool)]
    return (typical if len(typical) else cohort).head(1)


def _write_request(patients: Any, path: Path) -> None:
    """A ready-to-send prediction request: the patients' baseline fields."""
    from ssc_response.features.schema import baseline_fields

    columns = ["patient_id", *(name for name in baseline_fields() if name in patients)]
    records = json.loads(patients[columns].to_json(orient="records"))  # NaN/<NA> -> null
    body = {"patients": [{k: v for k, v in record.items() if v is not None}
                         for record in records]}
    path.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")


def _train(cohort: Path, experiment: str) -> str:
    """Train and register; returns the registry URI the server should load."""
    from ssc_response.cli.train_cmd import print_summary, run_with_progress
    from ssc_response.training.config import ExperimentConfigError

    typer.echo(f"2/4 training {experiment} (optimism-corrected validation; a few minutes)")
    try:
        summary = run_with_progress(experiment, cohort)
    except ExperimentConfigError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from None
    print_summary(summary)
    registration = summary.registration
    if registration.promoted:
        return f"models:/{registration.name}@champion"
    typer.echo("the new version did not pass promotion; the demo serves it anyway, "
               "explicitly by version, so you can look at it", err=True)
    return f"models:/{registration.name}/{registration.version}"


def _create_keys(database_url: str) -> dict[str, str]:
    from ssc_response.serving.database import make_engine
    from ssc_response.serving.keys import KeyStore, parse_role

    store = KeyStore(make_engine(database_url))
    keys = {role: store.create(parse_role(role), label="demo")[1] for role in ROLES}
    typer.echo("3/4 created one API key per role (shown once; stored hashed)")
    return keys


def _create_signing_key(database_url: str) -> None:
    """The audit checkpoint key beside the demo's database (``serve`` does it when it runs)."""
    from ssc_response.cli.serve_cmd import ensure_signing_key
    from ssc_response.serving.settings import Settings

    ensure_signing_key(Settings(database_url=database_url))


def _print_access(host: str, port: int, keys: dict[str, str], request: Path) -> None:
    url = f"http://{host}:{port}"
    typer.echo(f"4/4 serving on {url}  (OpenAPI docs: {url}/docs)")
    typer.echo(f"  open {url} in a browser and sign in with a key below "
               "(clinician: predict; auditor: the audit trail; researcher: the model)")
    for role, key in keys.items():
        typer.echo(f"  {role:<10} key: {key}")
    typer.echo(
        f"  try: curl -s -H 'Authorization: Bearer {keys['clinician']}' "
        f"-H 'Content-Type: application/json' -d @{request} "
        f"{url}/v1/predictions"
    )


def demo(
    workdir: Annotated[Path, typer.Option(help="Folder for the cohort, MLflow store and DB.")] = (
        Path("demo")
    ),
    n: Annotated[int, typer.Option(min=30, max=100_000, help="Simulated patients.")] = 200,
    seed: Annotated[int, typer.Option(help="Simulation seed.")] = 42,
    scenario: Annotated[str, typer.Option(help="Simulation scenario.")] = "founding_centre",
    experiment: Annotated[str, typer.Option(help=EXPERIMENT_HELP)] = DEFAULT_EXPERIMENT,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    serve: Annotated[bool, typer.Option(help="Start the server at the end.")] = True,
) -> None:
    """Simulate a cohort, train and register a model, create API keys, and serve it."""
    workdir.mkdir(parents=True, exist_ok=True)
    settings = _configure_environment(workdir)
    cohort = _simulate(workdir, n, seed, scenario)
    model_uri = _train(cohort, experiment)
    keys = _create_keys(settings["SSC_DATABASE_URL"])
    if not serve:
        _create_signing_key(settings["SSC_DATABASE_URL"])
        typer.echo(f"model ready at {model_uri}; not serving (--no-serve)")
        for role, key in keys.items():
            typer.echo(f"  {role:<10} key: {key}")
        typer.echo(f"  a prediction request to send: {request_path(workdir)}")
        return
    _print_access(host, port, keys, request_path(workdir))
    from ssc_response.cli.serve_cmd import serve as run_server

    run_server(host=host, port=port, model_uri=model_uri,
               database_url=settings["SSC_DATABASE_URL"], workers=1, log_level="info")


def register(app: typer.Typer) -> None:
    app.command()(demo)
