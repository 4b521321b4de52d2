"""``stack``: the multi-user set-up on one machine, from its own PostgreSQL binaries (no Docker).

1. PostgreSQL (``cli/local_postgres.py``) on 127.0.0.1, data in ``<workdir>/postgres`` (kept
   between runs; delete the folder to start over), databases ``mlflow`` and ``ssc``;
2. ``mlflow server`` on the ``mlflow`` database (psycopg2: MLflow's store still has open bugs with
   psycopg 3), serving artifacts from ``<workdir>/mlartifacts`` (``--serve-artifacts``), so
   clients need only its URL;
3. when the registry has no champion yet (and ``--train``), a simulated cohort and the quick
   experiment trained *against the server*;
4. ``ssc-response serve --workers N`` with its audit trail and keys in the ``ssc`` database,
   following the champion alias on the server (``SSC_MODEL_POLL_SECONDS``).

Ctrl-C (or SIGTERM) stops the service, the tracking server and PostgreSQL, in that order.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from ssc_response.cli.demo_cmd import ROLES

MODEL_URI = "models:/ssc-skin-response@champion"
START_TIMEOUT_S = 120.0


def stack(
    workdir: Annotated[Path, typer.Option(help="Folder for PostgreSQL data, artifacts, logs.")] = (
        Path("stack")
    ),
    workers: Annotated[int, typer.Option(min=1, help="Serving worker processes.")] = 2,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Service port.")] = 8000,
    mlflow_port: Annotated[int, typer.Option(min=1, max=65535, help="MLflow port.")] = 5000,
    postgres_port: Annotated[int, typer.Option(min=1, max=65535, help="PostgreSQL port.")] = (
        55432
    ),
    poll_seconds: Annotated[float, typer.Option(
        min=0.1, help="How often each worker re-reads the champion alias.")] = 5.0,
    train: Annotated[bool, typer.Option(
        help="Train the quick experiment when the registry has no champion yet.")] = True,
) -> None:
    """Start PostgreSQL, an MLflow tracking server on it and the service with N workers."""
    from ssc_response.cli.local_postgres import Unavailable, running_server

    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with ExitStack() as stack:
        try:
            pg = stack.enter_context(running_server(workdir / "postgres", postgres_port, tcp=True))
        except Unavailable as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(code=2) from None
        typer.echo(f"1/4 PostgreSQL on 127.0.0.1:{postgres_port} (data in {workdir / 'postgres'})")
        pg.create_database("mlflow")
        service_db = pg.create_database("ssc")
        tracking = f"http://127.0.0.1:{mlflow_port}"
        stack.enter_context(_process(_mlflow_command(pg.url("mlflow", "psycopg2"), workdir,
                                                     mlflow_port), workdir / "mlflow.log"))
        _wait_for(f"{tracking}/health", "the MLflow server", workdir / "mlflow.log")
        typer.echo(f"2/4 MLflow tracking server on {tracking} (artifacts in "
                   f"{workdir / 'mlartifacts'}); train against it with "
                   f"MLFLOW_TRACKING_URI={tracking}")
        os.environ.update({"MLFLOW_TRACKING_URI": tracking, "SSC_DATABASE_URL": service_db})
        _ensure_champion(workdir, train)
        keys = _create_keys(service_db)
        env = {**os.environ, "SSC_MODEL_URI": MODEL_URI,
               "SSC_MODEL_POLL_SECONDS": str(poll_seconds)}
        service = stack.enter_context(_process(
            [*_program(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers",
             str(workers)], workdir / "service.log", env))
        _wait_for(f"http://127.0.0.1:{port}/readyz", "the service", workdir / "service.log")
        _print_access(port, workers, keys, poll_seconds)
        try:
            code = service.wait()
        except KeyboardInterrupt:
            typer.echo("stopping the service, the tracking server and PostgreSQL")
            code = 0
    if code:
        raise typer.Exit(code=code)


def _exit_on_sigterm(_signum: int, _frame: object) -> NoReturn:
    raise KeyboardInterrupt  # unwinds the ExitStack: every process is stopped


def _program() -> list[str]:
    """This ``ssc-response`` program, run by the interpreter running now."""
    return [sys.executable, "-c", "from cli.main import app; app()"]


def _mlflow_command(backend: str, workdir: Path, port: int) -> list[str]:
    mlflow = Path(sys.executable).parent / "mlflow"
    return [str(mlflow), "server", "--backend-store-uri", backend,
            "--artifacts-destination", str(workdir / "mlartifacts"), "--serve-artifacts",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]


class _process:  # noqa: N801 - used as a context manager, like open()
    """A child process with its output in ``log``; SIGTERM (then SIGKILL) at the end."""

    def __init__(self, command: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self._command, self._log, self._env = command, log, env

    def __enter__(self) -> subprocess.Popen[bytes]:
        with open(self._log, "ab") as output:
            self.process = subprocess.Popen(self._command, stdout=output,
                                            stderr=subprocess.STDOUT, env=self._env)
        return self.process

    def __exit__(self, *_exc: object) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def _wait_for(url: str, what: str, log: Path) -> None:
    import httpx

    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    typer.echo(f"error: {what} did not start in {START_TIMEOUT_S:.0f} s; see {log}", err=True)
    raise typer.Exit(code=3)


def _ensure_champion(workdir: Path, train: bool) -> None:
    from ssc_response.cli.train_cmd import print_summary, run_with_progress
    from ssc_response.features.io import write_table
    from ssc_response.models.registry import ModelNotFoundError, resolve
    from ssc_response.training.simulation import simulate_cohort
    from ssc_response.training.tracking import configure_tracking

    configure_tracking()
    try:
        ref = resolve(MODEL_URI)
    except ModelNotFoundError:
        if not train:
            typer.echo(f"error: no {MODEL_URI} on the server yet; train one against it first",
                       err=True)
            raise typer.Exit(code=2) from None
    else:
        typer.echo(f"3/4 the registry's champion: {ref.name} version {ref.version}")
        return
    cohort = workdir / "cohort.csv"
    write_table(simulate_cohort(200, 42), cohort)
    typer.echo("3/4 no champion yet: training the quick experiment on 200 simulated patients")
    print_summary(run_with_progress("quick", cohort))


def _create_keys(database_url: str) -> dict[str, str]:
    from ssc_response.serving.database import make_engine
    from ssc_response.serving.keys import KeyStore, parse_role

    engine = make_engine(database_url)
    try:
        store = KeyStore(engine)
        return {role: store.create(parse_role(role), label="stack")[1] for role in ROLES}
    finally:
        engine.dispose()


def _print_access(port: int, workers: int, keys: dict[str, str], poll_seconds: float) -> None:
    typer.echo(f"4/4 serving on http://127.0.0.1:{port} with {workers} workers, audit trail and "
               f"keys in PostgreSQL; each worker follows {MODEL_URI} every {poll_seconds:g} s")
    for role, key in keys.items():
        typer.echo(f"  {role:<10} key: {key}")
    typer.echo("Ctrl-C stops the service, the tracking server and PostgreSQL.")


def register(app: typer.Typer) -> None:
    app.command()(stack)
