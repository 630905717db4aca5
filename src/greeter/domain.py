"""The greeter's rules, free of AWS and HTTP so they can be tested at any "today".

Every rule of the contract (SPEC.md) that is not about transport lives here,
once: who may be greeted, what counts as a date of birth, which zones exist
and what "today" is in one, how many days are left, who a token may act for,
and what the greeting says.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]
"""Returns the current instant (timezone-aware); injected so the rules can be tested at any moment."""

DEFAULT_TIME_ZONE = "UTC"
"""The zone of a user who named none, and of every item stored before zones existed."""
_NOT_A_PLACE = frozenset({"Factory"})

USERNAME = re.compile(r"[A-Za-z]{1,64}")
"""Business rule: a username is 1 to 64 ASCII letters. Mirrored in openapi.yaml and loadtest/oracle.py
(tests/service/test_mirrored_values.py keeps them equal)."""
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SMOKE_TEST_RUN = re.compile(r"[!-~]{1,512}")  # printable ASCII: a Step Functions execution ARN

SMOKE_TEST_KEY_PREFIX = "smoke-test#"
"""Starts every smoke-test run's key; `-` and `#` are not letters, so no username's key does.
Mirrored in template.yaml's SmokeTest mapping (tests/service/test_mirrored_values.py)."""


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


class InvalidTimeZoneError(DomainError):
    pass


class NotThatUserError(DomainError):
    """A verified token that names someone else (or no one)."""


@dataclass(frozen=True)
class Birthday:
    """What is stored for a user: the date of birth and the zone whose "today" counts."""

    born: date
    time_zone: str = DEFAULT_TIME_ZONE


def utc_now() -> datetime:
    """The current instant; each rule turns it into a date in the user's zone."""
    return datetime.now(UTC)


def validate_username(username: str) -> str:
    """Business rule: a username is 1 to 64 ASCII letters, the whole value.

    `fullmatch`, not `match` with `$`, which would accept a trailing newline.
    Returns the username unchanged, as spelled by the caller.
    """
    if not USERNAME.fullmatch(username):
        raise InvalidUsernameError("username must be 1 to 64 ASCII letters (A-Z, a-z)")
    return username


def user_key(username: str) -> str:
    """Business rule: identity is case-insensitive; this is the stored key."""
    return validate_username(username).lower()


_JSON_LITERALS = frozenset({"true", "false", "null"})
"""How a JSON literal may reach a claim once API Gateway has turned every claim into a string."""


def check_token_user(username: str, claimed: object) -> None:
    """Business rule: a token acts only for the user it names, by the identity rule (`user_key`).

    A claim that is missing, not a string or not a valid username names no one,
    so it matches no username. Nor does `true`, `false` or `null`: API Gateway
    hands claims over as strings and does not document how it renders a claim
    that is not one, so these may be an issuer's JSON literal rather than a
    name it gave (the spellings `True`, `NULL` can only be names, and count).
    """
    refused = NotThatUserError(f"the token is not {username}'s: a token may only act for the user it names")
    if not isinstance(claimed, str) or claimed in _JSON_LITERALS:
        raise refused
    try:
        names_the_user = user_key(claimed) == user_key(username)
    except InvalidUsernameError:  # a claim that is no username (the username rule, above) names no one
        names_the_user = False
    if not names_the_user:
        raise refused


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


@cache
def time_zone_names() -> frozenset[str]:
    """Every zone key of the pinned `tzdata` package, as IANA spells them.

    Read from the package's own list, never from the machine's zoneinfo
    directory, which Lambda's image may lack or hold at another version.
    `Factory` is left out: IANA's placeholder for "zone not set", no one's zone.
    """
    listing = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in listing.splitlines() if line.strip()) - _NOT_A_PLACE


def parse_time_zone(value: object) -> str:
    """Business rule: a time zone is a key of the shipped tz database, spelled exactly.

    Membership in the package's list, not "whatever `ZoneInfo(value)` opens":
    that also opens files of TZPATH that are no IANA name (`posixrules`,
    `localtime`), and matches case-insensitively on case-insensitive file
    systems. So offsets, paths, padding, wrong case, the empty string and
    non-strings are all refused here, in one place.
    """
    if not isinstance(value, str) or value not in time_zone_names():
        raise InvalidTimeZoneError("timeZone must be an IANA time zone name, such as Europe/Madrid or UTC")
    return value


@cache
def _zone(name: str) -> tzinfo:
    """The zone's rules from the `tzdata` package itself (never TZPATH); UTC needs no file.

    The name is checked here, where a file is opened, so nothing but a listed
    zone reaches a path; cached, so that happens once per zone and process.
    """
    if parse_time_zone(name) == DEFAULT_TIME_ZONE:
        return UTC
    path = resources.files("tzdata.zoneinfo").joinpath(*name.split("/"))
    with path.open("rb") as rules:
        return ZoneInfo.from_file(rules, key=name)


def today_in(time_zone: str, now: datetime) -> date:
    """Business rule: a user's "today" is the current date in their zone.

    The instant is converted by the zone's own rules, so daylight saving and
    odd offsets are the zone's business; dates, never offsets, are compared.
    """
    return now.astimezone(_zone(time_zone)).date()


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
    """The exact greeting text of the contract, echoing the caller's spelling.

    Mirrored in statemachines/smoke_test.asl.json, openapi.yaml and loadtest/oracle.py
    (tests/service/test_mirrored_values.py keeps them equal).
    """
    if days_left == 0:
        return f"Hello, {username}! Happy birthday!"
    return f"Hello, {username}! Your birthday is in {days_left} day(s)"
