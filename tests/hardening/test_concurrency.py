"""Parallel writes for one user: every PUT is a 204, the last write wins whole, reads never miss the user.

The local API, like Lambda, runs a bounded number of workers per function and
throttles (429) beyond it; a throttled request did nothing, and the client
sends it again, as any client of a throttled API does.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests

from loadtest.oracle import days_until_by_stepping
from localapi.store import LOCAL_CREDENTIALS
from tests.support.local_api import LocalApiProcess

pytestmark = pytest.mark.soak

PARALLEL_PUTS = 50
TIMEOUT = 120
"""A guard against a hang, not a speed limit: 100 requests on 20 cold workers on a loaded 2-core machine
queue for tens of seconds (a run at load average 14 saw a PUT wait over 30 s); the local API's own
timeouts leave out time spent waiting for a CPU."""
USER = "Concurrent"
RETRIES = 200  # throttled tries per request before giving up; each waits a little longer
# 50 dates a week apart: every month-and-day differs, so each gives its own greeting.
DATES = [date(1980, 1, 3) + timedelta(weeks=week) for week in range(PARALLEL_PUTS)]


def greeting_for(born: date, today: date) -> str:
    days = days_until_by_stepping(born, today)
    return f"Hello, {USER}! Happy birthday!" if days == 0 else f"Hello, {USER}! Your birthday is in {days} day(s)"


def embedded_store(api: LocalApiProcess) -> Any:
    """A client on the local API's embedded DynamoDB (its address is in the line saying where it listens)."""
    found = re.search(r"\(store: (http://\S+) \(embedded", api.wait_for_line("Local API listening"))
    assert found
    return boto3.client(
        "dynamodb",
        endpoint_url=found.group(1),
        region_name=os.environ["AWS_REGION"],
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def test_parallel_puts_for_one_user_all_succeed_and_one_date_wins(local_api: LocalApiProcess) -> None:
    url = f"{local_api.url}/hello/{USER}"
    assert requests.put(url, json={"dateOfBirth": "1970-01-01"}, timeout=TIMEOUT).status_code == 204

    throttled: list[requests.Response] = []

    def until_not_throttled(send: Callable[[], requests.Response]) -> int:
        for attempt in range(RETRIES):
            response = send()
            if response.status_code != 429:
                return response.status_code
            throttled.append(response)
            time.sleep(min(0.5, 0.01 * (attempt + 1)))
        return 429

    def put(born: date) -> int:
        return until_not_throttled(lambda: requests.put(url, json={"dateOfBirth": born.isoformat()}, timeout=TIMEOUT))

    def get(_: int) -> int:
        return until_not_throttled(lambda: requests.get(url, timeout=TIMEOUT))

    with ThreadPoolExecutor(max_workers=PARALLEL_PUTS * 2) as pool:
        puts = pool.map(put, DATES)
        gets = pool.map(get, range(PARALLEL_PUTS))
        put_statuses, get_statuses = list(puts), list(gets)

    assert put_statuses == [204] * PARALLEL_PUTS
    assert get_statuses == [200] * PARALLEL_PUTS  # a replace never hides the user
    assert {(response.status_code, response.text) for response in throttled} <= {
        (429, '{"message":"Too Many Requests"}')
    }

    today = datetime.now(UTC).date()
    message = requests.get(url, timeout=TIMEOUT).json()["message"]
    assert message in {greeting_for(born, today) for born in DATES}
    item = embedded_store(local_api).get_item(TableName="BirthdaysTable", Key={"username": {"S": USER.lower()}})["Item"]
    assert item["dateOfBirth"]["S"] in {born.isoformat() for born in DATES}
    assert message == greeting_for(date.fromisoformat(item["dateOfBirth"]["S"]), today)
    assert set(item) == {"username", "dateOfBirth", "timeZone", "updatedAt"}
