"""The workload's own rules: who it registers, when, and what it accepts as a right answer."""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from greeter import domain
from loadtest.oracle import days_until_by_stepping, expected_messages
from loadtest.workload import (
    NoOneLeftError,
    People,
    Schedule,
    Share,
    WrongAnswerError,
    aligned_start,
    check_greeting,
    is_json,
    read_tokens,
    staggered,
    tokens_digest,
)

TODAY = date(2024, 3, 1)


def seeded(seed: object) -> random.Random:
    return random.Random(str(seed))  # noqa: S311 - test data, repeatable by design


@pytest.mark.parametrize(
    ("born", "today", "days"),
    [
        (date(1990, 12, 31), date(2024, 1, 1), 365),
        (date(1990, 5, 10), date(2023, 5, 11), 365),
        (date(2000, 2, 29), date(2023, 2, 28), 1),  # common year: 1 March
        (date(2000, 2, 29), date(2024, 2, 28), 1),  # leap year: 29 February
        (date(2000, 2, 29), date(2024, 2, 29), 0),
        (date(1980, 7, 4), date(2025, 7, 4), 0),
    ],
)
def test_the_oracle_gives_the_spec_rows(born: date, today: date, days: int) -> None:
    assert days_until_by_stepping(born, today) == days


@pytest.mark.parametrize("year", [2023, 2024])
def test_the_oracle_agrees_with_the_service_every_day_of_a_year(year: int) -> None:
    births = [date(2000, 2, 29), date(1999, 3, 1), date(1999, 12, 31), date(1999, 1, 1), date(1999, 2, 28)]
    day = date(year, 1, 1)
    while day.year == year:
        for born in births:
            assert days_until_by_stepping(born, day) == domain.days_until_birthday(born, day), (born, day)
        day += timedelta(days=1)


def test_expected_messages_cover_both_sides_of_midnight() -> None:
    born = date(1990, 3, 2)
    assert expected_messages("Ann", born, {date(2025, 3, 1), date(2025, 3, 2)}) == {
        "Hello, Ann! Your birthday is in 1 day(s)",
        "Hello, Ann! Happy birthday!",
    }


def test_check_greeting_accepts_the_right_answer() -> None:
    check_greeting({"message": "Hello, aNN! Your birthday is in 1 day(s)"}, "aNN", date(1990, 3, 2), {TODAY})
    check_greeting({"message": "Hello, Ann! Happy birthday!"}, "Ann", date(1990, 3, 1), {TODAY})


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"message": "Hello, Ann! Your birthday is in 2 day(s)"}, "wrong number of days"),
        ({"message": "Hello, ann! Your birthday is in 1 day(s)"}, "does not echo"),
        ({"message": "Hello, Ann! Your birthday is in 1 day(s)."}, "shape"),
        ({"message": "Hello Ann! Your birthday is in 1 day(s)"}, "shape"),
        ({"message": "Hello, Ann! Your birthday is in 0 day(s)"}, "shape"),
        ({"message": "Hello, Ann! Your birthday is in 1 days"}, "shape"),
        ({"message": "Hello, Ann! Your birthday is in 1 day(s)", "extra": 1}, "exactly"),
        ({"msg": "Hello, Ann! Your birthday is in 1 day(s)"}, "exactly"),
        ({"message": 1}, "exactly"),
        (["Hello, Ann! Your birthday is in 1 day(s)"], "exactly"),
    ],
)
def test_check_greeting_rejects_a_wrong_answer(body: object, reason: str) -> None:
    with pytest.raises(WrongAnswerError, match=reason):
        check_greeting(body, "Ann", date(1990, 3, 2), {TODAY})


def test_a_birthday_today_must_be_happy_birthday() -> None:
    with pytest.raises(WrongAnswerError, match="wrong number of days"):
        check_greeting({"message": "Hello, Ann! Your birthday is in 365 day(s)"}, "Ann", date(1990, 3, 1), {TODAY})


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("Application/JSON", True),
        ("text/plain", False),
        ("application/problem+json", False),
        (None, False),
    ],
)
def test_is_json(content_type: str | None, expected: bool) -> None:
    assert is_json(content_type) is expected


def test_people_are_repeatable_from_the_seed() -> None:
    def draw(seed: str) -> list[tuple[str, date]]:
        people = People(seeded(seed))
        return [(people.name(), people.date_of_birth(TODAY)) for _ in range(50)]

    assert draw("7:0") == draw("7:0")
    assert draw("7:0") != draw("7:1")


def test_names_follow_the_username_rule_and_never_repeat_in_any_case() -> None:
    taken: set[str] = set()
    names = [name for user in range(20) for name in _names(People(seeded(user), taken), 500)]
    assert all(re.fullmatch(r"[A-Za-z]{1,64}", name) for name in names)
    assert len({name.lower() for name in names}) == len(names) == 10_000


def _names(people: People, count: int) -> list[str]:
    return [people.name() for _ in range(count)]


@pytest.mark.parametrize("today", [date(2024, 3, 1), date(2025, 1, 1), date(2024, 2, 29), date(2026, 12, 31)])
def test_dates_of_birth_cover_the_year_and_29_february_strictly_before_today(today: date) -> None:
    people = People(seeded(1))
    births = [people.date_of_birth(today) for _ in range(5000)]
    assert all(born < today for born in births)
    assert Counter(born.month for born in births).keys() == set(range(1, 13))
    assert any((born.month, born.day) == (2, 29) for born in births)
    assert any((born.month, born.day) == (today.month, today.day) for born in births)  # "Happy birthday!" too


def test_spelling_sometimes_changes_case_only() -> None:
    people = People(seeded(3))
    spellings = [people.spelling("Annabel") for _ in range(200)]
    assert {spelling.lower() for spelling in spellings} == {"annabel"}
    assert set(spellings) == {"Annabel", "aNNABEL"}


def test_schedule_keeps_its_times_and_catches_up_when_late() -> None:
    schedule = Schedule(first=10.0, interval=2.0)
    assert schedule.wait(now=9.5) == 0.5  # first request at 10
    assert schedule.wait(now=10.1) == pytest.approx(1.9)  # next at 12
    assert schedule.wait(now=15.0) == 0.0  # the one at 14 is late: now
    assert schedule.wait(now=15.0) == 1.0  # and the one at 16 keeps its time


def test_staggered_users_spread_their_requests_evenly() -> None:
    users, user_rate = 10, 0.5  # 5 requests a second together
    firsts = [staggered(100.0, number, users, user_rate).next for number in range(users)]
    assert firsts == pytest.approx([100.0 + number * 0.2 for number in range(users)])
    assert staggered(100.0, 0, users, user_rate).interval == 2.0


def test_a_pool_gives_each_name_to_one_people_until_none_is_left() -> None:
    pool = ["Alice", "Bob", "carol"]
    taken: set[str] = set()
    first, second = People(seeded(1), taken, pool), People(seeded(2), taken, pool)
    drawn = [first.name(), second.name(), first.name()]
    assert sorted(drawn) == ["Alice", "Bob", "carol"]
    with pytest.raises(NoOneLeftError):
        second.name()


def test_a_token_file_is_usernames_to_tokens(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text('{"Alice": "a.b.c", "bob": "d.e.f"}', encoding="utf-8")
    assert read_tokens(str(path)) == {"Alice": "a.b.c", "bob": "d.e.f"}


@pytest.mark.parametrize("content", ["[]", "{}", '{"al ice": "t"}', '{"alice": 1}', '{"alice": ""}', "{"])
def test_anything_else_is_not_a_token_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=r"tokens\.json"):
        read_tokens(str(path))


def test_workers_generate_disjoint_names_and_alone_the_same_as_before() -> None:
    """Two workers with the same seeds never register the same person (in any case); one worker is unchanged."""
    shares = [Share(0, 2), Share(1, 2)]
    names = [{name.lower() for name in _names(People(seeded(7), set(), share=share), 300)} for share in shares]
    assert not names[0] & names[1]
    assert _names(People(seeded(7), share=Share()), 50) == _names(People(seeded(7)), 50)


def test_workers_split_a_token_file_evenly_without_overlap() -> None:
    tokens = [f"User{chr(ord('a') + n)}" for n in range(7)]
    parts = [Share(index, 3).pool(tokens) for index in range(3)]
    assert sorted(name for part in parts for name in part) == sorted(tokens)
    assert [len(part) for part in parts] == [3, 2, 2]
    assert Share().pool(tokens) == sorted(tokens)


def test_workers_number_their_users_apart() -> None:
    """Seeds and first requests come from the run-wide slot: worker i of n takes i, i+n, i+2n, ..."""
    slots = [Share(index, 3).slot(number) for index in range(3) for number in range(4)]
    assert sorted(slots) == list(range(12))
    assert [Share().slot(number) for number in range(4)] == [0, 1, 2, 3]


def test_the_token_digest_tells_files_apart() -> None:
    assert tokens_digest({}) == ""
    assert tokens_digest({"alice": "a", "bob": "b"}) == tokens_digest({"bob": "b", "alice": "a"})
    assert tokens_digest({"alice": "a"}) != tokens_digest({"alice": "b"})


def test_workers_that_got_their_spawn_message_apart_start_in_phase() -> None:
    """Two workers, 31 ms apart on the wall clock (and with unrelated monotonic clocks), each
    sending 2.5/s (a period of 0.4 s): both start on the wall clock's next tick of 0.4 s."""
    period = 0.4
    first = aligned_start(monotonic_now=50.0, wall_now=1000.013, period=period)
    second = aligned_start(monotonic_now=7.0, wall_now=1000.044, period=period)
    assert first - 50.0 + 1000.013 == pytest.approx(1000.4)
    assert second - 7.0 + 1000.044 == pytest.approx(1000.4)


def test_a_worker_one_tick_late_is_one_whole_period_behind() -> None:
    period = 0.4
    early = aligned_start(0.0, 1000.39, period) + 1000.39
    late = aligned_start(0.0, 1000.41, period) + 1000.41
    assert late - early == pytest.approx(period)
