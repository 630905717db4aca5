"""Load tests with the JWT authorizer on: a token file gives every request its person's token.

The local API runs with JwtIssuer and JwtAudience pointing at the tests' own
issuer; the token file holds that issuer's tokens, one per username.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtest import report
from tests.support.authorizer import guarded_local_api
from tests.support.issuer import TestIssuer
from tests.support.local_api import LocalApiProcess
from tests.support.paths import ROOT
from tests.tooling.loadtest.test_locust_runs import PREFIX, run_loadtest
from tests.tooling.loadtest.test_make_loadtest import loadtest_arguments

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def guarded_api(issuer: TestIssuer) -> Iterator[LocalApiProcess]:
    process = guarded_local_api(issuer, "JwtProtectGet=true", concurrency=4)
    yield process
    process.stop()


def token_file(issuer: TestIssuer, path: Path, count: int) -> Path:
    names = [f"Loaded{chr(ord('a') + n // 26)}{chr(ord('a') + n % 26)}" for n in range(count)]
    path.write_text(json.dumps({name: issuer.token(name) for name in names}), encoding="utf-8")
    return path


def test_with_a_token_file_every_request_is_authorized(
    guarded_api: LocalApiProcess, issuer: TestIssuer, tmp_path: Path
) -> None:
    """PUT and (protected) GET both carry the person's token; a few tokens serve a longer run by re-registering."""
    tokens = token_file(issuer, tmp_path / "tokens.json", 6)
    done = run_loadtest(
        *("run", "--host", guarded_api.url, "--users", "3", "--spawn-rate", "3", "--duration", "3s"),
        *("--tokens", str(tokens), "--out", str(tmp_path / "out")),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = report.summarize(tmp_path / "out" / PREFIX)
    assert summary.requests > 0
    assert summary.failures == 0, summary.errors
    assert 204 in summary.status_codes
    assert set(summary.status_codes) <= {200, 204}


def test_without_tokens_the_guarded_api_refuses_every_put(guarded_api: LocalApiProcess, tmp_path: Path) -> None:
    done = run_loadtest(
        *("check", "--host", guarded_api.url, "--rate", "5", "--duration", "2s", "--out", str(tmp_path))
    )
    assert done.returncode == 1, done.stdout + done.stderr
    summary = report.summarize(tmp_path / PREFIX)
    assert summary.status_codes == {401: summary.requests}


def test_fewer_tokens_than_users_stops_before_the_run(
    guarded_api: LocalApiProcess, issuer: TestIssuer, tmp_path: Path
) -> None:
    tokens = token_file(issuer, tmp_path / "tokens.json", 2)
    done = run_loadtest("run", "--host", guarded_api.url, "--users", "3", "--tokens", str(tokens))
    assert done.returncode == 2
    assert "has tokens for 2 user(s); 3 simulated users need one each at least" in done.stderr


@pytest.mark.parametrize("content", ["[]", "{}", '{"not a name": "t"}', '{"alice": ""}', "not json"])
def test_a_malformed_token_file_stops_before_the_run(
    guarded_api: LocalApiProcess, tmp_path: Path, content: str
) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(content, encoding="utf-8")
    done = run_loadtest("run", "--host", guarded_api.url, "--users", "1", "--tokens", str(path))
    assert done.returncode == 2
    assert "error: --tokens:" in done.stderr


def test_make_loadtest_passes_a_token_file() -> None:
    assert loadtest_arguments("loadtest", "TOKENS=mine.json")[-2:] == ["--tokens", "mine.json"]


def test_make_loadtest_jwt_dev_mints_the_development_issuers_tokens_first() -> None:
    env = {"PATH": os.environ["PATH"]}
    printed = subprocess.run(
        ["make", "-n", "check-deployment", "JWT=dev"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.replace("\\\n", " ")
    mint, _, run = printed.splitlines()[-1].rpartition("&&")
    assert "-m localapi.devissuer tokens '500' --port '3001' > 'reports/dev-issuer-tokens.json'" in mint
    arguments = shlex.split(run)
    assert arguments[arguments.index("--tokens") + 1] == "reports/dev-issuer-tokens.json"
    assert arguments[arguments.index("loadtest") + 1] == "check"
