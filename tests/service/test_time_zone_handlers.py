"""The time-zone field through the real handlers and a moto table (SPEC.md, "Time zone")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
import time_machine

from tests.conftest import TABLE_NAME
from tests.service.test_handlers import call, stored_item
from tests.support.events import for_user, load_event, with_body
from tests.support.logs import powertools_logs
from tests.support.time_zones import REFUSED_ZONES, ZONE_MESSAGE

SPEC_INSTANT = "2024-02-28T23:30:00Z"  # SPEC.md's example: 29 February in Tokyo, still the 28th in UTC


@pytest.fixture(autouse=True)
def at_the_specs_instant() -> Iterator[None]:
    with time_machine.travel(SPEC_INSTANT, tick=False):
        yield


def put(handler: ModuleType, context: Any, username: str, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    return call(handler, for_user(with_body(load_event("put_birthday.json"), json.dumps(body)), username), context)


def greeting_of(handler: ModuleType, context: Any, username: str) -> str:
    status, _, body = call(handler, for_user(load_event("get_greeting.json"), username), context)
    assert status == 200, body
    message: str = body["message"]
    return message


def test_the_same_birthday_is_today_in_tokyo_and_tomorrow_in_utc(
    put_handler: ModuleType, get_handler: ModuleType, lambda_context: Any
) -> None:
    assert put(put_handler, lambda_context, "Tokyo", {"dateOfBirth": "2000-02-29", "timeZone": "Asia/Tokyo"})[0] == 204
    assert put(put_handler, lambda_context, "Utc", {"dateOfBirth": "2000-02-29"})[0] == 204
    assert greeting_of(get_handler, lambda_context, "tokyo") == "Hello, tokyo! Happy birthday!"
    assert greeting_of(get_handler, lambda_context, "Utc") == "Hello, Utc! Your birthday is in 1 day(s)"


def test_the_zone_is_stored_beside_the_date_of_birth(
    put_handler: ModuleType, dynamodb: Any, lambda_context: Any
) -> None:
    put(put_handler, lambda_context, "Kenji", {"dateOfBirth": "1990-05-10", "timeZone": "Asia/Tokyo"})
    item = stored_item(dynamodb, "kenji")
    assert item is not None
    assert (item["dateOfBirth"], item["timeZone"]) == ({"S": "1990-05-10"}, {"S": "Asia/Tokyo"})


def test_a_put_without_a_zone_puts_the_user_back_on_utc(
    put_handler: ModuleType, get_handler: ModuleType, dynamodb: Any, lambda_context: Any
) -> None:
    put(put_handler, lambda_context, "Kenji", {"dateOfBirth": "2000-02-29", "timeZone": "Asia/Tokyo"})
    put(put_handler, lambda_context, "Kenji", {"dateOfBirth": "2000-02-29"})
    item = stored_item(dynamodb, "kenji")
    assert item is not None
    assert item["timeZone"] == {"S": "UTC"}
    assert greeting_of(get_handler, lambda_context, "Kenji") == "Hello, Kenji! Your birthday is in 1 day(s)"


def test_today_in_the_users_zone_is_refused_as_a_date_of_birth(
    put_handler: ModuleType, dynamodb: Any, lambda_context: Any
) -> None:
    """29 February is already today in Tokyo, so it is not "before today" there; in UTC it is tomorrow."""
    status, _, body = put(put_handler, lambda_context, "Kenji", {"dateOfBirth": "2024-02-29", "timeZone": "Asia/Tokyo"})
    assert (status, body["message"]) == (400, "dateOfBirth must be a date before today")
    status, _, _ = put(put_handler, lambda_context, "Kenji", {"dateOfBirth": "2024-02-28", "timeZone": "Asia/Tokyo"})
    assert status == 204
    status, _, _ = put(
        put_handler, lambda_context, "Ana", {"dateOfBirth": "2024-02-28", "timeZone": "America/Los_Angeles"}
    )
    assert status == 400  # still the 28th, 15:30, in Los Angeles
    assert [item["username"]["S"] for item in dynamodb.scan(TableName=TABLE_NAME)["Items"]] == ["kenji"]


def test_an_item_written_before_zones_existed_reads_as_utc(
    get_handler: ModuleType, dynamodb: Any, lambda_context: Any
) -> None:
    dynamodb.put_item(
        TableName=TABLE_NAME,
        Item={"username": {"S": "old"}, "dateOfBirth": {"S": "2000-02-29"}, "updatedAt": {"S": "2023-01-01T00:00Z"}},
    )
    assert greeting_of(get_handler, lambda_context, "Old") == "Hello, Old! Your birthday is in 1 day(s)"


def test_an_item_whose_zone_tzdata_does_not_know_is_a_500_that_names_no_value(
    get_handler: ModuleType, dynamodb: Any, lambda_context: Any
) -> None:
    dynamodb.put_item(
        TableName=TABLE_NAME,
        Item={"username": {"S": "odd"}, "dateOfBirth": {"S": "2000-02-29"}, "timeZone": {"S": "Mars/Olympus"}},
    )
    with powertools_logs() as logs:
        status, headers, body = call(get_handler, for_user(load_event("get_greeting.json"), "odd"), lambda_context)
    assert (status, headers["content-type"], body["message"]) == (500, "application/json", "internal error")
    assert "timeZone tzdata does not know" in logs.text
    assert "2000-02-29" not in logs.text


@pytest.mark.parametrize("zone", REFUSED_ZONES)
def test_every_refused_zone_is_a_400_with_a_json_message_and_stores_nothing(
    put_handler: ModuleType, dynamodb: Any, lambda_context: Any, zone: object
) -> None:
    status, headers, body = put(put_handler, lambda_context, "Kenji", {"dateOfBirth": "1990-05-10", "timeZone": zone})
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert body["message"] == ZONE_MESSAGE
    assert dynamodb.scan(TableName=TABLE_NAME)["Count"] == 0


def test_the_sample_events_store_and_greet_a_zoned_user(
    put_handler: ModuleType, get_handler: ModuleType, lambda_context: Any
) -> None:
    assert call(put_handler, load_event("put_birthday_time_zone.json"), lambda_context)[0] == 204
    status, _, body = call(get_handler, load_event("get_greeting_time_zone.json"), lambda_context)
    assert (status, body["message"]) == (200, "Hello, Kenji! Your birthday is in 71 day(s)")  # from 29 Feb in Tokyo
    status, _, body = call(put_handler, load_event("put_invalid_time_zone.json"), lambda_context)
    assert (status, body["message"]) == (400, ZONE_MESSAGE)
