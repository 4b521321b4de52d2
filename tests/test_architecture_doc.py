"""docs/ARCHITECTURE.md's path of a prediction request, checked against the code.

The diagram of "One record, from HTTP body to audit row": every module it names exists; the
steps it lists under the prediction service (``module.py  function``) exist and are called by
:mod:`serving.prediction_service` in that order; the threads it names are the batcher's; and
the layering it claims holds in the imports (the batcher imports none of the modules it
schedules, the steps import neither the service nor the batcher nor the routes, the route
reaches the steps only through the service).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULE = re.compile(r"^(\s*)((?:features|models|serving)/[\w/]+\.py)\s+(\w+)?", re.MULTILINE)
PACKAGE = "ssc_response"


def diagram() -> str:
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    section = text.split("## One record, from HTTP body to audit row", 1)[1]
    return section.split("```", 2)[1]


def thread(name: str) -> str:
    """The diagram's block of one thread (from its heading to the next blank line)."""
    block = diagram().split("\n" + name, 1)[1]
    return block.split("\n\n", 1)[0]


def service_steps(block: str) -> list[tuple[str, str]]:
    """(module path, function) of the lines indented under ``serving/prediction_service.py``."""
    steps, under = [], None
    for indent, path, word in MODULE.findall(block):
        if path == "serving/prediction_service.py":
            under = len(indent)
        elif under is not None and len(indent) == under + 2 and word:
            steps.append((path, word))
    return steps


def imported(path: str) -> set[str]:
    """The ``ssc_response`` modules a source file imports (without the package prefix)."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE):
            base = node.module.removeprefix(PACKAGE + ".")
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.removeprefix(PACKAGE + ".") for a in node.names
                         if a.name.startswith(PACKAGE))
    return found


def test_every_module_on_the_path_exists() -> None:
    named = {path for _, path, _ in MODULE.findall(diagram())}
    assert len(named) > 15  # the diagram was found and read
    assert sorted(p for p in named if not (ROOT / p).is_file()) == []


def test_the_service_runs_the_steps_in_the_diagrams_order() -> None:
    steps = service_steps(thread("batch worker thread"))
    assert [function for _, function in steps] == [
        "validate_requests", "out_of_scope", "predict_records", "not_enough_information",
        "answer_entries"]  # what the diagram says, read back
    source = (ROOT / "serving" / "prediction_service.py").read_text(encoding="utf-8")
    body = source.split("def answer_batch", 1)[1]
    positions = []
    for path, function in steps:
        assert f"def {function}(" in (ROOT / path).read_text(encoding="utf-8"), (path, function)
        positions.append(body.index(function + "("))
    assert positions == sorted(positions)


def test_the_committer_records_through_the_staged_commit() -> None:
    steps = service_steps(thread("committer thread"))
    assert steps == [("serving/inference.py", "record")]
    source = (ROOT / "serving" / "prediction_service.py").read_text(encoding="utf-8")
    commit = source.split("def commit", 1)[1].split("\n    def ", 1)[0]
    assert "inference.record(" in commit


def test_the_threads_named_are_the_batchers() -> None:
    source = (ROOT / "serving" / "coalescing.py").read_text(encoding="utf-8")
    for name in re.findall(r'\("(prediction-\w+)"\)', diagram()):
        assert f'name="{name}"' in source
    assert {"prediction-batcher", "prediction-committer"} <= set(
        re.findall(r'\("(prediction-\w+)"\)', diagram()))


@pytest.mark.parametrize(("path", "forbidden"), [
    # The batcher only schedules: it knows nothing of the service, the steps or the routes.
    ("serving/coalescing.py", ("serving.prediction_service", "serving.inference",
                               "serving.routers", "serving.audit", "models.bundle",
                               "models.answerable", "features.validation")),
    # The steps call nothing above them.
    ("serving/inference.py", ("serving.prediction_service", "serving.coalescing",
                              "serving.routers")),
    # The route awaits the service; it does not reach the batcher or the steps itself.
    ("serving/routers/predictions.py", ("serving.coalescing", "serving.inference",
                                        "serving.audit", "models.bundle")),
    ("serving/pages/routers/clinician.py", ("serving.coalescing",)),
])
def test_control_flows_down(path: str, forbidden: tuple[str, ...]) -> None:
    found = imported(path)
    assert not {name for name in found if name.startswith(forbidden)}
