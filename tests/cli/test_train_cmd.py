"""``ssc-response train`` and ``runs``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from ssc_response.cli import train_cmd
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


@pytest.mark.slow  # a whole run
def test_train_prints_family_auroc_and_registration(
    app: typer.Typer, tmp_mlflow: str, tmp_path: Path
) -> None:
    data = tmp_path / "cohort.csv"
    write_table(simulate_cohort(100, 21), data)
    experiment = tmp_path / "cheap.yaml"
    experiment.write_text(yaml.safe_dump(CHEAP), encoding="utf-8")

    result = runner.invoke(app, ["train", "--data", str(data), "--experiment", str(experiment)])

    assert result.exit_code == 0, result.output
    assert "champion: logistic_l2(C=" in result.stdout
    assert "validated: the whole procedure" in result.stdout
    assert "nested cross-validation" in result.stdout and "(CI " in result.stdout
    assert "registered ssc-skin-response version 1; alias 'champion' moved to it" in result.stdout
    assert "fitting logistic_l2" not in result.stdout  # progress goes to stderr only

    board = runner.invoke(app, ["runs", "--experiment", str(experiment)])

    assert board.exit_code == 0, board.output
    run_id = result.stdout.split()[1]
    assert run_id in board.stdout and "logistic_l2" in board.stdout


def test_train_progress_goes_to_stderr(
    app: typer.Typer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The spinner counts model fits on stderr (the run itself is replaced by a stub)."""
    from ssc_response.training import run as run_module

    def fake_run(config: Path, data: Path, tick: Any = None) -> None:
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
