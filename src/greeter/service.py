"""What the service does: the two use cases, over the domain rules and a store."""

from __future__ import annotations

from greeter.domain import (
    Clock,
    UserNotFoundError,
    days_until_birthday,
    greeting,
    parse_date_of_birth,
    record_key,
    utc_today,
)
from greeter.store import BirthdayStore


def save_birthday(
    store: BirthdayStore,
    username: str,
    date_of_birth: object,
    clock: Clock = utc_today,
    *,
    smoke_test_run: object = None,
) -> None:
    """Stores (creates or replaces) the date of birth of `username` (of a smoke-test run's, if named)."""
    key = record_key(username, smoke_test_run)
    store.put(key, parse_date_of_birth(date_of_birth, clock()))


def greet(store: BirthdayStore, username: str, clock: Clock = utc_today, *, smoke_test_run: object = None) -> str:
    """The greeting for `username`, spelled as asked, with the days to the birthday."""
    born = store.get(record_key(username, smoke_test_run))
    if born is None:
        raise UserNotFoundError(f"no date of birth is stored for {username}")
    return greeting(username, days_until_birthday(born, clock()))
