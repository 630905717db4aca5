"""SPEC.md through the real `sam local start-api`, compared with `make run` wherever API Gateway's answer is the same.

Every request goes to both: `sam local` (functions in containers, the
DynamoDB container) and the local API of `make run`. Where SAM's emulation
differs from API Gateway and the project cannot change it, a test below says
so by name; docs/local-development.md lists the same differences.
"""

from __future__ import annotations

import json
import signal
from datetime import UTC, date, datetime
from typing import Any

import pytest
import requests

from greeter.domain import today_in
from loadtest.oracle import days_until_by_stepping
from tests.support.local_api import LocalApiProcess
from tests.support.sam_local import SamLocalProcess

# A bound for a hung request only; the first one to each function is a cold start.
TIMEOUT = 120
ALLOWED = "GET, PUT"


def utc_today() -> date:
    return datetime.now(UTC).date()


def send(url: str, method: str, path: str, body: object = None, content_type: str | None = None) -> requests.Response:
    data = body if body is None or isinstance(body, str | bytes) else json.dumps(body)
    headers = {"Content-Type": content_type} if content_type else {}
    return requests.request(method, url + path, data=data, headers=headers, timeout=TIMEOUT, allow_redirects=False)


def greeting(name: str, born: date, today: date) -> str:
    days = days_until_by_stepping(born, today)
    return f"Hello, {name}! Happy birthday!" if days == 0 else f"Hello, {name}! Your birthday is in {days} day(s)"


def assert_greeted(url: str, path: str, name: str, born: date, zone: str = "UTC") -> None:
    """The greeting for "today" (in `zone`) as it was when the request left or came back (a midnight in between)."""
    before = today_in(zone, datetime.now(UTC))
    response = send(url, "GET", path)
    after = today_in(zone, datetime.now(UTC))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["message"] in {greeting(name, born, before), greeting(name, born, after)}


def answer(response: requests.Response) -> dict[str, Any]:
    """What a client can rely on: status, media type, Allow and the message (request ids differ by design)."""
    body = response.json() if response.content else None
    return {
        "status": response.status_code,
        "content-type": response.headers.get("content-type"),
        "allow": response.headers.get("allow"),
        "message": body.get("message") if isinstance(body, dict) else body,
    }


def test_put_stores_and_get_greets_case_insensitively(sam_local: SamLocalProcess) -> None:
    born = date(1990, 5, 10)
    stored = send(sam_local.url, "PUT", "/hello/Alice", {"dateOfBirth": born.isoformat()}, "application/json")
    assert stored.status_code == 204, stored.text
    assert stored.content == b""
    assert_greeted(sam_local.url, "/hello/alice", "alice", born)
    assert_greeted(sam_local.url, "/hello/ALICE", "ALICE", born)  # the spelling of the GET is echoed


def test_a_zoned_user_is_greeted_by_the_date_in_their_zone(sam_local: SamLocalProcess) -> None:
    """Through the built function (its own tzdata), in the zone furthest ahead of UTC."""
    born = date(1990, 5, 10)
    body = {"dateOfBirth": born.isoformat(), "timeZone": "Pacific/Kiritimati"}
    stored = send(sam_local.url, "PUT", "/hello/Kiri", body, "application/json")
    assert stored.status_code == 204, stored.text
    assert_greeted(sam_local.url, "/hello/kiri", "kiri", born, "Pacific/Kiritimati")
    refused = send(sam_local.url, "PUT", "/hello/Kiri", {**body, "timeZone": "pacific/kiritimati"}, "application/json")
    assert refused.status_code == 400
    assert refused.json()["message"] == "timeZone must be an IANA time zone name, such as Europe/Madrid or UTC"


def test_a_put_replaces_the_date_and_accepts_json_media_types(sam_local: SamLocalProcess) -> None:
    today = utc_today()
    born = date(1992, 2, 29) if (today.month, today.day) == (2, 29) else today.replace(year=1992)
    first = send(sam_local.url, "PUT", "/hello/Carol", {"dateOfBirth": "1980-01-02"}, "application/json")
    assert first.status_code == 204, first.text
    again = send(
        sam_local.url, "PUT", "/hello/carol", {"dateOfBirth": born.isoformat()}, "application/json; charset=utf-8"
    )
    assert again.status_code == 204, again.text
    assert_greeted(sam_local.url, "/hello/Carol", "Carol", born)  # Happy birthday, unless midnight passed
    untyped = send(sam_local.url, "PUT", "/hello/Dave", {"dateOfBirth": "1985-12-31"})  # no Content-Type at all
    assert untyped.status_code == 204, untyped.text


ERROR_CASES = {
    "POST is 405": ("POST", "/hello/Alice", None, None),
    "DELETE is 405": ("DELETE", "/hello/Alice", None, None),
    "PATCH is 405": ("PATCH", "/hello/Alice", {"dateOfBirth": "1990-05-10"}, "application/json"),
    "HEAD is 405": ("HEAD", "/hello/Alice", None, None),
    "OPTIONS is 405": ("OPTIONS", "/hello/Alice", None, None),
    "a digit in the name is 400": ("PUT", "/hello/Al1ce", {"dateOfBirth": "1990-05-10"}, "application/json"),
    "a bad name on GET is 400": ("GET", "/hello/b0b", None, None),
    "an encoded newline in the name is 400": ("GET", "/hello/bob%0A", None, None),
    "not a calendar date is 400": ("PUT", "/hello/Alice", {"dateOfBirth": "2001-02-29"}, "application/json"),
    "not ISO digits is 400": ("PUT", "/hello/Alice", {"dateOfBirth": "2020-2-3"}, "application/json"),
    "a future date is 400": ("PUT", "/hello/Alice", {"dateOfBirth": "2999-01-01"}, "application/json"),
    "malformed JSON is 400": ("PUT", "/hello/Alice", "{", "application/json"),
    "a missing key is 400": ("PUT", "/hello/Alice", {"dateofbirth": "1990-05-10"}, "application/json"),
    "text/plain is 415": ("PUT", "/hello/Alice", '{"dateOfBirth": "1990-05-10"}', "text/plain"),
    "a form is 415": ("PUT", "/hello/Alice", "dateOfBirth=1990-05-10", "application/x-www-form-urlencoded"),
    "a body over 4 KiB is 413": ("PUT", "/hello/Alice", {"dateOfBirth": "1990-05-10", "pad": "x" * 5000}, None),
    "an unknown user is 404": ("GET", "/hello/Nobody", None, None),
    # SAM hands /hello/bob/ to the GET function (its route takes the slash), whose resolver answers 404.
    "a trailing slash is 404": ("GET", "/hello/bob/", None, None),
}
EXPECTED_STATUS = {name: int(name.rsplit(" ", 1)[1]) for name in ERROR_CASES}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_bad_requests_get_the_spec_status_and_the_same_json_error_as_make_run(
    case: str, sam_local: SamLocalProcess, local_api: LocalApiProcess
) -> None:
    method, path, body, content_type = ERROR_CASES[case]
    through_sam = send(sam_local.url, method, path, body, content_type)
    through_local_api = send(local_api.url, method, path, body, content_type)
    assert through_sam.status_code == EXPECTED_STATUS[case], through_sam.text
    assert through_sam.headers["content-type"] == "application/json"
    if method == "HEAD":  # no body, by HTTP's rules
        assert through_sam.content == b""
    else:
        assert isinstance(through_sam.json()["message"], str)
        assert "Traceback" not in through_sam.text
    if through_sam.status_code == 405:
        assert through_sam.headers["allow"] == ALLOWED
    assert answer(through_sam) == answer(through_local_api)


# ------------------------------------------------------------ where SAM is not API Gateway


@pytest.mark.parametrize("path", ["/hello/", "/hello/a/b", "/goodbye/bob", "/"])
def test_sam_answers_unmatched_routes_with_403_missing_authentication_token_where_api_gateway_answers_404(
    path: str, sam_local: SamLocalProcess, local_api: LocalApiProcess
) -> None:
    """SAM's own answer for a path no route takes; API Gateway HTTP APIs (and `make run`) answer 404 Not Found."""
    through_sam = send(sam_local.url, "GET", path)
    assert through_sam.status_code == 403
    assert through_sam.json() == {"message": "Missing Authentication Token"}
    through_local_api = send(local_api.url, "GET", path)
    assert (through_local_api.status_code, through_local_api.json()) == (404, {"message": "Not Found"})


def test_sam_gives_every_request_the_same_request_id_where_api_gateway_gives_each_its_own(
    sam_local: SamLocalProcess, local_api: LocalApiProcess
) -> None:
    """The error bodies quote requestContext.requestId: constant under SAM, one per request in the cloud."""
    through_sam = {send(sam_local.url, "GET", "/hello/b0b").json()["requestId"] for _ in range(2)}
    assert len(through_sam) == 1
    through_local_api = {send(local_api.url, "GET", "/hello/b0b").json()["requestId"] for _ in range(2)}
    assert len(through_local_api) == 2


# ------------------------------------------------------------ stopping (last: it ends the module's run)


def test_sigterm_stops_sam_and_removes_every_container_and_the_network(
    sam_local: SamLocalProcess, docker_engine: tuple[Any, Any]
) -> None:
    client, _ = docker_engine
    on_network = client.containers.list(all=True, filters={"network": sam_local.network})
    names = {container.name for container in on_network}
    assert f"{sam_local.network}-dynamodb" in names
    assert len(names) >= 3, names  # and the two functions' warm containers, after the requests above
    # make passes SIGTERM on to `python -m samlocal serve`, waits for it, then ends by the same signal.
    assert sam_local.terminate() == -signal.SIGTERM
    assert "SAM local API stopped" in sam_local.text
    assert client.containers.list(all=True, filters={"network": sam_local.network}) == []
    assert [network.name for network in client.networks.list(names=[sam_local.network])] == []
    for name in names:
        assert client.containers.list(all=True, filters={"name": f"^/{name}$"}) == [], name
