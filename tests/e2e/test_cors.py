"""CORS as browsers see it (SPEC.md, "Browser clients"): off by default; with origins, the gateway answers preflight.

What the target has on comes from the stack's CorsAllowedOrigins (or
CORS_ORIGINS=...): the suite checks that the API does what that says, so a
stack whose CORS configuration was lost, or added by mistake, fails here.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import UNKNOWN_USER, Api, Target, Writer, expect, expect_json_error

REFUSED_ORIGIN = "https://not-an-allowed-origin.example"
PREFLIGHT = {"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type"}


def an_allowed_origin(target: Target) -> str:
    """An origin the configuration allows: the first one, with API Gateway's wildcards filled in."""
    origin = target.cors_origins[0]
    if origin == "*":
        return "https://any-origin.example"
    return origin.replace("://*", "://app.example.org")


def cors_headers(headers: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name.startswith("access-control-")}


@pytest.fixture
def cors_on(target: Target) -> Target:
    if not target.cors_origins:
        pytest.skip("CORS is off on this target (no CorsAllowedOrigins)")
    return target


def test_without_cors_no_answer_carries_cors_headers(api: Api, target: Target, writer: Writer) -> None:
    if target.cors_origins:
        pytest.skip("CORS is on on this target")
    user = writer.unknown_user()
    answer = api.send(
        "GET", f"/hello/{user}", headers={"Origin": "https://app.example.com", **writer.read_headers(user)}
    )
    expect_json_error(answer, 404, "GET of an unknown user from a browser origin")
    assert not cors_headers(answer.headers), f"CORS is off, yet: {answer.describe()}"


@pytest.mark.deviates("sam-local", "SAM answers preflight 200 and lists OPTIONS in access-control-allow-methods")
def test_a_preflight_from_an_allowed_origin_is_answered_for_get_and_put(api: Api, cors_on: Target) -> None:
    origin = an_allowed_origin(cors_on)
    answer = api.send("OPTIONS", f"/hello/{UNKNOWN_USER}", headers={"Origin": origin, **PREFLIGHT})
    case = f"preflight for PUT from {origin}"
    expect(answer, 204, case)
    assert answer.headers.get("access-control-allow-origin") in {origin, "*"}, f"{case}: {answer.describe()}"
    methods = {method.strip() for method in answer.headers.get("access-control-allow-methods", "").split(",")}
    assert methods == {"GET", "PUT"}, f"{case}: methods {methods}: {answer.describe()}"
    allowed = {header.strip().lower() for header in answer.headers.get("access-control-allow-headers", "").split(",")}
    assert "content-type" in allowed, f"{case}: {answer.describe()}"
    if cors_on.jwt:
        assert "authorization" in allowed, f"{case}: the authorizer needs Authorization: {answer.describe()}"


def test_a_preflight_from_another_origin_gets_no_cors_headers(api: Api, cors_on: Target) -> None:
    if "*" in cors_on.cors_origins or any(origin.endswith("://*") for origin in cors_on.cors_origins):
        pytest.skip(f"every origin is allowed ({','.join(cors_on.cors_origins)})")
    answer = api.send("OPTIONS", f"/hello/{UNKNOWN_USER}", headers={"Origin": REFUSED_ORIGIN, **PREFLIGHT})
    assert "access-control-allow-origin" not in answer.headers, f"preflight from {REFUSED_ORIGIN}: {answer.describe()}"


def test_an_answer_to_an_allowed_origin_names_it(api: Api, cors_on: Target, writer: Writer) -> None:
    origin, user = an_allowed_origin(cors_on), writer.unknown_user()
    answer = api.send("GET", f"/hello/{user}", headers={"Origin": origin, **writer.read_headers(user)})
    expect_json_error(answer, 404, f"GET of an unknown user from {origin}")
    assert answer.headers.get("access-control-allow-origin") in {origin, "*"}, f"from {origin}: {answer.describe()}"


@pytest.mark.deviates("sam-local", "SAM answers every OPTIONS itself with 200 while CORS is on")
def test_an_options_request_that_is_no_preflight_finds_no_route(api: Api, cors_on: Target) -> None:
    answer = api.send("OPTIONS", f"/hello/{UNKNOWN_USER}")
    expect(answer, 404, "OPTIONS without Origin or Access-Control-Request-Method, CORS on")
