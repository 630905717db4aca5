"""Properties of the whole function (event -> response) for any input hypothesis can think of.

The domain's rules have their own properties (tests/service/test_domain.py); these
check that transport, service and domain together keep them: any username is
a 400 or a stored user, any body is answered without a 5xx, and the greeting's
N agrees with the day-stepping oracle at any "today".
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from types import ModuleType
from typing import Any
from urllib.parse import quote

import pytest
import pytz
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greeter.domain import time_zone_names
from greeter.handlers import get_greeting, put_birthday
from loadtest.oracle import days_until_by_stepping
from tests.support.events import for_user, load_event, with_body
from tests.support.memory_store import MemoryStore

ASCII_LETTERS = re.compile(r"[A-Za-z]{1,64}")
NAMES = st.from_regex(ASCII_LETTERS, fullmatch=True)
TRICKY_CHARACTERS = st.sampled_from(
    ["\n", "\r", "\t", " ", "\x00", "-", "'", ".", "0", "\u00e9", "\u0430", "\ufb01", "/"]
)
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def memory_store(monkeypatch: pytest.MonkeyPatch) -> MemoryStore:
    store = MemoryStore()
    monkeypatch.setattr(put_birthday, "store", store)
    monkeypatch.setattr(get_greeting, "store", store)
    return store


def call(handler: ModuleType, event: dict[str, Any], context: Any) -> tuple[int, dict[str, str], str]:
    response = handler.lambda_handler(event, context)
    headers = {name.lower(): value for name, value in (response.get("headers") or {}).items()}
    return response["statusCode"], headers, response.get("body") or ""


def assert_json_error(headers: dict[str, str], body: str) -> None:
    assert headers["content-type"] == "application/json"
    message = json.loads(body)["message"]
    assert isinstance(message, str)
    assert message


def addressed_to(event_name: str, username: str) -> dict[str, Any]:
    """The event API Gateway would send: the raw path encoded, the path parameter decoded."""
    return for_user(load_event(event_name), username, raw_path="/hello/" + quote(username, safe=""))


@PROPERTY_SETTINGS
@given(
    username=st.text(max_size=70)
    | NAMES
    # Almost valid: one character before or after a valid name (a trailing newline fools `re.match` with `$`).
    | st.builds(
        lambda name, extra, after: name + extra if after else extra + name,
        NAMES,
        TRICKY_CHARACTERS | st.characters(),
        st.booleans(),
    )
)
def test_any_username_is_a_400_or_a_stored_user(memory_store: MemoryStore, lambda_context: Any, username: str) -> None:
    memory_store.items.clear()
    valid = ASCII_LETTERS.fullmatch(username) is not None
    status, headers, body = call(put_birthday, addressed_to("put_birthday.json", username), lambda_context)
    if not valid:
        assert status == 400
        assert_json_error(headers, body)
        assert memory_store.items == {}
        assert call(get_greeting, addressed_to("get_greeting.json", username), lambda_context)[0] == 400
        return
    assert status == 204
    assert list(memory_store.items) == [username.lower()]
    for spelling in (username, username.swapcase()):
        status, _, body = call(get_greeting, addressed_to("get_greeting.json", spelling), lambda_context)
        assert status == 200
        assert json.loads(body)["message"].startswith(f"Hello, {spelling}! ")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
BODIES = (
    st.binary(max_size=64).map(lambda raw: raw.decode("latin-1"))
    | st.text(max_size=64)
    | st.text(st.characters(exclude_categories=()), max_size=16)  # lone surrogates too
    | JSON_VALUES.map(json.dumps)
    | st.builds(
        lambda value, extra: json.dumps({"dateOfBirth": value, **extra}),
        JSON_VALUES,
        st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=3),
    )
    | st.dates().map(lambda day: json.dumps({"dateOfBirth": day.isoformat()}))
    | st.integers(4000, 4200).map(lambda size: json.dumps({"dateOfBirth": "1990-05-10", "pad": "x" * size}))
)
CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "application/merge-patch+json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/octet-stream",
        "multipart/form-data; boundary=x",
        "",
        "application/json;;;",
    ]
)


@PROPERTY_SETTINGS
@given(body=BODIES, content_type=CONTENT_TYPES, base64_encoded=st.booleans())
def test_any_body_is_answered_without_a_5xx(
    memory_store: MemoryStore, lambda_context: Any, body: str, content_type: str | None, base64_encoded: bool
) -> None:
    event = with_body(load_event("put_birthday.json"), body, content_type)
    event["isBase64Encoded"] = base64_encoded
    status, headers, answer = call(put_birthday, event, lambda_context)
    assert status in {204, 400, 413, 415}
    if status == 204:
        assert list(memory_store.items) == ["alice"]
    else:
        assert_json_error(headers, answer)


@PROPERTY_SETTINGS
@given(
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
    today=st.dates(min_value=date(1950, 1, 1), max_value=date(2099, 12, 31)),
    moment=st.times(),
)
def test_put_then_get_agrees_with_the_oracle_at_any_today(
    memory_store: MemoryStore, lambda_context: Any, born: date, today: date, moment: time
) -> None:
    """A date before today (UTC, at any time of that day) is stored and greeted with the oracle's N; others are 400."""
    memory_store.items.clear()
    with time_machine.travel(datetime.combine(today, moment, tzinfo=UTC), tick=False):
        event = with_body(load_event("put_birthday.json"), json.dumps({"dateOfBirth": born.isoformat()}))
        status, _, _ = call(put_birthday, event, lambda_context)
        if born >= today:
            assert status == 400
            assert memory_store.items == {}
            return
        assert status == 204
        status, _, body = call(get_greeting, load_event("get_greeting.json"), lambda_context)
    days = days_until_by_stepping(born, today)
    expected = "Hello, Alice! Happy birthday!" if days == 0 else f"Hello, Alice! Your birthday is in {days} day(s)"
    assert (status, json.loads(body)) == (200, {"message": expected})
    assert days <= 365
    assert today + timedelta(days=days) > born


@PROPERTY_SETTINGS
@given(
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
    # pytz, the oracle, knows transitions only up to 2037 (it ignores the tz files' rule for later years).
    instant=st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC)),
    zone=st.sampled_from(sorted(time_zone_names())),
)
def test_put_then_get_agrees_with_the_oracle_in_any_zone_at_any_instant(
    memory_store: MemoryStore, lambda_context: Any, born: date, instant: datetime, zone: str
) -> None:
    """Today is the date in the user's zone (pytz's answer): before it, stored and greeted with the oracle's N."""
    memory_store.items.clear()
    today = instant.astimezone(pytz.timezone(zone)).date()
    with time_machine.travel(instant, tick=False):
        body = json.dumps({"dateOfBirth": born.isoformat(), "timeZone": zone})
        status, _, _ = call(put_birthday, with_body(load_event("put_birthday.json"), body), lambda_context)
        if born >= today:
            assert status == 400
            assert memory_store.items == {}
            return
        assert status == 204
        status, _, answer = call(get_greeting, load_event("get_greeting.json"), lambda_context)
    days = days_until_by_stepping(born, today)
    expected = "Hello, Alice! Happy birthday!" if days == 0 else f"Hello, Alice! Your birthday is in {days} day(s)"
    assert (status, json.loads(answer)) == (200, {"message": expected})
