"""A script in a fresh interpreter with only the deployed code (src) on its path: what a cold start sees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from tests.support.paths import ROOT


def run_fresh(script: str, *args: str) -> Any:
    """Runs `python -c script args...`; the JSON of its last line of output."""
    completed = subprocess.run(
        [sys.executable, "-c", script, *args],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])
