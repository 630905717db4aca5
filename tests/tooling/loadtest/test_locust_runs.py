"""Short headless locust runs against the local API the test session starts.

Locust monkey-patches the standard library with gevent, so it runs in a child process
(`python -m loadtest`, which runs `python -m locust`), never in pytest's.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar

import boto3
import pytest

from loadtest import report
from tests.support.local_api import LocalApiProcess
from tests.support.moto_server import moto_endpoint
from tests.support.paths import ROOT
from tests.support.stub_http import serving

pytestmark = pytest.mark.integration
PREFIX = "locust"


def run_loadtest(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loadtest", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("put_ratio", ["0.5", "1"])
def test_a_short_run_has_requests_and_no_failures(local_api: LocalApiProcess, tmp_path: Path, put_ratio: str) -> None:
    done = run_loadtest(
        *("run", "--host", local_api.url, "--users", "4", "--spawn-rate", "4", "--duration", "3s"),
        *("--put-ratio", put_ratio, "--out", str(tmp_path)),
    )
    assert done.returncode == 0, done.stdout + done.stderr

    # How many requests fit in 3 s depends on the machine (and on the cold starts of new workers), so
    # nothing here counts them; the plan's arithmetic is tested in test_workload and test_runner.
    summary = report.summarize(tmp_path / PREFIX)
    assert summary.requests > 0
    assert summary.failures == 0, summary.errors
    assert summary.success_ratio == 1.0
    assert sum(summary.status_codes.values()) == summary.requests
    assert 204 in summary.status_codes  # every user registers someone before greeting anyone
    if put_ratio == "1":
        assert summary.status_codes == {204: summary.requests}
    else:
        assert set(summary.status_codes) <= {200, 204}
    assert report.render(summary) in done.stdout
    assert (tmp_path / "report.html").stat().st_size > 0
    assert (tmp_path / "latency.png").read_bytes().startswith(b"\x89PNG")


@pytest.fixture
def cloudformation_endpoint() -> Iterator[str]:
    """moto's CloudFormation over HTTP, so the check's own process can describe a stack."""
    with moto_endpoint() as endpoint:
        yield endpoint


def test_check_deployment_reads_the_stack_url_and_passes_at_a_constant_rate(
    local_api: LocalApiProcess, cloudformation_endpoint: str, tmp_path: Path
) -> None:
    body = {"Resources": {"Marker": {"Type": "AWS::SNS::Topic"}}, "Outputs": {"ApiUrl": {"Value": local_api.url}}}
    boto3.client("cloudformation", endpoint_url=cloudformation_endpoint).create_stack(
        StackName="greeter-stage", TemplateBody=json.dumps(body)
    )
    done = run_loadtest(
        *("check", "--stack", "greeter-stage", "--rate", "10", "--duration", "3s", "--out", str(tmp_path)),
        env={"AWS_ENDPOINT_URL_CLOUDFORMATION": cloudformation_endpoint},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # 10 a second as 20 users on a 2 s schedule each, staggered (test_workload, test_runner check the
    # arithmetic); how many of them a loaded machine completes in 3 s is not this test's business.
    assert f"check: {local_api.url}, 20 users (0.5 req/s each), 3s" in done.stdout

    summary = report.summarize(tmp_path / PREFIX)
    assert summary.succeeded, summary.errors
    assert summary.requests > 0
    assert (tmp_path / "summary.txt").read_text(encoding="utf-8") == report.render(summary)
    assert (tmp_path / "latency.png").read_bytes().startswith(b"\x89PNG")


def test_check_deployment_fails_when_requests_fail(local_api: LocalApiProcess, tmp_path: Path) -> None:
    """A base path the API does not serve: every PUT answers 404, which the workload counts as a failure."""
    done = run_loadtest(
        *("check", "--host", f"{local_api.url}/v0", "--rate", "10", "--duration", "2s", "--out", str(tmp_path))
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "check failed" in done.stderr

    summary = report.summarize(tmp_path / PREFIX)
    assert summary.requests > 0
    assert summary.success_ratio == 0.0
    assert summary.status_codes == {404: summary.requests}
    assert summary.errors == {"PUT /hello/[username]: PUT: expected 204, got 404": summary.requests}
    assert "Success       [ratio]                            0.00%" in done.stdout
    assert (tmp_path / "latency.png").exists()


def test_check_deployment_needs_one_target(tmp_path: Path) -> None:
    done = run_loadtest("check", "--out", str(tmp_path))
    assert done.returncode != 0
    assert "give --host URL or --stack NAME" in done.stderr


class _WrongAnswers(BaseHTTPRequestHandler):
    """Takes every PUT; answers every GET wrongly, in turn."""

    wrong_gets: ClassVar[list[tuple[int, str, bytes]]] = [
        (404, "application/json", b'{"message": "not found"}'),
        (200, "text/plain", b'{"message": "Hello, x! Happy birthday!"}'),
        (200, "application/json", b"Hello"),
        (200, "application/json", b'{"message": "Hello, Nobody! Happy birthday!"}'),
        (200, "application/json", b'{"message": "Hello there"}'),
        (200, "application/json", b'{"message": "Hello, NAME! Your birthday is in 400 day(s)"}'),
    ]
    counter = itertools.count()

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.end_headers()

    def do_GET(self) -> None:
        status, content_type, body = self.wrong_gets[next(self.counter) % len(self.wrong_gets)]
        body = body.replace(b"NAME", self.path.rsplit("/", 1)[-1].encode())
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def wrong_api() -> Iterator[str]:
    with serving(_WrongAnswers) as url:
        yield url


def test_every_wrong_answer_is_a_failure(wrong_api: str, tmp_path: Path) -> None:
    done = run_loadtest("run", "--host", wrong_api, "--users", "2", "--duration", "2s", "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr

    summary = report.summarize(tmp_path / PREFIX)
    route = "/hello/[username]"
    assert set(summary.errors) == {
        f"GET {route}: GET of a registered user: expected 200, got 404",
        f"GET {route}: GET: Content-Type is not application/json",
        f"GET {route}: GET: body is not JSON",
        f"GET {route}: GET: greeting does not echo the username as spelled in the GET",
        f"GET {route}: GET: message does not have the greeting's shape",
        f"GET {route}: GET: greeting has the wrong number of days for the stored date",
    }
    gets = next(endpoint for endpoint in summary.endpoints if endpoint.method == "GET")
    assert gets.requests > 0
    assert gets.failures == gets.requests
