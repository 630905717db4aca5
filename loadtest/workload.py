"""What the simulated people send and what a right answer looks like, without locust.

Every answer is checked against loadtest.oracle (worked out without greeter.domain, by
stepping one day at a time), so a load test catches a wrong answer and not only an error
status: a record mixed up between users under load shows up as a wrong number of days.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import random
import string
import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta

from loadtest.oracle import GREETING, USERNAME, expected_messages

OLDEST_YEAR = 1930
LEAP_DAY_SHARE = 0.02
"""29 February is 1 day in 1461; it is drawn this often so that short runs exercise it."""


class Schedule:
    """When one simulated user sends: every `interval` seconds from `first`, catching up when late.

    Locust's `constant_pacing` counts from the end of the previous wait, so a slow answer shifts
    every later request; this schedule keeps the planned times, as an arrival-rate tool would.
    """

    def __init__(self, first: float, interval: float) -> None:
        self.next = first
        self.interval = interval

    def wait(self, now: float) -> float:
        """Seconds until the next planned request (0 when it is late), and plans the one after."""
        delay = max(0.0, self.next - now)
        self.next += self.interval
        return delay


def staggered(start: float, user_number: int, users: int, user_rate: float) -> Schedule:
    """User k of n, each sending `user_rate` a second, starts k/(n x user_rate) after `start`:
    together they send evenly spaced requests from the first second, not a burst per second."""
    return Schedule(first=start + user_number / (users * user_rate), interval=1 / user_rate)


def aligned_start(monotonic_now: float, wall_now: float, period: float) -> float:
    """The next tick of a wall-clock grid of `period` seconds, on the monotonic clock.

    Workers that send the same rate start their schedules on a tick: whenever each of them got
    its spawn message, they start in phase (a worker one tick later is one whole period of its
    own schedule behind, which is the same phase), so their interleaved slots stay evenly spaced.
    """
    return monotonic_now + period - wall_now % period


class WrongAnswerError(Exception):
    """A response the contract does not allow; the text is stable so locust groups the failures."""


def check_greeting(body: object, name: str, born: date, todays: set[date]) -> None:
    """Raises WrongAnswerError unless `body` is exactly `{"message": <the right greeting for name>}`."""
    if not isinstance(body, dict) or set(body) != {"message"} or not isinstance(body["message"], str):
        raise WrongAnswerError('body is not exactly {"message": "..."}')
    message = body["message"]
    shape = GREETING.fullmatch(message)
    if shape is None:
        raise WrongAnswerError("message does not have the greeting's shape")
    if shape["name"] != name:
        raise WrongAnswerError("greeting does not echo the username as spelled in the GET")
    if message not in expected_messages(name, born, todays):
        raise WrongAnswerError("greeting has the wrong number of days for the stored date")


def read_tokens(path: str) -> dict[str, str]:
    """A token file: a JSON object of username -> token (for the `Authorization: Bearer` header)."""
    with open(path, encoding="utf-8") as file:
        try:
            document = json.load(file)
        except ValueError as error:
            raise ValueError(f"{path}: not JSON ({error})") from None
    if not isinstance(document, dict) or not document:
        raise ValueError(f"{path}: expected a JSON object of username -> token, with at least one user")
    for name, token in document.items():
        if not USERNAME.fullmatch(name) or not isinstance(token, str) or not token:
            raise ValueError(f"{path}: {name!r} is not a username (1 to 64 ASCII letters) with a token")
    return document


def tokens_digest(tokens: dict[str, str]) -> str:
    """A digest of a token file's content (empty without one): a worker checks it has the master's file."""
    if not tokens:
        return ""
    return hashlib.sha256(json.dumps(tokens, sort_keys=True).encode()).hexdigest()


def is_json(content_type: str | None) -> bool:
    """`application/json`, with or without parameters such as a charset."""
    return (content_type or "").split(";")[0].strip().lower() == "application/json"


@dataclass(frozen=True)
class Share:
    """The part of a distributed run one locust worker plays: worker `index` of `count` (0 of 1 alone).

    Workers share no memory, so each takes a disjoint part of everything that must be unique in
    the run: the names it generates (by a hash of the name, case-insensitively), the users of a
    token file (every `count`-th), and the user numbers that seed each user and place its first
    request (`slot`).
    """

    index: int = 0
    count: int = 1

    def owns(self, name: str) -> bool:
        """Whether a generated name is this worker's to register; alone, every name is."""
        return self.count == 1 or zlib.crc32(name.lower().encode()) % self.count == self.index

    def pool(self, names: list[str]) -> list[str]:
        """This worker's users of a token file: every `count`-th, so the parts differ by one at most."""
        return sorted(names)[self.index :: self.count]

    def slot(self, number: int) -> int:
        """The run-wide number of this worker's `number`-th user: workers interleave (0, 2, 4 and 1, 3, 5)."""
        return number * self.count + self.index


class NoOneLeftError(Exception):
    """Every name of the shared pool (the token file's users) is registered by some simulated user."""


@dataclass
class People:
    """A seeded source of the people one simulated user registers: letters-only names, birthdays.

    Names are unique case-insensitively across every `People` sharing `taken` (one locust
    process), so one simulated user never greets a person another one re-registered. With a
    `pool` (the users a token file has tokens for, shared by every `People` of the process),
    names come from it, each to one simulated user, until none is left. In a distributed run,
    `share` keeps the names of one worker apart from every other worker's.
    """

    rng: random.Random
    taken: set[str] = field(default_factory=set)
    pool: list[str] | None = None
    share: Share = field(default_factory=Share)

    def name(self) -> str:
        if self.pool is not None:
            return self._from_pool(self.pool)
        while True:
            length = self.rng.randint(3, 12)
            letters = "".join(self.rng.choice(string.ascii_lowercase) for _ in range(length))
            name = letters.capitalize() if self.rng.random() < 0.8 else letters
            if name.lower() not in self.taken and self.share.owns(name):
                self.taken.add(name.lower())
                return name

    def _from_pool(self, pool: list[str]) -> str:
        while pool:
            name = pool.pop(self.rng.randrange(len(pool)))
            if name.lower() not in self.taken:
                self.taken.add(name.lower())
                return name
        raise NoOneLeftError

    def date_of_birth(self, today: date) -> date:
        """A day of the year, 29 February included, in a year that makes it strictly before `today`."""
        if self.rng.random() < LEAP_DAY_SHARE:
            month, day = 2, 29
        else:
            leap_year_day = date(2000, 1, 1) + timedelta(days=self.rng.randrange(366))
            month, day = leap_year_day.month, leap_year_day.day
        years = [
            year
            for year in range(OLDEST_YEAR, today.year + 1)
            if (month, day) != (2, 29) or calendar.isleap(year)
            if date(year, month, day) < today
        ]
        return date(self.rng.choice(years), month, day)

    def spelling(self, name: str) -> str:
        """How a caller writes the name on GET: usually as registered, sometimes in another case."""
        return name.swapcase() if self.rng.random() < 0.25 else name
