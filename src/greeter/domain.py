"""The greeter's rules, free of AWS and HTTP so they can be tested at any "today".

Every rule of the contract (SPEC.md) that is not about transport lives here,
once: who may be greeted, what counts as a date of birth, how many days are
left, and what the greeting says.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import UTC, date, datetime

Clock = Callable[[], date]
"""Returns "today"; injected so the date rules can be tested on any day."""

_USERNAME = re.compile(r"[A-Za-z]{1,64}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SMOKE_TEST_RUN = re.compile(r"[!-~]{1,512}")  # printable ASCII: a Step Functions execution ARN

SMOKE_TEST_KEY_PREFIX = "smoke-test#"
"""Starts every smoke-test run's key; `-` and `#` are not letters, so no username's key does."""


class DomainError(Exception):
    """A request the rules refuse; the message is safe to show to a person."""


class InvalidUsernameError(DomainError):
    pass


class InvalidDateOfBirthError(DomainError):
    pass


class UserNotFoundError(DomainError):
    pass


class InvalidSmokeTestRunError(DomainError):
    pass


class NotThatUserError(DomainError):
    """A verified token that names someone else (or no one)."""


def utc_today() -> date:
    """Business rule: "today" is the current date in UTC, whatever the time."""
    return datetime.now(UTC).date()


def validate_username(username: str) -> str:
    """Business rule: a username is 1 to 64 ASCII letters, the whole value.

    `fullmatch`, not `match` with `$`, which would accept a trailing newline.
    Returns the username unchanged, as spelled by the caller.
    """
    if not _USERNAME.fullmatch(username):
        raise InvalidUsernameError("username must be 1 to 64 ASCII letters (A-Z, a-z)")
    return username


def user_key(username: str) -> str:
    """Business rule: identity is case-insensitive; this is the stored key."""
    return validate_username(username).lower()


def check_token_user(username: str, claimed: object) -> None:
    """Business rule: a token acts only for the user it names, by the identity rule (`user_key`).

    A claim that is missing, not a string or not a valid username names no one,
    so it matches no username.
    """
    if not isinstance(claimed, str) or not _USERNAME.fullmatch(claimed) or user_key(claimed) != user_key(username):
        raise NotThatUserError(f"the token is not {username}'s: a token may only act for the user it names")


def record_key(username: str, smoke_test_run: object = None) -> str:
    """Business rule: where a request's date of birth is kept.

    A person's is their `user_key`. A smoke-test run (named only by a direct
    invoker: the smoke-test state machine) keeps its own under
    `smoke-test#<run>`, which no username reaches and no other run shares, so a
    run can neither touch a person's data nor disturb another run. The username
    is checked either way.
    """
    key = user_key(username)
    if smoke_test_run is None:
        return key
    if not isinstance(smoke_test_run, str) or not _SMOKE_TEST_RUN.fullmatch(smoke_test_run):
        raise InvalidSmokeTestRunError("smokeTestRun must be 1 to 512 printable ASCII characters")
    return SMOKE_TEST_KEY_PREFIX + smoke_test_run


def parse_date_of_birth(value: object, today: date) -> date:
    """Business rule: a date of birth is a real `YYYY-MM-DD` date strictly before today.

    The shape is checked first with an ASCII-only pattern, because
    `date.fromisoformat` alone also accepts `20200203` and `2020-W06-1`, and
    `int()` accepts digits of other scripts.
    """
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise InvalidDateOfBirthError("dateOfBirth must be a string in the form YYYY-MM-DD")
    try:
        born = date.fromisoformat(value)
    except ValueError:
        raise InvalidDateOfBirthError("dateOfBirth is not a real calendar date") from None
    if born >= today:
        raise InvalidDateOfBirthError("dateOfBirth must be a date before today")
    return born


def birthday_in(year: int, born: date) -> date:
    """Business rule: someone born on 29 February celebrates on 1 March in common years."""
    if (born.month, born.day) == (2, 29) and not calendar.isleap(year):
        return date(year, 3, 1)
    return date(year, born.month, born.day)


def days_until_birthday(born: date, today: date) -> int:
    """Days from `today` to the next birthday; 0 when the birthday is today."""
    upcoming = birthday_in(today.year, born)
    if upcoming < today:
        upcoming = birthday_in(today.year + 1, born)
    return (upcoming - today).days


def greeting(username: str, days_left: int) -> str:
    """The exact greeting text of the contract, echoing the caller's spelling."""
    if days_left == 0:
        return f"Hello, {username}! Happy birthday!"
    return f"Hello, {username}! Your birthday is in {days_left} day(s)"
