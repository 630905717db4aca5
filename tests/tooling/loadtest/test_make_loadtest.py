"""The make targets hand the right target and knobs to `python -m loadtest` (`make -n`: nothing runs)."""

from __future__ import annotations

import os
import shlex
import subprocess

import pytest

from tests.support.paths import ROOT

KNOBS = (
    *("HOST", "PORT", "STACK", "REGION", "RATE", "DURATION", "USERS", "SPAWN_RATE", "USER_RATE", "SEED", "PUT_RATIO"),
    *("WORKERS", "MODE", "BIND", "MASTER", "PROCESSES", "WORKER_WAIT", "TOKENS", "FLEET_STACK", "FLEET_PARAMETERS"),
)


def loadtest_arguments(*make_args: str) -> list[str]:
    """The arguments after `-m loadtest` (or `-m loadtest.fleet`) in the command `make -n` prints."""
    env = {name: value for name, value in os.environ.items() if name not in KNOBS and not name.startswith("MAKE")}
    printed = subprocess.run(
        ["make", "-n", *make_args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    command = shlex.split(printed.replace("\\\n", " ").splitlines()[-1])
    return command[command.index("-m") + 2 :]


@pytest.mark.parametrize(
    ("make_args", "expected"),
    [
        (["check-deployment"], ["check", "--host", "http://127.0.0.1:3000"]),
        (["check-deployment", "PORT=3103"], ["check", "--host", "http://127.0.0.1:3103"]),
        (
            ["check-deployment", "HOST=https://stage.example.com", "RATE=7", "DURATION=10s"],
            ["check", "--host", "https://stage.example.com", "--duration", "10s", "--rate", "7"],
        ),
        (
            ["check-deployment", "STACK=birthday-greeter-dev", "REGION=eu-central-1"],
            ["check", "--stack", "birthday-greeter-dev", "--region", "eu-central-1"],
        ),
        (
            ["loadtest", "HOST=http://127.0.0.1:3103", "USERS=20", "SPAWN_RATE=5", "DURATION=20s", "SEED=9"],
            [
                *("run", "--host", "http://127.0.0.1:3103", "--duration", "20s", "--seed", "9"),
                *("--users", "20", "--spawn-rate", "5"),
            ],
        ),
        (
            ["loadtest", "PUT_RATIO=0.2", "USER_RATE=2"],
            ["run", "--host", "http://127.0.0.1:3000", "--put-ratio", "0.2", "--user-rate", "2"],
        ),
        (
            ["loadtest", "WORKERS=2", "USERS=20"],
            ["run", "--host", "http://127.0.0.1:3000", "--users", "20", "--workers", "2"],
        ),
        (["check-deployment", "WORKERS=auto"], ["check", "--host", "http://127.0.0.1:3000", "--workers", "auto"]),
        (
            ["loadtest-master", "WORKERS=8", "HOST=https://stage.example.com", "USERS=400"],
            [
                *("run", "--host", "https://stage.example.com", "--users", "400"),
                *("--remote-workers", "8", "--bind", "0.0.0.0:5557"),
            ],
        ),
        (
            ["loadtest-master", "MODE=check", "RATE=500", "WORKERS=4", "BIND=10.0.0.5:6000", "USERS=9"],
            [
                *("check", "--host", "http://127.0.0.1:3000", "--rate", "500"),
                *("--remote-workers", "4", "--bind", "10.0.0.5:6000"),
            ],
        ),
        (
            ["loadtest-worker", "MASTER=10.0.0.5:5557", "PROCESSES=auto", "TOKENS=tokens.json"],
            ["worker", "--master", "10.0.0.5:5557", "--processes", "auto", "--tokens", "tokens.json"],
        ),
    ],
)
def test_make_passes_the_target_and_knobs(make_args: list[str], expected: list[str]) -> None:
    assert loadtest_arguments(*make_args) == expected


def test_make_loadtest_worker_needs_the_master() -> None:
    done = subprocess.run(["make", "-s", "loadtest-worker"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "make loadtest-worker MASTER=host:port" in done.stderr
