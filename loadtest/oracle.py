"""An independent reading of SPEC.md: what a right answer is, worked out without greeter.domain.

The tests check the service against it, the load test checks every answer
with it, and the end-to-end suite expects what it says. It is written apart
from the code it checks on purpose (days are found by stepping through the
calendar, not by date arithmetic), so a bug in one is not the other's bug.
The texts and the username shape are SPEC.md's own words; they mirror
greeter.domain, and tests/service/test_mirrored_values.py keeps both equal.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

USERNAME = re.compile(r"[A-Za-z]{1,64}")
"""SPEC.md, "Username": 1 to 64 ASCII letters, the whole value (use `fullmatch`)."""

GREETING = re.compile(
    r"Hello, (?P<name>[A-Za-z]{1,64})! (?:Your birthday is in (?P<days>[1-9][0-9]*) day\(s\)|Happy birthday!)"
)
"""The shape of every greeting SPEC.md allows (use `fullmatch`)."""


def celebrates_on(born: date, day: date) -> bool:
    """Whether someone born on `born` celebrates on `day`: 29 February people on 1 March in common years."""
    if (born.month, born.day) == (2, 29) and not calendar.isleap(day.year):
        return (day.month, day.day) == (3, 1)
    return (day.month, day.day) == (born.month, born.day)


def days_until_by_stepping(born: date, today: date) -> int:
    """Days from `today` to the next celebration, found by stepping one day at a time."""
    day = today
    while not celebrates_on(born, day):
        day += timedelta(days=1)
    return (day - today).days


def greeting(name: str, days: int) -> str:
    """The exact text SPEC.md gives for `days` left, echoing the name as spelled."""
    return f"Hello, {name}! Happy birthday!" if days == 0 else f"Hello, {name}! Your birthday is in {days} day(s)"


def expected_messages(name: str, born: date, todays: set[date]) -> set[str]:
    """Every right greeting for `name`; more than one "today" covers a run that crosses midnight."""
    return {greeting(name, days_until_by_stepping(born, today)) for today in todays}
