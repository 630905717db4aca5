"""Make targets whose failure modes matter to a new developer."""

from __future__ import annotations

import os
import socket
import subprocess

from tests.support.paths import ROOT


def test_sam_local_without_a_docker_engine_fails_with_a_clear_message() -> None:
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    result = subprocess.run(
        ["make", "-s", "sam-local", "PORT=0"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "no Docker engine answers" in result.stderr
    assert "make run" in result.stderr


def test_help_lists_the_two_commands() -> None:
    result = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "run" in result.stdout
    assert "test" in result.stdout


def test_sam_local_on_a_busy_port_fails_with_a_clear_message() -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = subprocess.run(
            ["make", "-s", "sam-local", "HOST=127.0.0.1", f"PORT={port}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
