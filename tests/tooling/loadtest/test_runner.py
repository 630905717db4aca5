"""`python -m loadtest`: the plan it hands locust and the arguments it refuses."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtest.__main__ import EXIT_NOT_RUN, constant_rate, main
from tests.support.paths import ROOT


@pytest.mark.parametrize(
    ("rate", "patience", "users", "user_rate"),
    [(5, 2, 10, 0.5), (5, 1, 5, 1.0), (0.5, 2, 1, 0.5), (3, 0.5, 2, 1.5)],
)
def test_constant_rate_plans_users_that_together_send_the_rate(
    rate: float, patience: float, users: int, user_rate: float
) -> None:
    plan = constant_rate(rate, patience)
    assert (plan.users, plan.user_rate) == (users, user_rate)
    assert plan.users * plan.user_rate == pytest.approx(rate)
    assert plan.spawn_rate == plan.users  # all at once: the schedule staggers them


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--host", "http://x", "--rate", "0"],
        ["check", "--host", "http://x", "--patience", "-1"],
        ["check", "--host", "http://x", "--put-ratio", "1.5"],
        ["run", "--host", "http://x", "--users", "0"],
        ["run", "--host", "http://x", "--spawn-rate", "0"],
        ["run", "--host", "http://x", "--stack", "both"],
        ["run"],
    ],
)
def test_refuses_arguments_that_cannot_make_a_run(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code not in (0, None)


@pytest.fixture
def dead_url() -> Iterator[str]:
    """A loopback port held but not listening: connecting is refused at once."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{held.getsockname()[1]}"


@pytest.mark.parametrize("mode", [["run"], ["check", "--rate", "5"]])
def test_a_target_where_nothing_listens_stops_before_the_run_with_a_clear_message(
    dead_url: str, mode: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*mode, "--host", dead_url, "--duration", "10m", "--out", str(tmp_path / "report")])
    assert code == EXIT_NOT_RUN
    error = capsys.readouterr().err
    assert f"error: nothing answers at {dead_url} (Connection refused)" in error
    assert "make run" in error
    assert not (tmp_path / "report").exists()  # locust never started


@pytest.mark.parametrize("target", ["loadtest", "check-deployment"])
def test_the_make_targets_fail_fast_against_a_dead_port(dead_url: str, target: str) -> None:
    port = dead_url.rsplit(":", 1)[1]
    done = subprocess.run(
        ["make", "-s", target, f"PORT={port}", "DURATION=10m"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,  # the run itself would take 10 minutes
        check=False,
    )
    assert done.returncode != 0
    assert f"error: nothing answers at http://127.0.0.1:{port} (Connection refused)" in done.stderr
