"""What the API refuses, over HTTP: every class of bad input, other methods, other paths, media types, size.

Nothing here stores a record, even against a broken API: every PUT names
conftest.REFUSED_USER (with the authorizer on, the token file's user, with
its token, so the function runs) and, wherever the case allows, carries a
date that is no calendar date, so losing one check still refuses it. Each
400 must name what is wrong (docs/api.md: the first failing check answers).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import (
    IMPOSSIBLE_DATE,
    UNKNOWN_USER,
    Answer,
    Api,
    Target,
    Writer,
    expect,
    expect_json_error,
    today_in,
)

ALLOW = "GET, PUT"


def put_refused(
    api: Api, writer: Writer, body: object, *, path: str = "", content_type: str | None = "application/json"
):
    user = writer.refused_user()
    return api.send("PUT", path or f"/hello/{user}", body, content_type=content_type, headers=writer.headers(user))


def get(api: Api, writer: Writer, path: str) -> Answer:
    """A GET, with a token when the authorizer guards GET: an unknown user's own, as the API then needs."""
    return api.send("GET", path, headers=writer.read_headers(writer.unknown_user()))


def test_an_unknown_user_is_404(api: Api, writer: Writer) -> None:
    user = writer.unknown_user()
    expect_json_error(get(api, writer, f"/hello/{user}"), 404, f"GET of {user}, never stored")


INVALID_USERNAMES = {
    "digit": "bob1",
    "space": "bob%20smith",
    "hyphen": "bob-smith",
    "apostrophe": "o%27brien",
    "underscore": "bob_smith",
    "dot": "bob.smith",
    "accented": "b%C3%A9b",
    "cyrillic a": "%D0%B0lice",
    "ligature": "%EF%AC%81",
    "trailing newline": "bob%0A",
    "control character": "bo%00b",
    "65 letters": "a" * 65,
}


@pytest.mark.parametrize("name", INVALID_USERNAMES.values(), ids=INVALID_USERNAMES.keys())
def test_a_username_that_is_not_1_to_64_ascii_letters_is_400_on_get_and_put(
    api: Api, writer: Writer, name: str
) -> None:
    expect_json_error(get(api, writer, f"/hello/{name}"), 400, f"GET /hello/{name}", names="username")
    answer = put_refused(api, writer, {"dateOfBirth": IMPOSSIBLE_DATE}, path=f"/hello/{name}")
    expect_json_error(answer, 400, f"PUT /hello/{name}", names="username")


def spec_refused_dates() -> dict[str, object]:
    """SPEC.md's refused dates of birth, and days that are not before today (in UTC, the refused user's zone)."""
    kiritimati_today = today_in("Pacific/Kiritimati", datetime.now(UTC))  # today or tomorrow in UTC, never before
    return {
        "unpadded": "2020-2-3",
        "space in the day": "2020-02- 3",
        "no dashes": "20200203",
        "ISO week": "2020-W06-1",
        "a date and time": "2020-02-03T00:00:00",
        "padded": " 2020-02-03 ",
        "slashes": "2020/02/03",
        "30 February": "2020-02-30",
        "29 February of a common year": "2001-02-29",
        "other digits": "\u0662\u0660\u0662\u0660-\u0660\u0662-\u0660\u0663",
        "a number": 20200203,
        "null": None,
        "a list": ["2020-02-03"],
        "today": kiritimati_today.isoformat(),
        "tomorrow": (kiritimati_today + timedelta(days=1)).isoformat(),
    }


@pytest.mark.parametrize("case", list(spec_refused_dates()))
def test_a_date_of_birth_the_spec_refuses_is_400(api: Api, writer: Writer, case: str) -> None:
    value = spec_refused_dates()[case]
    answer = put_refused(api, writer, {"dateOfBirth": value})
    expect_json_error(answer, 400, f"PUT with dateOfBirth {value!r} ({case})", names="dateOfBirth")


REFUSED_ZONES = {
    "unknown": "Mars/Olympus",
    "wrong case": "europe/madrid",
    "a path": "../etc/passwd",
    "an absolute path": "/usr/share/zoneinfo/UTC",
    "a trailing space": "Europe/Madrid ",
    "a trailing newline": "UTC\n",
    "empty": "",
    "an offset": "+02:00",
    "null": None,
    "a number": 3,
    "a list": ["UTC"],
}


@pytest.mark.parametrize("case", list(REFUSED_ZONES))
def test_a_time_zone_the_spec_refuses_is_400(api: Api, writer: Writer, case: str) -> None:
    """The zone is checked before the date ("before today" needs it), so the message is about the zone."""
    answer = put_refused(api, writer, {"dateOfBirth": IMPOSSIBLE_DATE, "timeZone": REFUSED_ZONES[case]})
    expect_json_error(answer, 400, f"PUT with timeZone {REFUSED_ZONES[case]!r} ({case})", names="timeZone")


BAD_BODIES = {
    "empty": "",
    "not JSON": "dateOfBirth=2001-02-29",
    "truncated JSON": '{"dateOfBirth": "2001-02-29"',
    "a JSON string": '"2001-02-29"',
    "a JSON list": '["2001-02-29"]',
    "JSON null": "null",
    "NaN": '{"dateOfBirth": "2001-02-29", "n": NaN}',
    "Infinity": '{"dateOfBirth": "2001-02-29", "n": Infinity}',
    "-Infinity": '{"dateOfBirth": "2001-02-29", "n": -Infinity}',
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_a_body_that_is_not_a_json_object_is_400(api: Api, writer: Writer, case: str) -> None:
    """NaN and Infinity are not JSON (RFC 8259), whatever a parser lets through."""
    answer = put_refused(api, writer, BAD_BODIES[case])
    expect_json_error(answer, 400, f"PUT with a body that is {case}: {BAD_BODIES[case]!r}", names="JSON")


@pytest.mark.parametrize("key", [None, "dateofbirth", "DateOfBirth", "date_of_birth"])
def test_a_missing_or_misspelt_key_is_400(api: Api, writer: Writer, target: Target, key: str | None) -> None:
    """Keys are case-sensitive. The misspelt key holds a real date (in READ_ONLY, none: nothing may be stored)."""
    body = {key: IMPOSSIBLE_DATE if target.read_only else "2001-02-28"} if key else {}
    expect_json_error(put_refused(api, writer, body), 400, f"PUT with {body}", names="dateOfBirth")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_a_content_type_that_is_not_json_is_415(api: Api, writer: Writer, content_type: str) -> None:
    answer = put_refused(api, writer, f'{{"dateOfBirth": "{IMPOSSIBLE_DATE}"}}', content_type=content_type)
    expect_json_error(answer, 415, f"PUT with Content-Type {content_type}")


def test_a_body_over_4_kib_is_413(api: Api, writer: Writer) -> None:
    body = {"dateOfBirth": IMPOSSIBLE_DATE, "padding": "x" * 4100}
    expect_json_error(put_refused(api, writer, body), 413, "PUT with a 4.1 KiB body")


@pytest.mark.parametrize("method", ["POST", "DELETE", "PATCH"])
def test_another_method_is_405_with_allow(api: Api, writer: Writer, method: str) -> None:
    answer = api.send(method, f"/hello/{UNKNOWN_USER}", {"dateOfBirth": IMPOSSIBLE_DATE})
    expect_json_error(answer, 405, f"{method} /hello/{UNKNOWN_USER}")
    assert answer.headers.get("allow") == ALLOW, f"{method}: Allow should be {ALLOW}: {answer.describe()}"


def test_head_is_405_with_allow(api: Api) -> None:
    answer = api.send("HEAD", f"/hello/{UNKNOWN_USER}")
    expect(answer, 405, f"HEAD /hello/{UNKNOWN_USER}")
    assert answer.headers.get("allow") == ALLOW, f"HEAD: Allow should be {ALLOW}: {answer.describe()}"


def test_options_is_405_with_allow_while_cors_is_off(api: Api, target: Target) -> None:
    if target.cors_origins:
        pytest.skip("CORS is on: API Gateway answers OPTIONS itself (test_cors.py)")
    answer = api.send("OPTIONS", f"/hello/{UNKNOWN_USER}")
    expect_json_error(answer, 405, f"OPTIONS /hello/{UNKNOWN_USER} without CORS")
    assert answer.headers.get("allow") == ALLOW, f"OPTIONS: Allow should be {ALLOW}: {answer.describe()}"


UNROUTED = ["/", "/hello", "/hello/", "/hello/a/b", "/greet/bob"]


@pytest.mark.deviates("sam-local", "SAM answers 403 Missing Authentication Token where no route matches")
@pytest.mark.parametrize("path", UNROUTED)
def test_a_path_no_route_takes_is_404_without_a_redirect(api: Api, path: str) -> None:
    answer = api.send("GET", path)
    expect_json_error(answer, 404, f"GET {path}", from_function=False)
    assert "location" not in answer.headers, f"GET {path} must not redirect: {answer.describe()}"


def test_a_trailing_slash_is_404_without_a_redirect(api: Api, writer: Writer) -> None:
    user = writer.unknown_user()
    answer = get(api, writer, f"/hello/{user}/")
    expect_json_error(answer, 404, f"GET /hello/{user}/", from_function=False)
    assert "location" not in answer.headers, f"a trailing slash must not redirect: {answer.describe()}"


@pytest.mark.deviates("sam-local", "SAM gives every request the same requestContext.requestId")
def test_each_request_has_its_own_request_id(api: Api, writer: Writer) -> None:
    first, second = (get(api, writer, f"/hello/{writer.unknown_user()}") for _ in range(2))
    expect_json_error(first, 404, "first GET of an unknown user")
    expect_json_error(second, 404, "second GET of an unknown user")
    assert first.json()["requestId"] != second.json()["requestId"], f"{first.describe()} / {second.describe()}"


@pytest.mark.deviates("sam-local", "SAM sends no apigw-requestid header")
def test_every_answer_carries_api_gateways_request_id_header(api: Api, writer: Writer) -> None:
    for answer in (get(api, writer, f"/hello/{writer.unknown_user()}"), api.send("GET", "/greet/bob")):
        assert answer.headers.get("apigw-requestid"), f"no apigw-requestid header: {answer.describe()}"
