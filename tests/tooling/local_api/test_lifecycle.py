"""The local API at another date (libfaketime, and Debian's `faketime` wrapper), and its clean stop on SIGTERM."""

from __future__ import annotations

import json
import shlex
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.support.local_api import LocalApiProcess, local_api_env, run_local_api
from tests.support.paths import ROOT

pytestmark = pytest.mark.integration

# Two people, greeted differently either side of midnight after 29 February 2024.
BEFORE_MIDNIGHT = ("Hello, marchling! Your birthday is in 1 day(s)", "Hello, leapling! Happy birthday!")
AFTER_MIDNIGHT = ("Hello, marchling! Happy birthday!", "Hello, leapling! Your birthday is in 365 day(s)")
JUST_BEFORE_MIDNIGHT = "2024-02-29 23:59:52"
POLLS = 240  # at most two minutes of polling, twice a second; reached only if the clock never moves


@pytest.fixture(scope="module")
def frozen_api() -> Iterator[LocalApiProcess]:
    process = LocalApiProcess(args=("--faketime", "2024-02-29 23:59:59", "--frozen"))
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
def test_spec_dates_over_http_at_a_frozen_today(moment: str, born: str, expected: str) -> None:
    api = LocalApiProcess(args=("--faketime", moment, "--frozen"))  # `make run FAKETIME=... FROZEN=1`
    try:
        assert _put(api, "Someone", born) == 204
        assert _message(api, "someone") == f"Hello, someone! {expected}"
    finally:
        assert api.stop() == 0


def _greetings(api: LocalApiProcess) -> tuple[str, str]:
    return _message(api, "marchling"), _message(api, "leapling")


def _assert_the_clock_crosses_midnight(api: LocalApiProcess) -> None:
    """The API started a few seconds before midnight on 29 February 2024 (faked) and its clock runs.

    Every answer is one side of that midnight or the other, never back once past it,
    and the later side comes: a clock that stood still, or a date shifted twice, would
    give neither.
    """
    assert _put(api, "Marchling", "2000-03-01") == 204
    assert _put(api, "Leapling", "2000-02-29") == 204
    side = 0  # 0 before midnight, 1 after; in the order the requests were sent it never goes back
    for _ in range(POLLS):
        seen = _greetings(api)
        for user, message in enumerate(seen):  # midnight may pass between the two requests
            assert message in (BEFORE_MIDNIGHT[user], AFTER_MIDNIGHT[user]), seen
            now = 0 if message == BEFORE_MIDNIGHT[user] else 1
            assert now >= side, f"the clock went back over midnight: {seen}"
            side = now
        if seen == AFTER_MIDNIGHT:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"the clock never passed midnight: still {seen}")
    with ThreadPoolExecutor(max_workers=4) as pool:  # new workers, started after midnight, agree
        assert set(pool.map(lambda _: _greetings(api), range(4))) == {AFTER_MIDNIGHT}


def test_make_run_faketime_starts_the_clock_at_that_moment_and_lets_it_run() -> None:
    api = LocalApiProcess.through_make(f"FAKETIME={JUST_BEFORE_MIDNIGHT}")
    try:
        _assert_the_clock_crosses_midnight(api)
    finally:
        api.stop()
    assert "Local API stopped" in "".join(api.output)


def test_the_faketime_wrapper_runs_make_run_at_its_date_once() -> None:
    """`faketime '...' make run`: the wrapper's FAKETIME is libfaketime's; make must not fake again on top."""
    wrapper = shutil.which("faketime")
    assert wrapper, "Debian's `faketime` wrapper is needed (apt-get install faketime; .ci/run installs it)"
    api = LocalApiProcess.through_make(wrapper=(wrapper, JUST_BEFORE_MIDNIGHT))
    try:
        _assert_the_clock_crosses_midnight(api)
    finally:
        api.stop()
    output = "".join(api.output)
    assert "Local API stopped" in output
    assert "Traceback" not in output
    assert "died" not in output
    assert "exited" not in output


def test_a_frozen_clock_from_the_wrapper_serves_and_stops_cleanly() -> None:
    """`faketime -f` (libfaketime's absolute form) stands still; timers and sleeps must still work."""
    wrapper = shutil.which("faketime")
    assert wrapper, "Debian's `faketime` wrapper is needed (apt-get install faketime; .ci/run installs it)"
    api = LocalApiProcess.through_make(wrapper=(wrapper, "-f", "2024-02-29 23:59:59"))
    try:
        assert _put(api, "Leapling", "2000-02-29") == 204
        assert _message(api, "leapling") == "Hello, leapling! Happy birthday!"
    finally:
        api.stop()
    assert "Local API stopped" in "".join(api.output)
    assert "Traceback" not in "".join(api.output)
    # The wrapper ended on its own and removed what it names by its pid (a later wrapper may get that pid).
    assert not Path(f"/dev/shm/faketime_shm_{api.pid}").exists()  # noqa: S108 - the wrapper's own name
    assert not Path(f"/dev/shm/sem.faketime_sem_{api.pid}").exists()  # noqa: S108 - the wrapper's own name


def _make_run_command(*make_args: str, env: dict[str, str]) -> list[str]:
    printed = subprocess.run(
        ["make", "-n", "run", *make_args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    return shlex.split(printed.splitlines()[-1])


def test_make_takes_faketime_and_frozen_from_its_command_line_only() -> None:
    wrapped = {
        **local_api_env(),
        "FAKETIME": "-86901544",
        "FROZEN": "1",
    }  # what the wrapper (and a stray shell) exports
    assert "--faketime" not in _make_run_command(env=wrapped)
    assert "--frozen" not in _make_run_command(env=wrapped)
    command = _make_run_command("FAKETIME=2024-02-29 12:00:00", "FROZEN=1", env=local_api_env())
    assert command[command.index("--faketime") + 1] == "2024-02-29 12:00:00"
    assert "--frozen" in command


def test_libfaketimes_own_variable_is_not_a_setting_of_the_local_api() -> None:
    """FAKETIME without the library preloaded changes nothing: the API runs at today's real date."""
    api = LocalApiProcess(extra_env={"FAKETIME": "2024-02-29 12:00:00"})
    try:
        yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
        assert _put(api, "Realtime", yesterday) == 204  # a 400 ("not before today") in 2024
    finally:
        assert api.stop() == 0


def test_a_bad_faketime_is_a_clear_error() -> None:
    done = run_local_api("--port", "0", "--faketime", "29/02/2024")
    assert done.returncode != 0
    assert "is not a date and time like '2024-02-29 12:00:00'" in done.stderr
    assert "Traceback" not in done.stderr


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
        done = run_local_api("--port", str(port))
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
