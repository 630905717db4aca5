"""The zone rule of SPEC.md ("Time zone"), against an independent oracle.

The oracle is pytz: its own copy of the tz database and its own conversion
code, so an error in how greeter.domain loads or applies a zone cannot hide in
both. Every quarter hour of the UTC days that matter is checked: daylight
saving starting and ending, 29 February, the year end, in the extreme zones
and the ones whose offsets are not whole hours.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import pytz

from greeter import domain
from greeter.domain import (
    DEFAULT_TIME_ZONE,
    Birthday,
    InvalidDateOfBirthError,
    InvalidTimeZoneError,
    days_until_birthday,
    greeting,
    parse_time_zone,
    time_zone_names,
    today_in,
)
from greeter.service import greet, save_birthday
from loadtest.oracle import days_until_by_stepping
from tests.support.memory_store import MemoryStore
from tests.support.time_zones import REFUSED_ZONES, ZONE_MESSAGE

ZONES = [
    "UTC",
    "Pacific/Kiritimati",  # UTC+14, the first to reach a date
    "Etc/GMT+12",  # UTC-12, the last (the POSIX sign: GMT+12 is behind)
    "Asia/Kathmandu",  # +05:45
    "Asia/Kolkata",  # +05:30
    "America/New_York",  # DST
    "Europe/London",  # DST, UTC in winter
    "Asia/Tokyo",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Pacific/Chatham",  # +12:45 / +13:45
]
UTC_DAYS = [
    date(2023, 12, 31),  # the year ends in every zone over these two days
    date(2024, 1, 1),
    date(2024, 2, 28),  # 29 February arrives somewhere on each of these three
    date(2024, 2, 29),
    date(2024, 3, 1),
    date(2024, 3, 10),  # America/New_York springs forward
    date(2024, 3, 31),  # Europe/London springs forward
    date(2024, 10, 27),  # Europe/London falls back
    date(2024, 11, 3),  # America/New_York falls back
    date(2025, 2, 28),  # a common year: 29 February people celebrate on 1 March
    date(2025, 3, 1),
]
BORN = [date(2000, 2, 29), date(1990, 12, 31), date(1990, 1, 1), date(1985, 3, 10), date(1970, 11, 3)]


def quarter_hours(day: date) -> Iterator[datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    for step in range(24 * 4):
        yield start + timedelta(minutes=15 * step)


def oracle_today(zone: str, instant: datetime) -> date:
    local: datetime = instant.astimezone(pytz.timezone(zone))
    return local.date()


@pytest.mark.parametrize("zone", ZONES)
def test_today_is_the_date_in_the_zone_at_every_quarter_hour(zone: str) -> None:
    for day in UTC_DAYS:
        for instant in quarter_hours(day):
            assert today_in(zone, instant) == oracle_today(zone, instant), (zone, instant)


@pytest.mark.parametrize("zone", ZONES)
def test_greeting_counts_from_the_users_today_at_every_quarter_hour(zone: str) -> None:
    store = MemoryStore()
    for born in BORN:
        save_birthday(store, "Kai", born.isoformat(), zone, clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))
        for day in UTC_DAYS:
            for instant in quarter_hours(day):
                expected = greeting("Kai", days_until_by_stepping(born, oracle_today(zone, instant)))
                assert greet(store, "Kai", clock=lambda instant=instant: instant) == expected, (zone, born, instant)


@pytest.mark.parametrize("zone", ZONES)
def test_put_refuses_the_users_today_and_accepts_their_yesterday(zone: str) -> None:
    store = MemoryStore()
    for day in UTC_DAYS:
        for instant in quarter_hours(day):
            local_today = oracle_today(zone, instant)
            with pytest.raises(InvalidDateOfBirthError):
                save_birthday(store, "Kai", local_today.isoformat(), zone, clock=lambda instant=instant: instant)
            yesterday = local_today - timedelta(days=1)
            save_birthday(store, "Kai", yesterday.isoformat(), zone, clock=lambda instant=instant: instant)
            assert store.items["kai"] == Birthday(yesterday, zone)


def test_the_specs_example_tokyo_has_the_birthday_while_utc_waits_a_day() -> None:
    instant = datetime(2024, 2, 28, 23, 30, tzinfo=UTC)
    store = MemoryStore()
    save_birthday(store, "Tokyo", "2000-02-29", "Asia/Tokyo", clock=lambda: instant)
    save_birthday(store, "Utc", "2000-02-29", clock=lambda: instant)
    assert greet(store, "Tokyo", clock=lambda: instant) == "Hello, Tokyo! Happy birthday!"
    assert greet(store, "Utc", clock=lambda: instant) == "Hello, Utc! Your birthday is in 1 day(s)"


def test_a_put_without_a_zone_stores_utc() -> None:
    store = MemoryStore()
    save_birthday(store, "Kai", "2000-02-29", clock=lambda: datetime(2024, 6, 1, tzinfo=UTC))
    assert store.items["kai"] == Birthday(date(2000, 2, 29), DEFAULT_TIME_ZONE)
    assert DEFAULT_TIME_ZONE == "UTC"


def test_a_date_that_is_yesterday_in_kiritimati_and_today_in_utc_minus_12() -> None:
    """At one instant the two extreme zones are two calendar days apart."""
    instant = datetime(2024, 2, 29, 11, 0, tzinfo=UTC)  # 1 March 01:00 at +14, 28 February 23:00 at -12
    assert today_in("Pacific/Kiritimati", instant) == date(2024, 3, 1)
    assert today_in("Etc/GMT+12", instant) == date(2024, 2, 28)
    assert days_until_birthday(date(2000, 2, 29), today_in("Pacific/Kiritimati", instant)) == 365
    assert days_until_birthday(date(2000, 2, 29), today_in("Etc/GMT+12", instant)) == 1


@pytest.mark.parametrize(
    "zone", ["Europe/Madrid", "America/Argentina/Buenos_Aires", "Asia/Kathmandu", "UTC", "Etc/GMT+12"]
)
def test_iana_names_are_accepted_as_spelled(zone: str) -> None:
    assert parse_time_zone(zone) == zone


@pytest.mark.parametrize(
    "value",
    [
        *REFUSED_ZONES,
        "EUROPE/MADRID",
        "utc",
        "Europe/../UTC",
        "Europe//Madrid",
        " Europe/Madrid",
        "UTC\x00",
        "-05:00",
        "UTC+2",
        "GMT+02:00",
        "zones",  # files of the package that are not zones
        "tzdata",
        "Factory",  # in tzdata's list, but IANA's "zone not set", no one's zone
        True,
        [],
    ],
)
def test_anything_but_a_plain_zone_key_is_refused(value: object) -> None:
    with pytest.raises(InvalidTimeZoneError) as refused:
        parse_time_zone(value)
    assert str(refused.value) == ZONE_MESSAGE


def test_a_refused_zone_stores_nothing() -> None:
    store = MemoryStore()
    with pytest.raises(InvalidTimeZoneError):
        save_birthday(store, "Kai", "2000-02-29", "Mars/Olympus")
    assert store.items == {}


def test_every_name_the_package_lists_loads_and_agrees_with_the_oracle() -> None:
    """The list is tzdata's own; every entry has its rules in the package and means what pytz says."""
    names = time_zone_names()
    assert names == set(pytz.all_timezones)
    instant = datetime(2024, 7, 1, 12, 0, tzinfo=UTC)
    for name in sorted(names):
        assert today_in(name, instant) == oracle_today(name, instant), name


def test_zones_come_from_the_package_never_from_the_machines_zoneinfo(tmp_path: Path) -> None:
    """A TZPATH whose Asia/Tokyo is really UTC (as a stale or foreign image could have) changes nothing."""
    (tmp_path / "Asia").mkdir()
    utc_rules = domain.resources.files("tzdata.zoneinfo").joinpath("UTC").read_bytes()
    (tmp_path / "Asia" / "Tokyo").write_bytes(utc_rules)
    domain._zone.cache_clear()
    zoneinfo.reset_tzpath([str(tmp_path)])
    zoneinfo.ZoneInfo.clear_cache()
    try:
        assert zoneinfo.ZoneInfo("Asia/Tokyo").utcoffset(None) == timedelta(0)  # the trap is armed
        assert today_in("Asia/Tokyo", datetime(2024, 2, 28, 23, 30, tzinfo=UTC)) == date(2024, 2, 29)
    finally:
        zoneinfo.reset_tzpath()
        zoneinfo.ZoneInfo.clear_cache()
        domain._zone.cache_clear()
