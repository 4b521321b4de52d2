"""A served model for the benchmarks: trained and registered in a store of its own, then
started as ``ssc-response serve`` or as ``mlflow models serve`` on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent

# `ssc-response serve` without depending on cli/main.py registering the command.
SERVE = (
    "import typer; from ssc_response.cli.serve_cmd import register; "
    "app = typer.Typer(); app.callback()(lambda: None); register(app); app()"
)


# The models measured with --train: experiment file, simulated patients, seed.
RECIPES = {"default": ("default.yaml", 200, 5), "quick": ("quick.yaml", 150, 11)}


def model_environment(tracking: str) -> dict[str, str]:
    """The environment with the MLflow store, its SQLite path made absolute: the benchmarks'
    servers and jobs run in temporary directories."""
    return {**os.environ, "MLFLOW_TRACKING_URI": absolute_sqlite(tracking),
            "PYTHONPATH": str(ROOT)}


def absolute_sqlite(uri: str) -> str:
    """``sqlite:///relative/path.db`` made absolute (from the current directory); others as is."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
        return prefix + str(Path(uri.removeprefix(prefix)).resolve())
    return uri


def train_model(name: str, workdir: Path) -> str:
    """``RECIPES[name]`` trained and registered as champion in a store of its own."""
    import mlflow

    from ssc_response.features.io import write_table
    from ssc_response.training.run import run_experiment
    from ssc_response.training.simulation import simulate_cohort

    experiment, n, seed = RECIPES[name]
    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    os.environ["MLFLOW_TRACKING_URI"] = uri
    mlflow.set_tracking_uri(uri)
    write_table(simulate_cohort(n, seed), workdir / "cohort.csv")
    print(f"training {experiment} on {n} simulated patients (seed {seed})...", flush=True)
    run_experiment(ROOT / "experiments" / experiment, workdir / "cohort.csv")
    print(f"champion: {_champion()}", flush=True)
    return uri


def _champion() -> str:
    """The registered champion's family and parameters."""
    from ssc_response.models.registry import load_served_model

    served = load_served_model("models:/ssc-skin-response@champion")
    return str(served.model.metadata.get("champion"))


def clinician_key(database_url: str) -> str:
    from ssc_response.serving.database import make_engine
    from ssc_response.serving.keys import KeyStore

    engine = make_engine(database_url)
    try:
        return KeyStore(engine).create("clinician", label="benchmark")[1]
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(env: dict[str, str], workdir: Path,
          workers: int) -> tuple[subprocess.Popen[bytes], str]:
    """Start the server and wait (at most 120 s) for /readyz."""
    port = free_port()
    command = [sys.executable, "-c", SERVE, "serve", "--port", str(port), "--log-level", "warning",
               "--workers", str(workers)]
    return _started(command, env, workdir / "server.log", port, "/readyz", "server")


def start_mlflow(env: dict[str, str], workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``mlflow models serve`` of the same registered model (one worker, this environment)."""
    port = free_port()
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", env["SSC_MODEL_URI"],
               "--env-manager", "local", "--host", "127.0.0.1", "--port", str(port),
               "--workers", "1"]
    # MLflow starts `uvicorn` by name: this environment's scripts must be on the PATH.
    path = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return _started(command, {**env, "PATH": path}, workdir / "mlflow-serve.log", port, "/ping",
                    "mlflow models serve")


def _started(command: list[str], env: dict[str, str], log_path: Path, port: int, ready: str,
             name: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``command`` (output to ``log_path``) and wait at most 120 s for ``ready`` to
    answer 200; exit with its log if it dies first."""
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the directory
    server = subprocess.Popen(command, env=env, cwd=log_path.parent, stdout=log,
                              stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        if server.poll() is not None:
            sys.exit(log_path.read_text(errors="replace"))
        try:
            if httpx.get(f"{url}{ready}", timeout=2).status_code == 200:
                return server, url
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    sys.exit(f"{name} did not become ready in 120 s")
