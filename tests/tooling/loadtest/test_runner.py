"""`python -m loadtest`: the plan it hands locust and the arguments it refuses."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtest.__main__ import EXIT_NOT_RUN, _arguments, constant_rate, distribution, main, token_problem
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
        ["check", "--host", "http://x", "--rate", "inf"],  # was an OverflowError, exit 1 as if a request failed
        ["check", "--host", "http://x", "--duration", "0s"],  # locust's 0: a run with no end
        ["run", "--host", "http://x", "--duration", "0"],
        ["run", "--host", "http://x", "--user-rate", "-1"],
        ["run", "--host", "http://x", "--user-rate", "nan"],
        ["run", "--host", "http://x", "--remote-workers", "1", "--worker-wait", "2.5"],  # locust takes whole seconds
        ["worker", "--master", "127.0.0.1:5557", "--master-wait", "inf"],  # a wait with no end
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


def test_over_workers_a_token_file_needs_a_part_for_the_busiest_worker(tmp_path: Path) -> None:
    """5 users over 2 workers: one worker runs 3 and takes every other token user, so 6 tokens are needed."""
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({f"User{letter}": "t" for letter in "abcde"}), encoding="utf-8")
    assert token_problem(path, 5) is None
    problem = token_problem(path, 5, workers=2)
    assert problem is not None
    assert "5 simulated users over 2 workers need 6 at least" in problem


@pytest.mark.parametrize(("rate", "workers", "users"), [(5, 2, 10), (5, 3, 12), (0.5, 2, 2), (7, 4, 16)])
def test_a_constant_rate_over_workers_is_the_total_in_equal_shares(rate: float, workers: int, users: int) -> None:
    plan = constant_rate(rate, 2, workers)
    assert plan.users == users
    assert plan.users % workers == 0
    assert plan.users * plan.user_rate == pytest.approx(rate)


def test_workers_auto_is_one_per_core() -> None:
    assert _arguments(["run", "--host", "http://x", "--workers", "auto"]).workers == (os.cpu_count() or 1)


@pytest.mark.parametrize(
    ("argv", "locust"),
    [
        (["--workers", "1"], []),
        (["--workers", "3"], ["--processes", "3", "--master-bind-host", "127.0.0.1", "--master-bind-port"]),
        (
            ["--remote-workers", "4", "--bind", "10.0.0.5:6000"],
            ["--master", "--expect-workers", "4", "--master-bind-host", "10.0.0.5", "--master-bind-port", "6000"],
        ),
    ],
)
def test_the_distribution_becomes_locusts_own_flags(argv: list[str], locust: list[str]) -> None:
    arguments = distribution(_arguments(["run", "--host", "http://x", *argv])).locust_arguments()
    assert arguments[: len(locust)] == locust


def test_workers_here_and_elsewhere_are_one_or_the_other() -> None:
    with pytest.raises(SystemExit):
        main(["run", "--host", "http://x", "--workers", "2", "--remote-workers", "2"])


@pytest.mark.parametrize("mode", ["run", "worker"])
def test_a_token_url_that_cannot_be_fetched_is_one_line(
    mode: str, dead_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """TOKENS=s3://... with S3 out of reach (here: an endpoint where nothing listens) was botocore's traceback."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", dead_url)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with socket.create_server(("127.0.0.1", 0)) as listening:  # the target, or the master: it accepts connections
        address = f"127.0.0.1:{listening.getsockname()[1]}"
        argv = ["run", "--host", f"http://{address}"] if mode == "run" else ["worker", "--master", address]
        code = main([*argv, "--tokens", "s3://bucket/tokens.json"])
    assert code == EXIT_NOT_RUN
    assert "error: --tokens: cannot fetch s3://bucket/tokens.json" in capsys.readouterr().err
