"""docs/configuration.md names every setting there is, and only those.

Environment variables: every ``SSC_`` name in a string of our code, tests and benchmarks (what
``os.environ`` reads, what the subprocesses are given), every field of the service's settings as
``SSC_<FIELD>`` with its aliases (pydantic-settings reads those without the name being spelt
out), and every ``${SSC_...}`` of ``compose.yaml``. Experiment keys: every field an experiment
file accepts, dotted (``validation.cv_splits``).
"""

from __future__ import annotations

import ast
import re
import typing
from collections.abc import Iterator
from pathlib import Path

from pydantic import AliasChoices, BaseModel

from ssc_response.serving.settings import Settings
from ssc_response.training.config import ExperimentConfig

ROOT = Path(__file__).resolve().parent.parent
CODE = ("features", "models", "training", "serving", "cli", "experiments", "benchmarks", "tests")
VARIABLE = re.compile(r"\bSSC_[A-Z0-9_]*[A-Z0-9]\b")
ROW = re.compile(r"^\| `([^`]+)` \| (environment|experiment) \|", re.MULTILINE)


def documented(kind: str) -> set[str]:
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    return {name for name, row_kind in ROW.findall(text) if row_kind == kind}


def strings_in(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value


def variables_in_code() -> set[str]:
    found: set[str] = set()
    for folder in CODE:
        for path in (ROOT / folder).rglob("*.py"):
            for text in strings_in(path):
                found.update(VARIABLE.findall(text))
    return found


def variables_of_settings() -> set[str]:
    prefix = Settings.model_config.get("env_prefix", "")
    found = set()
    for name, field in Settings.model_fields.items():
        found.add(f"{prefix}{name}".upper())
        if isinstance(field.validation_alias, AliasChoices):
            found.update(str(choice) for choice in field.validation_alias.choices)
    return found


def variables_of_compose() -> set[str]:
    text = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    return set(re.findall(r"\$\{(SSC_[A-Z0-9_]+)", text))


def experiment_keys(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    for name, field in model.model_fields.items():
        yield prefix + name
        for part in typing.get_args(field.annotation) or (field.annotation,):
            if isinstance(part, type) and issubclass(part, BaseModel):
                yield from experiment_keys(part, f"{prefix}{name}.")


def nested_sections(model: type[BaseModel]) -> set[str]:
    """Keys that only group others (``validation``): documented through their members."""
    keys = set(experiment_keys(model))
    return {key for key in keys if any(other.startswith(key + ".") for other in keys)}


def test_every_ssc_variable_the_code_reads_is_documented() -> None:
    read = variables_in_code() | variables_of_settings() | variables_of_compose()
    assert {"SSC_DATABASE_URL", "SSC_BATCH_LINGER_MS", "SSC_WORKERS"} <= read  # the search works

    assert {name for name in read if name.startswith("SSC_")} - documented("environment") == set()


def test_every_documented_ssc_variable_is_read_somewhere() -> None:
    read = variables_in_code() | variables_of_settings() | variables_of_compose()

    assert {n for n in documented("environment") if n.startswith("SSC_")} - read == set()


def test_every_experiment_key_is_documented_and_every_documented_key_exists() -> None:
    keys = set(experiment_keys(ExperimentConfig)) - nested_sections(ExperimentConfig)
    assert {"validation.cv_splits", "promotion.min_auroc_corrected"} <= keys

    assert keys - documented("experiment") == set()
    assert documented("experiment") - keys == set()
