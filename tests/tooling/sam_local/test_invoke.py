"""Every event in events/ through the real `sam local invoke`, in one run, against one table.

The order tells a story: the GET finds nothing, the PUT stores, the GETs
greet (either spelling), then each bad request is refused with the SPEC's
status and a JSON message. Each event goes to the function whose route is
its routeKey.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from typing import Any

from greeter.domain import today_in
from loadtest.oracle import days_until_by_stepping
from localapi.template import SamTemplate
from samlocal.images import Images
from samlocal.stack import LocalStack, function_for, invoke
from tests.support.paths import EVENTS_DIR

BORN = date(1990, 5, 10)  # the date in events/put_birthday.json, put_birthday_base64.json, put_birthday_time_zone.json
ZONED_USER = ("Kenji", "Asia/Tokyo")  # events/put_birthday_time_zone.json
ORDER = [
    ("get_greeting.json", 404),
    ("put_birthday.json", 204),
    ("get_greeting.json", 200),
    ("get_greeting_lowercase.json", 200),
    ("put_birthday_base64.json", 204),
    ("put_invalid_date.json", 400),
    ("put_invalid_username.json", 400),
    ("put_wrong_content_type.json", 415),
    ("get_invalid_username.json", 400),
    ("delete_method_not_allowed.json", 405),
    ("put_birthday_time_zone.json", 204),
    ("get_greeting_time_zone.json", 200),
    ("put_invalid_time_zone.json", 400),
]


def greetings(name: str, days: set[date]) -> set[str]:
    """The greeting on each of `days`: the day the run started and the day it ended (it may span midnight)."""
    counts = {days_until_by_stepping(BORN, day) for day in days}
    return {
        f"Hello, {name}! Happy birthday!" if n == 0 else f"Hello, {name}! Your birthday is in {n} day(s)"
        for n in counts
    }


def test_the_order_covers_every_event_file() -> None:
    assert {name for name, _ in ORDER} == {path.name for path in EVENTS_DIR.glob("*.json")}


def test_every_event_goes_to_the_function_of_its_route(template: SamTemplate) -> None:
    functions = {path.name: function_for(path, template) for path in EVENTS_DIR.glob("*.json")}
    for name, function in functions.items():
        expected = "PutBirthdayFunction" if name.startswith("put_") else "GetGreetingFunction"
        assert function == expected, name


def test_sam_local_invoke_answers_every_event_as_the_spec_says(docker_engine: tuple[Any, Images]) -> None:
    client, images = docker_engine
    started = datetime.now(UTC)
    with LocalStack(client, images, region="eu-west-1", log=print) as stack:
        results = list(invoke(stack, [EVENTS_DIR / name for name, _ in ORDER], stderr=sys.stderr))
        network = stack.name
    instants = (started, datetime.now(UTC))
    days = {instant.date() for instant in instants}
    zoned_days = {today_in(ZONED_USER[1], instant) for instant in instants}
    assert [(result.event.name, result.response["statusCode"]) for result in results] == ORDER
    for result in results:
        headers = {name.lower(): value for name, value in result.response.get("headers", {}).items()}
        status = result.response["statusCode"]
        if status == 204:
            assert not result.response.get("body")
            continue
        assert headers["content-type"] == "application/json", result.event.name
        body = json.loads(result.response["body"])
        if result.event.name == "get_greeting_time_zone.json":
            assert body["message"] in greetings(ZONED_USER[0], zoned_days), result.event.name
        elif status == 200:
            name = "Alice" if result.event.name == "get_greeting.json" else "alice"
            assert body["message"] in greetings(name, days), result.event.name
        else:
            assert isinstance(body["message"], str), result.event.name
        if status == 405:
            assert headers["allow"] == "GET, PUT"
    assert client.containers.list(all=True, filters={"network": network}) == []
    assert client.networks.list(names=[network]) == []
