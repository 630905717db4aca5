"""CORS over real HTTP: `make run PARAMETER_OVERRIDES="CorsAllowedOrigins=..."` against the default `make run`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.support.local_api import LocalApiProcess, run_local_api

pytestmark = pytest.mark.integration
TIMEOUT = 10
APP = "https://app.example.com"
PREFLIGHT = {"Origin": APP, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type"}


@pytest.fixture(scope="module")
def cors_api() -> Iterator[LocalApiProcess]:
    api = LocalApiProcess.through_make(f"PARAMETER_OVERRIDES=CorsAllowedOrigins={APP},http://localhost:5173")
    yield api
    api.stop()


def cors_headers(response: requests.Response) -> dict[str, str]:
    return {
        name.lower(): value
        for name, value in response.headers.items()
        if name.lower().startswith("access-control-") or name.lower() == "vary"
    }


def test_the_banner_says_cors_is_on_for_which_origins(cors_api: LocalApiProcess) -> None:
    line = cors_api.wait_for_line("CORS for ")
    assert f"CORS for {APP}, http://localhost:5173" in line
    assert not any("OPTIONS /hello/{username}" in printed for printed in cors_api.output)


def test_a_preflight_from_an_allowed_origin_is_answered(cors_api: LocalApiProcess) -> None:
    response = requests.options(f"{cors_api.url}/hello/alice", headers=PREFLIGHT, timeout=TIMEOUT)
    assert response.status_code == 204
    assert response.content == b""
    assert cors_headers(response) == {
        "access-control-allow-origin": APP,
        "access-control-allow-methods": "GET,PUT",
        "access-control-allow-headers": "content-type",
        "access-control-max-age": "300",
    }


def test_a_preflight_from_another_origin_gets_no_allow_origin(cors_api: LocalApiProcess) -> None:
    headers = PREFLIGHT | {"Origin": "https://evil.example.com"}
    response = requests.options(f"{cors_api.url}/hello/alice", headers=headers, timeout=TIMEOUT)
    assert response.status_code == 204
    assert cors_headers(response) == {}


def test_put_and_get_from_an_allowed_origin_carry_allow_origin(cors_api: LocalApiProcess) -> None:
    stored = requests.put(
        f"{cors_api.url}/hello/Corsuser",
        data='{"dateOfBirth": "1990-05-10"}',
        headers={"Origin": APP, "Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert stored.status_code == 204, stored.text
    assert cors_headers(stored) == {"access-control-allow-origin": APP, "vary": "origin"}
    greeted = requests.get(f"{cors_api.url}/hello/corsuser", headers={"Origin": APP}, timeout=TIMEOUT)
    assert greeted.status_code == 200
    assert greeted.json()["message"].startswith("Hello, corsuser! ")
    assert cors_headers(greeted) == {"access-control-allow-origin": APP, "vary": "origin"}


def test_the_contracts_errors_are_unchanged_and_carry_allow_origin_too(cors_api: LocalApiProcess) -> None:
    refused = requests.delete(f"{cors_api.url}/hello/alice", headers={"Origin": APP}, timeout=TIMEOUT)
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET, PUT"
    assert cors_headers(refused) == {"access-control-allow-origin": APP, "vary": "origin"}
    bad = requests.get(f"{cors_api.url}/hello/b0b", headers={"Origin": "https://evil.example.com"}, timeout=TIMEOUT)
    assert bad.status_code == 400
    assert cors_headers(bad) == {}


CONTRACT_CASES = [
    ("PUT", "/hello/Samecase", '{"dateOfBirth": "1990-05-10"}', "application/json"),
    ("GET", "/hello/samecase", None, None),
    ("GET", "/hello/Nobody", None, None),
    ("GET", "/hello/b0b", None, None),
    ("PUT", "/hello/Alice", '{"dateOfBirth": "2001-02-29"}', "application/json"),
    ("PUT", "/hello/Alice", "{", "application/json"),
    ("PUT", "/hello/Alice", '{"dateOfBirth": "1990-05-10"}', "text/plain"),
    ("PUT", "/hello/Alice", '{"dateOfBirth": "1990-05-10", "pad": "' + "x" * 5000 + '"}', "application/json"),
    *[(method, "/hello/Alice", None, None) for method in ("POST", "DELETE", "PATCH", "HEAD")],
    ("GET", "/hello/", None, None),
    ("GET", "/hello/bob/", None, None),
]


@pytest.mark.parametrize(("method", "path", "body", "content_type"), CONTRACT_CASES)
def test_every_other_answer_of_the_contract_is_the_same_with_cors_on(
    cors_api: LocalApiProcess,
    local_api: LocalApiProcess,
    method: str,
    path: str,
    body: str | None,
    content_type: str | None,
) -> None:
    """The contract's cases, sent from a browser origin with CORS on and with it off: only the CORS headers differ."""
    headers = {"Origin": APP} | ({"Content-Type": content_type} if content_type else {})

    def answer(api: LocalApiProcess) -> tuple[int, str | None, str | None, object]:
        response = requests.request(method, api.url + path, data=body, headers=headers, timeout=TIMEOUT)
        message = response.json().get("message") if response.content else None
        return response.status_code, response.headers.get("content-type"), response.headers.get("allow"), message

    assert answer(cors_api) == answer(local_api)


def test_without_cors_options_is_405_with_allow_and_no_cors_headers(local_api: LocalApiProcess) -> None:
    response = requests.options(f"{local_api.url}/hello/alice", headers=PREFLIGHT, timeout=TIMEOUT)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, PUT"
    assert response.json()["message"]
    assert cors_headers(response) == {}
    greeted = requests.get(f"{local_api.url}/hello/nobody", headers={"Origin": APP}, timeout=TIMEOUT)
    assert cors_headers(greeted) == {}


def test_an_origin_with_a_path_or_a_space_is_refused_before_anything_starts() -> None:
    finished = run_local_api("--port", "0", "--parameter-overrides", f"CorsAllowedOrigins={APP}/")
    assert finished.returncode == 2
    assert "CorsAllowedOrigins" in finished.stderr
    assert "no path" in finished.stderr
