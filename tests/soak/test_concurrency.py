"""Parallel writes for one user: every PUT is a 204, the last write wins whole, reads never miss the user."""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests

from localapi.store import LOCAL_CREDENTIALS
from tests.support.local_api import LocalApiProcess
from tests.support.oracle import days_until_by_stepping

pytestmark = pytest.mark.soak

PARALLEL_PUTS = 50
TIMEOUT = 30
USER = "Concurrent"
# 50 dates a week apart: every month-and-day differs, so each gives its own greeting.
DATES = [date(1980, 1, 3) + timedelta(weeks=week) for week in range(PARALLEL_PUTS)]


def greeting_for(born: date, today: date) -> str:
    days = days_until_by_stepping(born, today)
    return f"Hello, {USER}! Happy birthday!" if days == 0 else f"Hello, {USER}! Your birthday is in {days} day(s)"


def embedded_store(api: LocalApiProcess) -> Any:
    """A client on the local API's embedded DynamoDB (its address is in the first line it prints)."""
    found = re.search(r"\(store: (http://\S+) \(embedded", api.output[0])
    assert found, api.output[0]
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

    def put(born: date) -> int:
        return requests.put(url, json={"dateOfBirth": born.isoformat()}, timeout=TIMEOUT).status_code

    def get(_: int) -> int:
        return requests.get(url, timeout=TIMEOUT).status_code

    with ThreadPoolExecutor(max_workers=PARALLEL_PUTS * 2) as pool:
        puts = pool.map(put, DATES)
        gets = pool.map(get, range(PARALLEL_PUTS))
        put_statuses, get_statuses = list(puts), list(gets)

    assert put_statuses == [204] * PARALLEL_PUTS
    assert get_statuses == [200] * PARALLEL_PUTS  # a replace never hides the user

    today = datetime.now(UTC).date()
    message = requests.get(url, timeout=TIMEOUT).json()["message"]
    assert message in {greeting_for(born, today) for born in DATES}
    item = embedded_store(local_api).get_item(TableName="BirthdaysTable", Key={"username": {"S": USER.lower()}})["Item"]
    assert item["dateOfBirth"]["S"] in {born.isoformat() for born in DATES}
    assert message == greeting_for(date.fromisoformat(item["dateOfBirth"]["S"]), today)
    assert set(item) == {"username", "dateOfBirth", "updatedAt"}
