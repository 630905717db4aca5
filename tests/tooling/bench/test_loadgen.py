"""`make bench-loadgen`: its arithmetic and report (nothing timed), and the stub it measures against.

The stub must answer the load test's workload right, or the benchmark would measure a run full
of failures: its greetings are checked with the workload's own oracle, over HTTP.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bench.loadgen import GOAL, Run, efficiency_ratios, render, round_ratios, steady_rate
from bench.throughput import Server
from loadtest import report
from loadtest.workload import check_greeting
from tests.tooling.loadtest.test_locust_runs import PREFIX, run_loadtest


def test_the_steady_rate_leaves_out_the_warm_up_and_the_last_second() -> None:
    starts = [index / 100 for index in range(1000)]  # 100 a second for 10 s
    starts += [0.001] * 500  # a burst at the start: not steady
    assert steady_rate(starts, warm_up=3.0, tail=1.0) == pytest.approx(100, rel=0.02)


def test_a_run_too_short_for_its_warm_up_has_no_steady_rate() -> None:
    with pytest.raises(ValueError, match="no steady part"):
        steady_rate([0.0, 1.0, 2.0], warm_up=3.0)


RUNS = [
    Run(1, 100, 1000.0, 0.1, 1.0),
    Run(2, 180, 1800.0, 0.2, 2.0),
    Run(1, 90, 900.0, 0.1, 0.9),
    Run(2, 150, 1500.0, 0.2, 1.8),
]


def test_each_round_pairs_its_one_worker_run_with_its_two_worker_run() -> None:
    assert round_ratios(RUNS) == pytest.approx([1.8, 1500 / 900])
    assert efficiency_ratios(RUNS) == pytest.approx([0.9, (1500 / 1.8) / 1000])


def test_the_report_says_whether_the_goal_is_met() -> None:
    text = render(RUNS)
    assert f"median 1.73 (goal: at least {GOAL}, met)" in text
    assert "| 2 | 180 | 1800 | 2.00 | 900 | 20 % |" in text
    assert f"(goal: at least {GOAL}, NOT met)" in render(RUNS[2:])


@pytest.fixture(scope="module")
def stub() -> Iterator[str]:
    server = Server.greeter_stub()
    yield server.url
    server.stop()


def call(method: str, url: str, body: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, dict(response.headers), response.read()


@pytest.mark.parametrize("born", [date(1990, 5, 10), date(2000, 2, 29), date(1984, 12, 31)])
def test_the_stub_greets_as_the_workload_expects(stub: str, born: date) -> None:
    assert call("PUT", f"{stub}/hello/Annabel", {"dateOfBirth": born.isoformat()})[0] == 204
    status, headers, body = call("GET", f"{stub}/hello/aNNABEL")
    assert status == 200
    assert headers["content-type"] == "application/json"
    check_greeting(json.loads(body), "aNNABEL", born, {datetime.now(UTC).date()})


def test_a_short_load_test_against_the_stub_has_no_failures(stub: str, tmp_path: Path) -> None:
    done = run_loadtest("run", "--host", stub, "--users", "2", "--duration", "2s", "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    summary = report.summarize(tmp_path / PREFIX)
    assert summary.succeeded, summary.errors
