"""Locust's distributed mode through `python -m loadtest`: a master and workers, here and "elsewhere".

`--workers N` forks N workers on this machine (locust --processes); `--remote-workers N` starts a
master that waits for `python -m loadtest worker --master HOST:PORT` processes, which stand here
for workers on other machines (they share nothing with the master but its port). Every run uses
a free port. A lost worker or master must end the run with a message, never leave it waiting:
each of those tests is bounded by LoadtestProcess.WAIT_SECONDS, far below the run's duration.
"""

from __future__ import annotations

import csv
import itertools
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar

import pytest

from loadtest import report
from loadtest.__main__ import EXIT_NOT_RUN, EXIT_WORKER_LOST, free_port
from tests.support.issuer import TestIssuer
from tests.support.loadtest_process import LoadtestProcess
from tests.support.local_api import LocalApiProcess
from tests.support.stub_http import serving
from tests.tooling.loadtest.test_locust_runs import PREFIX, run_loadtest
from tests.tooling.loadtest.test_locust_with_tokens import token_file

pytestmark = pytest.mark.integration
SPAWNED = "All users spawned"


def assert_every_workers_requests_counted(summary: report.Summary, workers: int) -> None:
    assert summary.failures == 0, summary.errors
    assert summary.requests > 0
    assert list(summary.workers) == [str(index) for index in range(workers)]
    assert all(count > 0 for count in summary.workers.values()), summary.workers
    # locust's own count (forwarded stats), the samples the workers sent, and their per-worker tally agree
    assert sum(summary.workers.values()) == sum(summary.status_codes.values()) == summary.requests


def test_two_worker_processes_run_and_the_report_counts_each(local_api: LocalApiProcess, tmp_path: Path) -> None:
    done = run_loadtest(
        *("run", "--host", local_api.url, "--users", "4", "--spawn-rate", "4", "--duration", "3s"),
        *("--workers", "2", "--out", str(tmp_path)),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "a master and 2 worker processes" in done.stdout

    summary = report.summarize(tmp_path / PREFIX)
    assert_every_workers_requests_counted(summary, 2)
    assert "Workers       [count, requests each]             2: 0:" in done.stdout
    assert set(summary.status_codes) <= {200, 204}
    assert (tmp_path / "latency.png").read_bytes().startswith(b"\x89PNG")


def arrivals(out: Path) -> list[float]:
    with (out / f"{PREFIX}_samples.csv").open(newline="", encoding="utf-8") as file:
        return sorted(float(row["start_time"]) for row in csv.DictReader(file))


@pytest.mark.parametrize("workers", [1, 2])
def test_a_check_over_workers_keeps_the_total_rate_evenly_spread(
    local_api: LocalApiProcess, tmp_path: Path, workers: int
) -> None:
    """10 requests/s for 4 s is 40 requests however many workers send them, one every 100 ms.

    Measured from the requests' own start times. The tolerance (a quarter) only absorbs a busy
    machine at the edges of the run: a rate per worker instead of in total would double the
    count, users started in bursts would put most gaps near zero, and workers whose schedules
    start apart (each when its spawn message came) would alternate short and long gaps.
    """
    rate, seconds = 10, 4
    done = run_loadtest(
        *("check", "--host", local_api.url, "--rate", str(rate), "--duration", f"{seconds}s"),
        *("--workers", str(workers), "--out", str(tmp_path)),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = report.summarize(tmp_path / PREFIX)
    assert summary.succeeded, summary.errors
    assert sum(summary.workers.values()) == summary.requests

    assert rate * seconds * 0.75 <= summary.requests <= rate * seconds * 1.25
    if workers > 1:
        assert max(summary.workers.values()) - min(summary.workers.values()) <= 2  # the same share each
    starts = arrivals(tmp_path)
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert statistics.median(gaps) == pytest.approx(1 / rate, rel=0.25)
    # Evenly spread across workers too: workers a few milliseconds apart would alternate short and long gaps.
    assert statistics.median(abs(gap - 1 / rate) for gap in gaps) <= 0.25 / rate


def test_remote_workers_connect_to_the_master_and_are_all_counted(local_api: LocalApiProcess, tmp_path: Path) -> None:
    """What `make loadtest-master` and `make loadtest-worker MASTER=host:port` run, here on one machine."""
    port = free_port()
    master = LoadtestProcess(
        *("run", "--host", local_api.url, "--users", "4", "--spawn-rate", "4", "--duration", "3s"),
        *("--remote-workers", "2", "--bind", f"127.0.0.1:{port}", "--out", str(tmp_path)),
    )
    workers = [LoadtestProcess("worker", "--master", f"127.0.0.1:{port}") for _ in range(2)]
    try:
        assert master.finish() == 0, master.text
        assert [worker.finish() for worker in workers] == [0, 0], [worker.text for worker in workers]
    finally:
        for process in (master, *workers):
            process.stop()
    assert "waiting for 2 workers" in master.text
    assert_every_workers_requests_counted(report.summarize(tmp_path / PREFIX), 2)


def test_a_lost_worker_ends_the_run_with_a_message(local_api: LocalApiProcess, tmp_path: Path) -> None:
    run = LoadtestProcess(
        *("run", "--host", local_api.url, "--users", "4", "--user-rate", "2", "--duration", "10m"),
        *("--workers", "2", "--out", str(tmp_path)),
    )
    try:
        run.wait_for(SPAWNED)
        master, first_worker, _ = run.locust_processes()
        assert master.cmdline()[2] == "locust"
        first_worker.kill()
        assert run.finish() == EXIT_WORKER_LOST, run.text
    finally:
        run.stop()
    assert "stopped sending heartbeats" in run.text
    assert "the run ends here" in run.text
    assert "error: the run ended early: a worker (or the master) was lost" in run.text
    summary = report.summarize(tmp_path / PREFIX)  # the report of what was counted is still written
    assert summary.requests == sum(summary.workers.values())
    assert (tmp_path / "summary.txt").exists()


def test_a_worker_whose_master_is_gone_stops_with_a_message(local_api: LocalApiProcess, tmp_path: Path) -> None:
    port = free_port()
    master = LoadtestProcess(
        *("run", "--host", local_api.url, "--users", "2", "--user-rate", "2", "--duration", "10m"),
        *("--remote-workers", "1", "--bind", f"127.0.0.1:{port}", "--out", str(tmp_path)),
    )
    worker = LoadtestProcess("worker", "--master", f"127.0.0.1:{port}", "--master-silence", "3")
    try:
        master.wait_for(SPAWNED)
        master.stop()  # SIGKILL: the master says nothing to anyone
        assert worker.finish() == EXIT_WORKER_LOST, worker.text
    finally:
        worker.stop()
        master.stop()
    assert f"the master at 127.0.0.1:{port} has sent nothing for 3 s" in worker.text


def test_a_master_whose_workers_never_come_gives_up(local_api: LocalApiProcess, tmp_path: Path) -> None:
    port = free_port()
    done = run_loadtest(
        *("run", "--host", local_api.url, "--duration", "10m", "--remote-workers", "2"),
        *("--bind", f"127.0.0.1:{port}", "--worker-wait", "2", "--out", str(tmp_path)),
    )
    assert done.returncode == EXIT_NOT_RUN
    assert "Gave up waiting for workers to connect" in done.stderr
    assert "error: locust did not complete" in done.stderr


def test_a_worker_without_a_master_gives_up(tmp_path: Path) -> None:
    port = free_port()
    done = run_loadtest("worker", "--master", f"127.0.0.1:{port}", "--master-wait", "2")
    assert done.returncode == EXIT_NOT_RUN
    assert f"error: no master answers at 127.0.0.1:{port} after 2 s" in done.stderr


def test_a_worker_whose_master_port_is_not_a_master_gives_up_after_the_master_wait() -> None:
    """A mistyped port that another server holds answers TCP but never locust's hello: not a 5-minute wait."""
    with socket.create_server(("127.0.0.1", 0)) as not_a_master:
        port = not_a_master.getsockname()[1]
        started = time.monotonic()
        done = run_loadtest("worker", "--master", f"127.0.0.1:{port}", "--master-wait", "5")
    assert done.returncode == EXIT_NOT_RUN  # locust's own -1 (255) is no code python -m loadtest documents
    assert f"error: the worker did not run (locust's exit code 255): nothing at 127.0.0.1:{port}" in done.stderr
    assert time.monotonic() - started < 120  # locust's own retries alone would take 300 s


class _SlowAnswers(BaseHTTPRequestHandler):
    """Answers every request right, after DELAY seconds, and counts the answers it sent."""

    DELAY = 1.5
    answered: ClassVar[list[int]] = [0]
    lock = threading.Lock()

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(self.DELAY)
        self.send_response(204)
        self.end_headers()
        with self.lock:
            self.answered[0] += 1

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def slow_api() -> Iterator[str]:
    _SlowAnswers.answered[0] = 0
    with serving(_SlowAnswers) as url:
        yield url


def test_requests_in_flight_when_the_run_ends_are_counted(slow_api: str, tmp_path: Path) -> None:
    """Every user has a 1.5 s PUT in flight when the run time is up; each must still be counted.

    Locust alone waits half a second for its workers' last reports; the locustfile has each
    worker finish its users and report before the master writes anything.
    """
    done = run_loadtest(
        *("run", "--host", slow_api, "--users", "4", "--spawn-rate", "4", "--duration", "2s"),
        *("--put-ratio", "1", "--workers", "2", "--out", str(tmp_path)),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = report.summarize(tmp_path / PREFIX)
    assert summary.requests == _SlowAnswers.answered[0]
    assert summary.requests >= 8  # 4 users: one PUT answered in the run, one in flight at its end, at least
    assert_every_workers_requests_counted(summary, 2)


def test_workers_share_a_token_file_without_sharing_a_person(
    guarded_api: LocalApiProcess, issuer: TestIssuer, tmp_path: Path
) -> None:
    """Each worker takes every other token user: no one is registered by two workers with two dates."""
    tokens = token_file(issuer, tmp_path / "tokens.json", 8)
    done = run_loadtest(
        *("run", "--host", guarded_api.url, "--users", "4", "--spawn-rate", "4", "--duration", "3s"),
        *("--workers", "2", "--tokens", str(tokens), "--out", str(tmp_path / "out")),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert_every_workers_requests_counted(report.summarize(tmp_path / "out" / PREFIX), 2)


def test_a_remote_worker_with_another_token_file_is_refused(
    guarded_api: LocalApiProcess, issuer: TestIssuer, tmp_path: Path
) -> None:
    masters = token_file(issuer, tmp_path / "master.json", 4)
    other = token_file(issuer, tmp_path / "other.json", 5)
    port = free_port()
    master = LoadtestProcess(
        *("run", "--host", guarded_api.url, "--users", "2", "--duration", "10m", "--tokens", str(masters)),
        *("--remote-workers", "1", "--bind", f"127.0.0.1:{port}", "--out", str(tmp_path / "out")),
    )
    worker = LoadtestProcess("worker", "--master", f"127.0.0.1:{port}", "--tokens", str(other))
    try:
        assert worker.finish() == EXIT_WORKER_LOST, worker.text
        assert master.finish() == EXIT_WORKER_LOST, master.text
    finally:
        worker.stop()
        master.stop()
    assert "this worker's --tokens file is not the master's" in worker.text
    assert "refuses to run: this worker's --tokens file is not the master's" in master.text
