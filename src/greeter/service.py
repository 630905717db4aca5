"""What the service does: the two use cases, over the domain rules and a store."""

from __future__ import annotations

from greeter.domain import (
    DEFAULT_TIME_ZONE,
    Birthday,
    Clock,
    UserNotFoundError,
    days_until_birthday,
    greeting,
    parse_date_of_birth,
    parse_time_zone,
    record_key,
    today_in,
    utc_now,
)
from greeter.store import BirthdayStore


def save_birthday(
    store: BirthdayStore,
    username: str,
    date_of_birth: object,
    time_zone: object = DEFAULT_TIME_ZONE,
    clock: Clock = utc_now,
    *,
    smoke_test_run: object = None,
) -> None:
    """Stores (creates or replaces) the date of birth and zone of `username` (of a smoke-test run's, if named).

    The zone is checked first: "strictly before today" means today in that zone.
    """
    key = record_key(username, smoke_test_run)
    zone = parse_time_zone(time_zone)
    born = parse_date_of_birth(date_of_birth, today_in(zone, clock()))
    store.put(key, Birthday(born, zone))


def greet(store: BirthdayStore, username: str, clock: Clock = utc_now, *, smoke_test_run: object = None) -> str:
    """The greeting for `username`, spelled as asked, counted from today in the user's zone."""
    birthday = store.get(record_key(username, smoke_test_run))
    if birthday is None:
        raise UserNotFoundError(f"no date of birth is stored for {username}")
    return greeting(username, days_until_birthday(birthday.born, today_in(birthday.time_zone, clock())))
