"""The local API under a faked clock (libfaketime), and its clean stop on SIGTERM."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import libfaketime
import pytest
import requests

from tests.support.local_api import ROOT, LocalApiProcess

pytestmark = pytest.mark.integration


def _faked(moment: str) -> dict[str, str]:
    """Environment that runs a process under libfaketime, frozen at `moment` (no '@': the clock stands still)."""
    _, environment = libfaketime.get_reload_information()
    return {**environment, "DONT_FAKE_MONOTONIC": "0", "FAKETIME": moment}


@pytest.fixture(scope="module")
def frozen_api() -> Iterator[LocalApiProcess]:
    process = LocalApiProcess(_faked("2024-02-29 23:59:59"))
    yield process
    assert process.stop() == 0
    assert "Local API stopped" in "".join(process.output)


def _put(api: LocalApiProcess, username: str, born: str) -> int:
    return requests.put(
        f"{api.url}/hello/{username}",
        data=json.dumps({"dateOfBirth": born}),
        headers={"Content-Type": "application/json"},
        timeout=10,
    ).status_code


def _message(api: LocalApiProcess, username: str) -> str:
    response = requests.get(f"{api.url}/hello/{username}", timeout=10)
    assert response.status_code == 200, response.text
    return str(response.json()["message"])


def test_born_on_29_february_is_greeted_on_the_day_in_a_leap_year(frozen_api: LocalApiProcess) -> None:
    assert _put(frozen_api, "Leapling", "2000-02-29") == 204
    assert _message(frozen_api, "leapling") == "Hello, leapling! Happy birthday!"


def test_today_under_the_faked_clock_is_refused_and_yesterday_accepted(frozen_api: LocalApiProcess) -> None:
    assert _put(frozen_api, "Newborn", "2024-02-29") == 400
    assert _put(frozen_api, "Newborn", "2024-02-28") == 204
    assert _message(frozen_api, "Newborn") == "Hello, Newborn! Your birthday is in 365 day(s)"


@pytest.mark.parametrize(
    ("moment", "born", "expected"),
    [
        ("2023-03-01 00:00:01", "2000-02-29", "Happy birthday!"),  # common year: 1 March
        ("2023-02-28 12:00:00", "2000-02-29", "Your birthday is in 1 day(s)"),
        ("2024-01-01 00:00:01", "1990-12-31", "Your birthday is in 365 day(s)"),  # year end
        ("2023-05-11 23:59:59", "1990-05-10", "Your birthday is in 365 day(s)"),  # span holds 2024-02-29
    ],
)
def test_spec_dates_over_http_at_a_faked_today(moment: str, born: str, expected: str) -> None:
    api = LocalApiProcess(args=("--faketime", moment))  # what `make run FAKETIME=...` does
    try:
        assert _put(api, "Someone", born) == 204
        assert _message(api, "someone") == f"Hello, someone! {expected}"
    finally:
        assert api.stop() == 0


def test_sigterm_stops_workers_and_store_cleanly() -> None:
    api = LocalApiProcess()
    assert requests.get(f"{api.url}/hello/nobody", timeout=10).status_code == 404
    assert api.stop() == 0
    output = "".join(api.output)
    assert "Local API stopped" in output
    assert "Traceback" not in output


def test_a_busy_port_is_a_clear_error_not_a_traceback() -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT / "local")])}
        done = subprocess.run(
            [sys.executable, "-m", "localapi", "--port", str(port)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
