"""The lock files and the Dockerfile: one lock per use, and no test or build tool in the image.

Read as text (no Docker needed): the image installs the runtime lock and nothing else, and the
runtime lock pins every dependency the package declares but none of the development tools or the
Spark and browser extras.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_LOCK, DEV_LOCK, SPARK_LOCK = (
    "requirements-runtime.lock", "requirements.lock", "requirements-spark.lock")
NOT_IN_IMAGE = ("pytest", "pytest-timeout", "mypy", "ruff", "playwright", "uv", "pyspark",
                "hypothesis", "schemathesis", "import-linter")
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def pins(lock: str) -> dict[str, str]:
    """Package name (canonical) -> pinned version."""
    text = (ROOT / lock).read_text(encoding="utf-8")
    return {canonicalize_name(name): version for name, version in PIN.findall(text)}


def project() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def dockerfile_instructions() -> list[str]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


@pytest.mark.parametrize("tool", NOT_IN_IMAGE)
def test_the_runtime_lock_holds_no_test_or_build_tool(tool: str) -> None:
    assert canonicalize_name(tool) not in pins(RUNTIME_LOCK)


def test_the_runtime_lock_pins_every_dependency_and_the_postgres_extra() -> None:
    extras = project()["optional-dependencies"]
    wanted = names(project()["dependencies"]) | names(extras["postgres"])

    assert wanted - set(pins(RUNTIME_LOCK)) == set()


@pytest.mark.parametrize("lock, extras", [
    (DEV_LOCK, ("dev", "postgres", "spark", "browser")), (SPARK_LOCK, ("postgres", "spark"))])
def test_each_lock_pins_its_groups_at_the_runtime_versions(
    lock: str, extras: tuple[str, ...]
) -> None:
    groups = project()["optional-dependencies"]
    locked, runtime = pins(lock), pins(RUNTIME_LOCK)
    wanted = names(project()["dependencies"])
    for extra in extras:
        wanted |= names(groups[extra])

    assert wanted - set(locked) == set()
    assert {name: (runtime[name], locked[name]) for name in runtime
            if locked.get(name) != runtime[name]} == {}


def test_the_image_installs_the_runtime_lock_and_the_project_not_editable() -> None:
    installs = [line for line in dockerfile_instructions()
                if line.startswith("RUN") and "pip install" in line]

    assert len(installs) == 2
    assert f"--require-hashes --no-deps -r {RUNTIME_LOCK}" in installs[0]
    assert re.search(r"pip install [^&]*--no-deps \.(\s|$)", installs[1])
    assert not any(re.search(r"\s-e\s|--editable", line) for line in installs)
    copied = [line for line in dockerfile_instructions() if line.startswith("COPY")]
    assert not any(lock in line for line in copied for lock in (DEV_LOCK, SPARK_LOCK))
    assert not any(re.search(r"\btests\b", line) for line in copied)
