"""An independent answer to "how many days until the birthday?": walk the calendar a day at a time."""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def is_birthday(day: date, born: date) -> bool:
    if (born.month, born.day) == (day.month, day.day):
        return True
    # 29 February people celebrate on 1 March when February has 28 days.
    return (born.month, born.day) == (2, 29) and (day.month, day.day) == (3, 1) and not calendar.isleap(day.year)


def days_until_by_stepping(born: date, today: date) -> int:
    day, steps = today, 0
    while not is_birthday(day, born):
        day += timedelta(days=1)
        steps += 1
    return steps
