"""``ssc-response train`` and ``runs``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from ssc_response.cli import train_cmd
from ssc_response.cli.tables import BOARD_COLUMNS
from ssc_response.features.io import write_table
from ssc_response.training.simulation import simulate_cohort

runner = CliRunner()
CHEAP = {
    "name": "cli-test",
    "estimators": {"logistic_l2": {"estimator__C": [0.1]}},
    "validation": {"cv_splits": 3, "cv_repeats": 1, "bootstrap": 10, "seed": 5},
    "uncertainty": {"bootstrap_models": 5},
    "promotion": {"min_auroc_corrected": 0.5, "max_brier_corrected": 0.3},
}


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer()
    application.callback()(lambda: None)  # keep the commands sub-commands, as in the real app
    train_cmd.register(application)
    return application


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str]]:
    """One cheap run in a store of the module's own (``MLFLOW_TRACKING_URI`` set meanwhile):
    (experiment file, train's stdout and stderr, run id)."""
    import mlflow

    folder = tmp_path_factory.mktemp("gate")
    write_table(simulate_cohort(100, 21), folder / "cohort.csv")
    experiment = folder / "cheap.yaml"
    experiment.write_text(yaml.safe_dump(CHEAP | {"name": "gate-test"}), encoding="utf-8")
    application = typer.Typer()
    application.callback()(lambda: None)
    train_cmd.register(application)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{folder / 'mlflow.db'}")
        result = runner.invoke(application, ["train", "--data", str(folder / "cohort.csv"),
                                             "--experiment", str(experiment)])
        assert result.exit_code == 0, result.output
        assert "fitting logistic_l2" not in result.stdout  # progress goes to stderr only
        yield experiment, result.stdout + result.stderr, result.stdout.split()[1]
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]  # back to reading the env


@pytest.mark.slow  # a whole run
def test_train_prints_family_auroc_and_registration(
    app: typer.Typer, trained: tuple[Path, str, str]
) -> None:
    experiment, output, run_id = trained
    assert "champion: logistic_l2(C=" in output
    assert "validated: the whole procedure" in output
    assert "nested cross-validation" in output and "(CI " in output
    assert "registered ssc-skin-response version 1; alias 'champion' moved to it" in output

    board = runner.invoke(app, ["runs", "--experiment", str(experiment)])

    assert board.exit_code == 0, board.output
    assert run_id in board.stdout and "logistic_l2" in board.stdout


def test_train_prints_each_gate_threshold_with_its_value_and_result(
    trained: tuple[Path, str, str],
) -> None:
    """Issue 24: the thresholds the run passed, not only "alias moved"."""
    import mlflow

    _, output, run_id = trained
    metrics = mlflow.MlflowClient().get_run(run_id).data.metrics
    rows = {line.split()[0]: line.split() for line in output.splitlines()
            if line.strip().startswith(("auroc_corrected", "brier_corrected"))}
    assert rows["auroc_corrected"][1:] == [">=", "0.5", f"{metrics['auroc_corrected']:.3f}",
                                           "pass" if metrics["auroc_corrected"] >= 0.5 else "FAIL"]
    assert rows["brier_corrected"][1:] == ["<=", "0.3", f"{metrics['brier_corrected']:.3f}",
                                           "pass" if metrics["brier_corrected"] <= 0.3 else "FAIL"]
    assert len(rows) == 2  # only the thresholds the experiment sets


def test_the_model_card_names_the_registered_version(trained: tuple[Path, str, str]) -> None:
    """Logged before registration, then again with the version the registry gave (issue 24)."""
    import mlflow

    _, _, run_id = trained
    card = mlflow.artifacts.load_text(f"runs:/{run_id}/model_card.md")
    assert card.splitlines()[0] == "# Model card: ssc-skin-response version 1"
    assert "- Version: 1\n" in card and "registered after" not in card


def test_train_prints_the_sample_size_warning_once(trained: tuple[Path, str, str]) -> None:
    _, output, _ = trained
    assert output.count("Expect overfitting") == 1, output


@pytest.mark.parametrize("width", [60, 80, 120])
def test_runs_fits_the_terminal_and_names_what_it_left_out(
    app: typer.Typer, trained: tuple[Path, str, str], width: int
) -> None:
    experiment, _, run_id = trained
    board = runner.invoke(app, ["runs", "--experiment", str(experiment)],
                          env={"COLUMNS": str(width)})

    assert board.exit_code == 0, board.output
    lines = board.stdout.splitlines()
    assert max(len(line) for line in lines) <= width, board.stdout
    assert run_id in board.stdout
    header = lines[0].split()
    assert header[0] == "run_id"
    left_out = [name for name in BOARD_COLUMNS if name not in header]
    assert left_out, "all eleven columns do not fit in 120 characters"
    note = f"not shown, for the terminal's width ({width}): {', '.join(left_out)}"
    assert note in " ".join(board.stdout.split())


def test_runs_shows_the_chosen_columns_in_order(
    app: typer.Typer, trained: tuple[Path, str, str]
) -> None:
    experiment, _, run_id = trained
    board = runner.invoke(app, ["runs", "--experiment", str(experiment),
                                "--columns", "method, run_id"], env={"COLUMNS": "40"})

    assert board.exit_code == 0, board.output
    lines = board.stdout.splitlines()
    assert lines[0].split() == ["method", "run_id"]
    assert lines[-1].split() == ["nested_cv", run_id]
    assert "not shown" not in board.stdout


def test_runs_refuses_an_unknown_column_as_a_usage_error(app: typer.Typer) -> None:
    result = runner.invoke(app, ["runs", "--columns", "run_id,auc"])

    assert result.exit_code == 2
    text = " ".join(result.stderr.replace("│", " ").split())  # the words, without rich's box
    assert "'--columns': unknown column(s) auc; choose from: run_id, family," in text


def test_train_progress_goes_to_stderr(
    app: typer.Typer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The spinner counts model fits on stderr (the run itself is replaced by a stub)."""
    from ssc_response.training import run as run_module

    def fake_run(config: Path, data: Path, tick: Any = None, reading: Any = None) -> None:
        for label in ("logistic_l2", "bootstrap"):
            tick(label)

    monkeypatch.setattr(run_module, "run_experiment", fake_run)
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # let rich draw although stderr is captured
    monkeypatch.setattr(train_cmd, "print_summary", lambda summary: None)
    (tmp_path / "c.csv").touch()  # --data must name a file; the stub never reads it

    result = runner.invoke(app, ["train", "--data", str(tmp_path / "c.csv")])

    assert result.exit_code == 0, result.output
    assert "fitting" in result.stderr
    assert result.stdout == ""


def test_train_with_invalid_experiment_fails_clearly(app: typer.Typer, tmp_path: Path) -> None:
    experiment = tmp_path / "bad.yaml"
    experiment.write_text(yaml.safe_dump(CHEAP | {"estimators": {"svm": {}}}), encoding="utf-8")
    write_table(simulate_cohort(20, 1), tmp_path / "c.csv")

    result = runner.invoke(app, ["train", "--data", str(tmp_path / "c.csv"),
                                 "--experiment", str(experiment)])

    assert result.exit_code == 2
    assert "unknown estimator families ['svm']" in result.stderr


def test_a_missing_data_file_is_a_usage_error_that_names_it(
    app: typer.Typer, tmp_path: Path
) -> None:
    result = runner.invoke(app, ["train", "--data", str(tmp_path / "absent.csv")])

    assert result.exit_code == 2
    assert "'--data'" in result.stderr and "absent.csv" in result.stderr
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.output


def test_runs_without_runs_says_so(app: typer.Typer, tmp_mlflow: str, tmp_path: Path) -> None:
    experiment = tmp_path / "cheap.yaml"
    experiment.write_text(yaml.safe_dump(CHEAP | {"name": "never-run"}), encoding="utf-8")

    result = runner.invoke(app, ["runs", "--experiment", str(experiment)])

    assert result.exit_code == 0, result.output
    assert "no runs yet for experiment 'never-run'" in result.stdout


def _comparison(low: float, high: float) -> dict[str, float]:
    return {"delta_auroc_corrected": (low + high) / 2, "delta_auroc_ci_low": low,
            "delta_auroc_ci_high": high, "delta_brier_corrected": -0.0067,
            "delta_brier_ci_low": -0.0208, "delta_brier_ci_high": 0.0074,
            "delta_net_benefit_t30": -0.0071, "delta_net_benefit_t50": 0.0104}


def test_comparison_is_printed_with_its_interval_and_net_benefit() -> None:
    text = "\n".join(train_cmd.comparison_lines(_comparison(-0.018, 0.052)))
    assert "ΔAUROC +0.017 (CI -0.018 to +0.052)" in text
    assert "ΔBrier -0.0067 (CI -0.0208 to +0.0074" in text
    assert "30 %: -0.007" in text and "50 %: +0.010" in text  # thresholds in order
    assert "no evidence either way" in text


@pytest.mark.parametrize(("low", "high", "verdict"), [
    (0.01, 0.09, "improve discrimination"),
    (-0.09, -0.01, "worsen discrimination"),
])
def test_comparison_verdict_follows_the_interval(low: float, high: float, verdict: str) -> None:
    assert verdict in train_cmd.comparison_lines(_comparison(low, high))[-1]


def _loky_workers() -> list[int]:
    """This process's loky worker processes, read from /proc."""
    workers = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == os.getpid() and b"popen_loky_posix" in command:
            workers.append(int(stat.parent.name))
    return workers


def _memmapped_folders() -> list[Path]:
    return list(Path("/dev/shm").glob(f"joblib_memmapping_folder_{os.getpid()}_*"))


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_training_leaves_no_worker_pool_behind(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Issue 24: a server started after training (demo) must not carry joblib's pool, whose
    semaphores and folders loky reports as "leaked" when that process ends."""
    import numpy as np
    from sklearn.utils.parallel import Parallel, delayed

    from ssc_response.training import run as run_module

    def fake_run(config: Path, data: Path, tick: Any = None, reading: Any = None) -> list[float]:
        big = np.ones((2000, 100))  # > 1 MB: joblib memory-maps it for the workers
        return list(Parallel(n_jobs=2)(delayed(np.sum)(big[i]) for i in range(4)))

    monkeypatch.setattr(run_module, "run_experiment", fake_run)
    before = set(_memmapped_folders())  # earlier tests' pools are joblib's to clean at exit
    assert train_cmd.run_with_progress("quick", tmp_path / "c.csv") == [100.0] * 4

    assert _loky_workers() == []
    assert set(_memmapped_folders()) <= before
