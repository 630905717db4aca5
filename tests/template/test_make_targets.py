"""Make targets whose failure modes matter to a new developer."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_sam_local_without_a_docker_engine_fails_with_a_clear_message() -> None:
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    result = subprocess.run(["make", "-s", "sam-local"], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "no Docker engine answers" in result.stderr
    assert "make run" in result.stderr


def test_help_lists_the_two_commands() -> None:
    result = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "run" in result.stdout
    assert "test" in result.stdout
