"""SPEC.md's happy path over HTTP: a PUT stores, a GET greets with the days left, counted as the SPEC counts them.

Every test here writes one of the suite's own users (conftest.OWNED_USERS) and
so is skipped with READ_ONLY=1. The expected greeting comes from the oracle
(loadtest/oracle.py, stepping through the calendar), for "today" in the
user's zone at the moment of the request, either side of a midnight.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.e2e.conftest import Api, Clock, Writer, expect, expect_greeting, today_in

pytestmark = pytest.mark.writes


def store(
    api: Api, writer: Writer, username: str, body: dict[str, object], content_type: str = "application/json"
) -> None:
    answer = api.send("PUT", f"/hello/{username}", body, content_type=content_type, headers=writer.headers(username))
    expect(answer, 204, f"PUT of a valid date of birth for {username}")
    assert answer.body == b"", f"a 204 has an empty body: {answer.describe()}"


def greet(api: Api, writer: Writer, spelled: str, born: date, zone: str = "UTC", case: str = "") -> None:
    clock = Clock(zone)
    answer = api.send("GET", f"/hello/{spelled}", headers=writer.read_headers(spelled))
    expect_greeting(answer, spelled, born, clock, case or f"GET of {spelled}, born {born}, in {zone}")


def a_birthday_today(zone: str, years_ago: int) -> date:
    """A date of birth whose birthday is today in `zone` (29 February: one born on 29 February 2000)."""
    today = today_in(zone, datetime.now(UTC))
    if (today.month, today.day) == (2, 29):
        return date(2000, 2, 29)
    return today.replace(year=today.year - years_ago)


def test_a_stored_user_is_greeted_with_the_days_left_to_their_birthday(api: Api, writer: Writer) -> None:
    user, born = writer.user("plain"), date(1990, 5, 10)
    store(api, writer, user, {"dateOfBirth": born.isoformat()})
    greet(api, writer, user, born)


def test_on_their_birthday_a_user_is_wished_happy_birthday(api: Api, writer: Writer) -> None:
    user = writer.user("birthday")
    born = a_birthday_today("UTC", 30)
    store(api, writer, user, {"dateOfBirth": born.isoformat()})
    greet(api, writer, user, born)


def test_a_29_february_birthday_falls_on_1_march_in_common_years(api: Api, writer: Writer) -> None:
    user, born = writer.user("leap"), date(2000, 2, 29)
    store(api, writer, user, {"dateOfBirth": born.isoformat()})
    greet(api, writer, user, born)


def test_identity_is_case_insensitive_and_the_greeting_echoes_the_get_spelling(api: Api, writer: Writer) -> None:
    user, born = writer.user("plain"), date(1985, 11, 30)
    store(api, writer, user, {"dateOfBirth": born.isoformat()})
    for spelled in (user.lower(), user.upper(), user.swapcase()):
        greet(api, writer, spelled, born, case=f"GET of {spelled}, stored as {user}")


def test_a_users_today_is_the_date_in_their_zone(api: Api, writer: Writer) -> None:
    """Pacific/Kiritimati (UTC+14) is a day ahead of UTC for 14 hours of every day: a greeting counted in
    UTC would wish happy birthday a day late."""
    user, zone = writer.user("zoned"), "Pacific/Kiritimati"
    born = a_birthday_today(zone, 20)
    store(api, writer, user, {"dateOfBirth": born.isoformat(), "timeZone": zone})
    greet(api, writer, user, born, zone)


def test_a_put_replaces_the_whole_record_and_without_a_zone_the_user_is_on_utc(api: Api, writer: Writer) -> None:
    user = writer.user("replaced")
    store(api, writer, user, {"dateOfBirth": "1970-01-01", "timeZone": "Pacific/Kiritimati"})
    born = a_birthday_today("UTC", 40)
    store(api, writer, user, {"dateOfBirth": born.isoformat()})
    greet(api, writer, user, born, "UTC", case=f"GET of {user} after a PUT without timeZone replaced a zoned one")


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/problem+json", None])
def test_json_media_types_and_no_content_type_are_accepted(api: Api, writer: Writer, content_type: str | None) -> None:
    user, born = writer.user("typed"), date(1999, 9, 9)
    answer = api.send(
        "PUT",
        f"/hello/{user}",
        f'{{"dateOfBirth": "{born.isoformat()}"}}',
        content_type=content_type,
        headers=writer.headers(user),
    )
    expect(answer, 204, f"PUT with Content-Type {content_type}")
    greet(api, writer, user, born)


def test_unknown_fields_in_the_body_are_ignored(api: Api, writer: Writer) -> None:
    user, born = writer.user("typed"), date(2001, 1, 31)
    store(api, writer, user, {"dateOfBirth": born.isoformat(), "nickname": "ignored", "dateofbirth": "1900-01-01"})
    greet(api, writer, user, born)
