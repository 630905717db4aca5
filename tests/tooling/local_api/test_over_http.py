"""The contract over real HTTP, against the local API the session starts (as `make run` does)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import requests

from loadtest.oracle import days_until_by_stepping
from tests.support.local_api import LocalApiProcess

pytestmark = pytest.mark.integration
TIMEOUT = 10


def utc_today() -> date:
    return datetime.now(UTC).date()


def put(
    api: LocalApiProcess, path: str, body: object, content_type: str | None = "application/json"
) -> requests.Response:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    headers = {"Content-Type": content_type} if content_type else {}
    return requests.put(f"{api.url}{path}", data=data, headers=headers, timeout=TIMEOUT, allow_redirects=False)


def get(api: LocalApiProcess, path: str) -> requests.Response:
    return requests.get(f"{api.url}{path}", timeout=TIMEOUT, allow_redirects=False)


def assert_json_error(response: requests.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert isinstance(response.json()["message"], str)


def test_put_then_get_round_trip(local_api: LocalApiProcess) -> None:
    born = date(1990, 5, 10)
    response = put(local_api, "/hello/Roundtrip", {"dateOfBirth": born.isoformat()})
    assert response.status_code == 204
    assert response.content == b""
    greeting = get(local_api, "/hello/roundtrip")
    assert greeting.status_code == 200
    assert greeting.headers["content-type"] == "application/json"
    days = days_until_by_stepping(born, utc_today())
    expected = (
        "Hello, roundtrip! Happy birthday!" if days == 0 else f"Hello, roundtrip! Your birthday is in {days} day(s)"
    )
    assert greeting.json() == {"message": expected}


def test_birthday_today_is_happy_birthday(local_api: LocalApiProcess) -> None:
    today = utc_today()
    born = today.replace(year=today.year - 30) if (today.month, today.day) != (2, 29) else date(2000, 2, 29)
    put(local_api, "/hello/Today", {"dateOfBirth": born.isoformat()})
    assert get(local_api, "/hello/TODAY").json() == {"message": "Hello, TODAY! Happy birthday!"}


def test_born_on_29_february(local_api: LocalApiProcess) -> None:
    born = date(2000, 2, 29)
    assert put(local_api, "/hello/Leapling", {"dateOfBirth": born.isoformat()}).status_code == 204
    days = days_until_by_stepping(born, utc_today())
    message = get(local_api, "/hello/leapling").json()["message"]
    assert message == (
        "Hello, leapling! Happy birthday!" if days == 0 else f"Hello, leapling! Your birthday is in {days} day(s)"
    )


def test_tomorrow_and_today_are_refused(local_api: LocalApiProcess) -> None:
    for day in (utc_today(), utc_today() + timedelta(days=1)):
        assert_json_error(put(local_api, "/hello/Future", {"dateOfBirth": day.isoformat()}), 400)
    assert_json_error(get(local_api, "/hello/Future"), 404)


@pytest.mark.parametrize(
    "body",
    [
        {"dateOfBirth": "2001-02-29"},
        {"dateOfBirth": "20200203"},
        {"dateOfBirth": "2020-W06-1"},
        {"dateofbirth": "2020-02-03"},
        {"dateOfBirth": None},
        ["2020-02-03"],
        "{not json",
        "",
    ],
)
def test_bad_bodies_are_400(local_api: LocalApiProcess, body: object) -> None:
    assert_json_error(put(local_api, "/hello/Badbody", body), 400)
    assert_json_error(get(local_api, "/hello/Badbody"), 404)  # nothing was stored


@pytest.mark.parametrize(
    "path", ["/hello/bob1", "/hello/b%C3%A9b", "/hello/bob%0A", "/hello/bob%20smith", "/hello/" + "a" * 65]
)
def test_invalid_usernames_are_400_on_put_and_get(local_api: LocalApiProcess, path: str) -> None:
    assert_json_error(put(local_api, path, {"dateOfBirth": "2000-01-01"}), 400)
    assert_json_error(get(local_api, path), 400)


def test_unknown_user_is_404(local_api: LocalApiProcess) -> None:
    assert_json_error(get(local_api, "/hello/Nobodyhere"), 404)


@pytest.mark.parametrize("method", ["POST", "DELETE", "PATCH"])
def test_other_methods_are_405(local_api: LocalApiProcess, method: str) -> None:
    response = requests.request(method, f"{local_api.url}/hello/alice", timeout=TIMEOUT)
    assert_json_error(response, 405)
    assert response.headers["allow"] == "GET, PUT"


@pytest.mark.parametrize("path", ["/hello/", "/hello/bob/", "/hello", "/", "/hello/bob/extra", "/greet/bob"])
def test_other_paths_are_404_without_redirect(local_api: LocalApiProcess, path: str) -> None:
    assert_json_error(get(local_api, path), 404)


def test_large_body_is_413(local_api: LocalApiProcess) -> None:
    assert_json_error(put(local_api, "/hello/Big", {"dateOfBirth": "2000-01-01", "pad": "x" * 5000}), 413)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_non_json_content_type_is_415(local_api: LocalApiProcess, content_type: str) -> None:
    assert_json_error(put(local_api, "/hello/Plain", '{"dateOfBirth": "2000-01-01"}', content_type), 415)


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/problem+json", None])
def test_json_content_types_and_none_are_accepted(local_api: LocalApiProcess, content_type: str | None) -> None:
    assert put(local_api, "/hello/Typed", '{"dateOfBirth": "2000-01-01"}', content_type).status_code == 204


def test_binary_body_reaches_the_handler_base64_encoded(local_api: LocalApiProcess) -> None:
    response = put(local_api, "/hello/Binary", b"\xff\xfe{", "application/octet-stream")
    assert_json_error(response, 415)
    response = put(local_api, "/hello/Binary", b'{"dateOfBirth": "1999-09-09"}', None)
    assert response.status_code == 204


def test_user_input_in_errors_is_json_escaped(local_api: LocalApiProcess) -> None:
    response = put(local_api, "/hello/Quote", '{"dateOfBirth": "\\"}\\u0000"}')
    assert_json_error(response, 400)
