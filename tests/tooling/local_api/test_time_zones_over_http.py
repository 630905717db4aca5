"""The zone rules over HTTP, with `make run` under libfaketime at chosen instants (SPEC.md, "Time zone").

Both ways a developer fakes the clock: the project's (`make run FAKETIME=...
FROZEN=1`) and Debian's `faketime` wrapper around `make run`. Frozen clocks,
so no answer depends on how long the test takes.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.support.local_api import LocalApiProcess
from tests.support.time_zones import REFUSED_ZONES, ZONE_MESSAGE

pytestmark = pytest.mark.integration

SPEC_INSTANT = "2024-02-28 23:30:00"  # UTC: 29 February has begun in Tokyo, not yet in UTC
TIMEOUT = 10


@pytest.fixture(scope="module")
def api_at_the_specs_instant() -> Iterator[LocalApiProcess]:
    api = LocalApiProcess.through_make(f"FAKETIME={SPEC_INSTANT}", "FROZEN=1")
    yield api
    stop(api)


def stop(api: LocalApiProcess) -> None:
    """make dies of the group's SIGTERM; the server under it must stop cleanly."""
    api.stop()
    output = "".join(api.output)
    assert "Local API stopped" in output
    assert "Traceback" not in output


def put(api: LocalApiProcess, username: str, body: dict[str, Any]) -> requests.Response:
    return requests.put(
        f"{api.url}/hello/{username}",
        data=json.dumps(body),
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )


def message(api: LocalApiProcess, username: str) -> str:
    response = requests.get(f"{api.url}/hello/{username}", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return str(response.json()["message"])


def test_the_specs_example_tokyo_is_greeted_and_utc_waits_a_day(api_at_the_specs_instant: LocalApiProcess) -> None:
    api = api_at_the_specs_instant
    assert put(api, "Hanako", {"dateOfBirth": "2000-02-29", "timeZone": "Asia/Tokyo"}).status_code == 204
    assert put(api, "Henry", {"dateOfBirth": "2000-02-29", "timeZone": "UTC"}).status_code == 204
    assert put(api, "Nozone", {"dateOfBirth": "2000-02-29"}).status_code == 204
    assert message(api, "Hanako") == "Hello, Hanako! Happy birthday!"
    assert message(api, "Henry") == "Hello, Henry! Your birthday is in 1 day(s)"
    assert message(api, "nozone") == "Hello, nozone! Your birthday is in 1 day(s)"


def test_the_extreme_zones_are_two_dates_apart(api_at_the_specs_instant: LocalApiProcess) -> None:
    api = api_at_the_specs_instant
    assert put(api, "Kiri", {"dateOfBirth": "2000-02-29", "timeZone": "Pacific/Kiritimati"}).status_code == 204
    assert put(api, "Baker", {"dateOfBirth": "2000-02-29", "timeZone": "Etc/GMT+12"}).status_code == 204
    assert message(api, "Kiri") == "Hello, Kiri! Happy birthday!"  # 29 Feb, 13:30 at +14
    assert message(api, "Baker") == "Hello, Baker! Your birthday is in 1 day(s)"  # 28 Feb, 11:30 at -12


def test_before_today_means_before_the_users_today(api_at_the_specs_instant: LocalApiProcess) -> None:
    api = api_at_the_specs_instant
    assert put(api, "Baby", {"dateOfBirth": "2024-02-28", "timeZone": "Asia/Tokyo"}).status_code == 204
    refused = put(api, "Baby", {"dateOfBirth": "2024-02-28", "timeZone": "UTC"})  # today in UTC
    assert (refused.status_code, refused.json()["message"]) == (400, "dateOfBirth must be a date before today")
    assert put(api, "Baby", {"dateOfBirth": "2024-02-29", "timeZone": "Asia/Tokyo"}).status_code == 400
    assert message(api, "Baby") == "Hello, Baby! Your birthday is in 365 day(s)"  # the Tokyo PUT stands


@pytest.mark.parametrize("zone", REFUSED_ZONES)
def test_every_zone_the_spec_refuses_is_a_400_with_a_json_message(
    api_at_the_specs_instant: LocalApiProcess, zone: object
) -> None:
    api = api_at_the_specs_instant
    answer = put(api, "Refused", {"dateOfBirth": "1990-05-10", "timeZone": zone})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["message"] == ZONE_MESSAGE
    assert requests.get(f"{api.url}/hello/Refused", timeout=TIMEOUT).status_code == 404  # nothing stored


@pytest.mark.parametrize(
    ("moment", "zone", "born", "expected"),
    [
        # 04:30 UTC the day after New York springs forward: 00:30 EDT on 11 March (EST would say the 10th).
        ("2024-03-11 04:30:00", "America/New_York", "1985-03-11", "Happy birthday!"),
        # 04:30 UTC the day after New York falls back: 23:30 EST on 3 November (EDT would say the 4th).
        ("2024-11-04 04:30:00", "America/New_York", "1970-11-04", "Your birthday is in 1 day(s)"),
        # 23:30 UTC on 31 March 2024: 00:30 BST on 1 April in London.
        ("2024-03-31 23:30:00", "Europe/London", "1990-04-01", "Happy birthday!"),
        # 18:20 UTC on 31 December: 00:05 on 1 January in Kathmandu (+05:45).
        ("2023-12-31 18:20:00", "Asia/Kathmandu", "1990-01-01", "Happy birthday!"),
        # ... and 23:55 on 31 December in Kolkata (+05:30).
        ("2023-12-31 18:25:00", "Asia/Kolkata", "1990-01-01", "Your birthday is in 1 day(s)"),
    ],
)
def test_zone_rules_at_chosen_instants_through_make_run(moment: str, zone: str, born: str, expected: str) -> None:
    api = LocalApiProcess.through_make(f"FAKETIME={moment}", "FROZEN=1")
    try:
        assert put(api, "Someone", {"dateOfBirth": born, "timeZone": zone}).status_code == 204
        assert message(api, "someone") == f"Hello, someone! {expected}"
    finally:
        stop(api)


def test_the_faketime_wrapper_shows_the_specs_example() -> None:
    """`faketime -f '2024-02-28 23:30:00' make run`, its time read in UTC (TZ=UTC)."""
    wrapper = shutil.which("faketime")
    assert wrapper, "Debian's `faketime` wrapper is needed (apt-get install faketime; .ci/run installs it)"
    api = LocalApiProcess.through_make(wrapper=(wrapper, "-f", SPEC_INSTANT), extra_env={"TZ": "UTC"})
    try:
        assert put(api, "Hanako", {"dateOfBirth": "2000-02-29", "timeZone": "Asia/Tokyo"}).status_code == 204
        assert put(api, "Henry", {"dateOfBirth": "2000-02-29"}).status_code == 204
        assert message(api, "Hanako") == "Hello, Hanako! Happy birthday!"
        assert message(api, "Henry") == "Hello, Henry! Your birthday is in 1 day(s)"
    finally:
        stop(api)
