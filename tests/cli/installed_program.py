"""The installed ``ssc-response`` program, run as a user would from a folder of their own: none
of the project's settings inherited from the test process (store, database, model, paths)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROGRAM = Path(sys.executable).parent / "ssc-response"
UNSET = ("MLFLOW_TRACKING_URI", "SSC_DATABASE_URL", "SSC_MODEL_URI", "PYTHONPATH",
         "SSC_ARTIFACT_ROOT", "SSC_MODEL_NAME")


def run(folder: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """``ssc-response *arguments`` in ``folder``; its exit code, output and errors."""
    environment = {k: v for k, v in os.environ.items() if k not in UNSET}
    return subprocess.run([str(PROGRAM), *arguments], cwd=folder, env=environment,
                          capture_output=True, text=True, timeout=600, check=False)
