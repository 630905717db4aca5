"""The rules of SPEC.md, table by table, and days-until against a day-stepping oracle."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greeter.domain import (
    SMOKE_TEST_KEY_PREFIX,
    InvalidDateOfBirthError,
    InvalidSmokeTestRunError,
    InvalidUsernameError,
    NotThatUserError,
    birthday_in,
    check_token_user,
    days_until_birthday,
    greeting,
    parse_date_of_birth,
    record_key,
    user_key,
    validate_username,
)
from loadtest.oracle import days_until_by_stepping

TODAY = date(2024, 6, 15)


@pytest.mark.parametrize("username", ["a", "Alice", "ALICE", "z" * 64, "AbCdEf"])
def test_valid_usernames_are_kept_as_spelled(username: str) -> None:
    assert validate_username(username) == username


@pytest.mark.parametrize(
    "username",
    [
        "",
        "a" * 65,
        "bob1",
        "b0b",
        "bob smith",
        "bob-smith",
        "o'brien",
        "bob_smith",
        "bob.smith",
        "bob\n",  # `re.match` with `$` would accept this
        "\nbob",
        "bob\x00",
        "bob\t",
        "josé",
        "Ğ",
        "\u0430lice",  # a Cyrillic a
        "\ufb01sh",  # the ligature ﬁ
        "\u00aa",  # ª, a letter to str.isalpha()
        "Ⅻ",
        "bob/",
        "%41lice",
    ],
)
def test_invalid_usernames_are_refused(username: str) -> None:
    with pytest.raises(InvalidUsernameError):
        validate_username(username)


def test_identity_is_case_insensitive() -> None:
    assert user_key("Alice") == user_key("alice") == user_key("ALICE") == "alice"


RUN = "arn:aws:states:eu-west-1:123456789012:express:greeter-smoke-test:d-ABC-1:0f3c2b1a"


def test_a_person_is_kept_under_their_user_key_and_a_smoke_test_run_under_its_own() -> None:
    assert record_key("GreeterSmokeTest") == user_key("GreeterSmokeTest")
    assert record_key("GreeterSmokeTest", RUN) == SMOKE_TEST_KEY_PREFIX + RUN
    assert record_key("GreeterSmokeTest", RUN) != record_key("GreeterSmokeTest", RUN + "2")


@given(st.from_regex(r"[A-Za-z]{1,64}", fullmatch=True), st.from_regex(r"[!-~]{1,512}", fullmatch=True))
def test_no_username_reaches_a_smoke_test_runs_key(username: str, run: str) -> None:
    """User keys are letters only; a run's key starts with `smoke-test#`."""
    assert record_key(username) != record_key(username, run)
    assert not record_key(username).startswith(SMOKE_TEST_KEY_PREFIX)


@pytest.mark.parametrize("run", ["", "with space", "x" * 513, 42, "caf\u00e9"])
def test_a_malformed_run_is_refused(run: object) -> None:
    with pytest.raises(InvalidSmokeTestRunError):
        record_key("GreeterSmokeTest", run)


def test_a_run_does_not_excuse_a_bad_username() -> None:
    with pytest.raises(InvalidUsernameError):
        record_key("smoke-test#x", RUN)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2020-02-03", date(2020, 2, 3)), ("2000-02-29", date(2000, 2, 29)), ("1900-01-01", date(1900, 1, 1))],
)
def test_valid_dates_of_birth(value: str, expected: date) -> None:
    assert parse_date_of_birth(value, TODAY) == expected


@pytest.mark.parametrize(
    "value",
    [
        "2020-2-3",
        "2020-02- 3",
        "20200203",
        "2020-W06-1",
        "2020-02-03T00:00:00",
        " 2020-02-03 ",
        "2020-02-03\n",
        "2020/02/03",
        "2020-02-30",
        "2001-02-29",
        "2020-13-01",
        "2020-00-10",
        "0000-01-01",
        "\uff12\uff10\uff12\uff10-\uff10\uff12-\uff10\uff13",  # fullwidth digits: int() would take them
        "\u0662\u0660\u0662\u0660-\u0660\u0662-\u0660\u0663",  # Arabic-Indic digits
        "",
        20200203,
        2020.5,
        None,
        True,
        ["2020-02-03"],
        {"date": "2020-02-03"},
    ],
)
def test_malformed_dates_of_birth_are_refused(value: object) -> None:
    with pytest.raises(InvalidDateOfBirthError):
        parse_date_of_birth(value, TODAY)


@pytest.mark.parametrize("value", ["2024-06-15", "2024-06-16", "2999-01-01"])
def test_today_and_later_are_refused(value: str) -> None:
    with pytest.raises(InvalidDateOfBirthError):
        parse_date_of_birth(value, TODAY)


def test_yesterday_is_accepted() -> None:
    assert parse_date_of_birth("2024-06-14", TODAY) == date(2024, 6, 14)


@pytest.mark.parametrize(
    ("born", "today", "expected"),
    [
        (date(1990, 12, 31), date(2024, 1, 1), 365),  # SPEC: the span holds no 29 February
        (date(1990, 5, 10), date(2023, 5, 11), 365),  # SPEC: the span holds 2024-02-29
        (date(1990, 5, 10), date(2024, 5, 10), 0),
        (date(1990, 5, 10), date(2024, 5, 9), 1),
        (date(2000, 2, 29), date(2024, 2, 29), 0),  # leap year: on the day
        (date(2000, 2, 29), date(2023, 3, 1), 0),  # common year: 1 March
        (date(2000, 2, 29), date(2023, 2, 28), 1),
        (date(2000, 2, 29), date(2024, 2, 28), 1),
        (date(2000, 2, 29), date(2024, 3, 1), 365),  # next is 2025-03-01
        (date(2000, 2, 29), date(2023, 3, 2), 364),  # next is 2024-02-29
        (date(1999, 1, 1), date(2023, 12, 31), 1),
    ],
)
def test_days_until_birthday_examples(born: date, today: date, expected: int) -> None:
    assert days_until_birthday(born, today) == expected


def _every_day(year: int) -> list[date]:
    start = date(year, 1, 1)
    return [start + timedelta(days=offset) for offset in range((date(year + 1, 1, 1) - start).days)]


BIRTHDAYS = [
    date(2000, 1, 1),
    date(2000, 2, 28),
    date(2000, 2, 29),
    date(2001, 3, 1),
    date(1990, 5, 10),
    date(1985, 6, 30),
    date(1970, 12, 30),
    date(1990, 12, 31),
]


@pytest.mark.parametrize("year", [2023, 2024, 2100], ids=["common", "leap", "century-common"])
def test_days_until_matches_the_oracle_every_day_of_the_year(year: int) -> None:
    mismatches = [
        (born, today)
        for today in _every_day(year)
        for born in BIRTHDAYS
        if days_until_birthday(born, today) != days_until_by_stepping(born, today)
    ]
    assert mismatches == []


@pytest.mark.parametrize("year", [2023, 2024])
def test_every_birthday_of_the_year_against_the_oracle_from_new_year(year: int) -> None:
    """Every month and day as a birthday, asked from 1 January and 31 December."""
    for born in _every_day(2000):  # 2000 holds 29 February
        for today in (date(year, 1, 1), date(year, 12, 31)):
            assert days_until_birthday(born, today) == days_until_by_stepping(born, today), (born, today)


@given(
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
    today=st.dates(min_value=date(1901, 1, 1), max_value=date(2100, 12, 30)),
)
def test_days_until_agrees_with_the_oracle(born: date, today: date) -> None:
    assert days_until_birthday(born, today) == days_until_by_stepping(born, today)


@given(born=st.dates(max_value=date(2099, 12, 31)), today=st.dates(max_value=date(9998, 12, 31)))
def test_days_until_is_within_a_year_and_lands_on_the_birthday(born: date, today: date) -> None:
    days = days_until_birthday(born, today)
    assert 0 <= days <= 365
    target = today + timedelta(days=days)
    assert target == birthday_in(target.year, born)


@given(
    value=st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
    | st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True)
)
def test_parse_accepts_exactly_real_iso_dates_before_today(value: str) -> None:
    try:
        expected: date | None = date.fromisoformat(value) if len(value) == 10 and value.isascii() else None
    except ValueError:
        expected = None
    shape_ok = len(value) == 10 and value[4] == "-" and value[7] == "-" and value.replace("-", "").isdigit()
    if expected is None or not shape_ok or expected >= TODAY:
        with pytest.raises(InvalidDateOfBirthError):
            parse_date_of_birth(value, TODAY)
    else:
        assert parse_date_of_birth(value, TODAY) == expected


@given(st.text(max_size=70))
def test_username_rule_is_ascii_letters_only(value: str) -> None:
    allowed = 1 <= len(value) <= 64 and all(c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" for c in value)
    if allowed:
        assert validate_username(value) == value
    else:
        with pytest.raises(InvalidUsernameError):
            validate_username(value)


def test_greeting_texts_are_exact() -> None:
    assert greeting("Alice", 0) == "Hello, Alice! Happy birthday!"
    assert greeting("Alice", 1) == "Hello, Alice! Your birthday is in 1 day(s)"
    assert greeting("bob", 365) == "Hello, bob! Your birthday is in 365 day(s)"


@pytest.mark.parametrize(("username", "claimed"), [("alice", "alice"), ("Alice", "aLiCe"), ("BOB", "bob")])
def test_a_token_acts_for_the_user_it_names_case_insensitively(username: str, claimed: str) -> None:
    check_token_user(username, claimed)


@pytest.mark.parametrize("claimed", ["bob", None, "", "alice\n", "alice ", 7, ["alice"], "al-ice", "\uff41lice"])
def test_a_token_naming_someone_else_or_no_one_is_refused(claimed: object) -> None:
    with pytest.raises(NotThatUserError):
        check_token_user("alice", claimed)
