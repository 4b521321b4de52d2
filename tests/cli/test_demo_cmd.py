"""``ssc-response demo`` and ``make demo``: the port, the example request it writes and names."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ssc_response.cli import demo_cmd
from ssc_response.features.validation import validate_records

REPO = Path(__file__).resolve().parents[2]


def make_demo_command(*variables: str) -> str:
    """The command ``make demo`` would run (``make -n``: printed, not run)."""
    result = subprocess.run(["make", "-n", "demo", *variables], cwd=REPO, capture_output=True,
                            text=True, check=True, timeout=60)
    return [line for line in result.stdout.splitlines() if "ssc-response demo" in line][-1]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_passes_the_port_through() -> None:
    assert make_demo_command("PORT=8123").split()[-3:] == ["demo", "--port", "8123"]
    assert make_demo_command().split()[-1] == "demo"  # no PORT: the program's default


def test_the_demo_writes_its_request_where_it_says(tmp_path: Path) -> None:
    """One path: the file written is the one printed (``demo/prediction_request.json``)."""
    demo_cmd._simulate(tmp_path, 60, 42, "founding_centre")

    request = demo_cmd.request_path(tmp_path)
    assert request == tmp_path / "prediction_request.json"
    patients = json.loads(request.read_text(encoding="utf-8"))["patients"]
    assert len(validate_records(patients, outcomes=False)) == 1  # a request the API accepts


def test_the_demo_request_is_the_products_typical_patient(tmp_path: Path) -> None:
    """Autologous bone-marrow MSC, the product the service is about (not, e.g., BM-MNC)."""
    demo_cmd._simulate(tmp_path, 60, 42, "founding_centre")

    patient = json.loads(demo_cmd.request_path(tmp_path).read_text(encoding="utf-8"))
    assert patient["patients"][0]["cell_product"] == "auto_bm_msc"
