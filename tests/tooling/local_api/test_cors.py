"""The local API's CORS: preflight answered at the gateway, headers added to answers, a function's own ignored."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from localapi.cors import CorsConfiguration
from localapi.events import HttpRequest, HttpResponse
from localapi.server import LocalApi
from localapi.template import Route, SamTemplate, TemplateError

APP = "https://app.example.com"
CORS = CorsConfiguration.from_property(
    {"AllowOrigins": [APP, "http://localhost:5173"], "AllowMethods": ["GET", "PUT"], "AllowHeaders": ["content-type"]}
    | {"MaxAge": 300}
)
GET_ROUTE = Route("GET", "/hello/{username}", "Get")


def request(method: str = "GET", origin: str | None = APP, *extra: tuple[str, str]) -> HttpRequest:
    headers = [("Host", "127.0.0.1:3000"), *([("Origin", origin)] if origin else []), *extra]
    return HttpRequest(method, "/hello/alice", "", headers, b"", "127.0.0.1")


def preflight(origin: str | None = APP) -> HttpRequest:
    return request(
        "OPTIONS", origin, ("Access-Control-Request-Method", "PUT"), ("Access-Control-Request-Headers", "content-type")
    )


def cors_headers(response: HttpResponse) -> dict[str, str]:
    return {name: value for name, value in response.headers if name.startswith("access-control-") or name == "vary"}


class AnsweringPool:
    """Stands for a function's pool: answers every invocation with `result`, counting them."""

    def __init__(self, result: dict[str, Any]) -> None:
        self.result = result
        self.invocations = 0

    async def invoke(self, event: dict[str, Any], request_id: str) -> dict[str, Any]:
        self.invocations += 1
        return self.result


def test_the_template_parameter_becomes_the_configuration() -> None:
    assert CorsConfiguration.from_template(SamTemplate()) is None
    template = SamTemplate(parameter_overrides={"CorsAllowedOrigins": f"{APP},http://localhost:5173"})
    assert CorsConfiguration.from_template(template) == CORS


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"AllowOrigins": [APP], "AllowOrigin": [APP]}, "unknown property"),
        ({"AllowOrigins": APP}, "not a list of strings"),
        ({"AllowMethods": ["GET"]}, "no AllowOrigins"),
        ({"AllowOrigins": [APP], "MaxAge": "300"}, "MaxAge"),
    ],
)
def test_a_configuration_the_local_api_cannot_follow_is_a_clear_error(value: dict[str, Any], message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        CorsConfiguration.from_property(value)


def test_a_preflight_from_an_allowed_origin_gets_the_configuration() -> None:
    response = CORS.preflight(preflight(), "id")
    assert response.status == 204
    assert response.body == b""
    assert cors_headers(response) == {
        "access-control-allow-origin": APP,
        "access-control-allow-methods": "GET,PUT",
        "access-control-allow-headers": "content-type",
        "access-control-max-age": "300",
    }


@pytest.mark.parametrize(
    "origin", ["https://evil.example.com", "https://app.example.com:8443", "http://app.example.com"]
)
def test_a_preflight_from_another_origin_gets_no_cors_headers(origin: str) -> None:
    response = CORS.preflight(preflight(origin), "id")
    assert response.status == 204
    assert cors_headers(response) == {}


def test_only_options_with_origin_and_request_method_is_a_preflight() -> None:
    assert CORS.is_preflight(preflight())
    assert not CORS.is_preflight(request("OPTIONS"))
    assert not CORS.is_preflight(request("OPTIONS", None, ("Access-Control-Request-Method", "PUT")))
    assert not CORS.is_preflight(request("GET", APP, ("Access-Control-Request-Method", "PUT")))


def test_a_wildcard_allows_any_origin_without_vary() -> None:
    anyone = CorsConfiguration.from_property({"AllowOrigins": ["*"]})
    assert cors_headers(anyone.preflight(preflight("https://x.example.com"), "id")) == {
        "access-control-allow-origin": "*"
    }
    answered = anyone.on_response(request(origin="https://x.example.com"), HttpResponse(200, [], b"{}"))
    assert cors_headers(answered) == {"access-control-allow-origin": "*"}


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://app.example.com", "https://app.example.com"),
        ("https://localhost:8443", "https://localhost:8443"),
        ("http://app.example.com", None),  # http is not https
        ("httpsx://app.example.com", None),
    ],
)
def test_a_scheme_wildcard_allows_every_origin_of_that_scheme(origin: str, allowed: str | None) -> None:
    """API Gateway documents `https://*` as any origin that starts with https://; the origin is echoed."""
    secure = CorsConfiguration.from_property({"AllowOrigins": ["https://*"], "AllowMethods": ["GET", "PUT"]})
    assert secure.allowed_origin(origin) == allowed
    headers = cors_headers(secure.preflight(preflight(origin), "id"))
    assert headers.get("access-control-allow-origin") == allowed


def test_an_answer_to_an_allowed_origin_carries_allow_origin_and_vary() -> None:
    answered = CORS.on_response(request(), HttpResponse(200, [("content-type", "application/json")], b"{}"))
    assert answered.headers == [
        ("content-type", "application/json"),
        ("access-control-allow-origin", APP),
        ("vary", "origin"),
    ]


@pytest.mark.parametrize("origin", [APP, "https://evil.example.com", None])
def test_cors_headers_a_function_returns_are_ignored(origin: str | None) -> None:
    own = [("Access-Control-Allow-Origin", "*"), ("access-control-allow-methods", "DELETE"), ("allow", "GET, PUT")]
    answered = CORS.on_response(request(origin=origin), HttpResponse(405, own, b"{}"))
    expected = {"access-control-allow-origin": APP, "vary": "origin"} if origin == APP else {}
    assert cors_headers(answered) == expected
    assert ("allow", "GET, PUT") in answered.headers


def test_the_local_api_answers_preflight_without_running_a_function() -> None:
    pool = AnsweringPool({"statusCode": 200, "body": "{}"})
    api = LocalApi([GET_ROUTE], {"Get": pool}, cors=CORS)  # type: ignore[dict-item]
    response = asyncio.run(api.handle(preflight()))
    assert response.status == 204
    assert cors_headers(response)["access-control-allow-origin"] == APP
    assert pool.invocations == 0


def test_the_local_api_puts_the_gateways_cors_headers_on_a_functions_answer() -> None:
    pool = AnsweringPool({"statusCode": 200, "headers": {"Access-Control-Allow-Origin": "*"}, "body": "{}"})
    api = LocalApi([GET_ROUTE], {"Get": pool}, cors=CORS)  # type: ignore[dict-item]
    response = asyncio.run(api.handle(request()))
    assert response.status == 200
    assert cors_headers(response) == {"access-control-allow-origin": APP, "vary": "origin"}
    assert pool.invocations == 1


def test_without_cors_the_local_api_passes_a_functions_headers_through_and_answers_no_preflight() -> None:
    pool = AnsweringPool({"statusCode": 200, "headers": {"Access-Control-Allow-Origin": "*"}, "body": "{}"})
    api = LocalApi([GET_ROUTE], {"Get": pool})  # type: ignore[dict-item]
    assert cors_headers(asyncio.run(api.handle(request()))) == {"access-control-allow-origin": "*"}
    assert asyncio.run(api.handle(preflight())).status == 404  # no OPTIONS route here: API Gateway's 404


def test_with_cors_an_options_request_that_is_no_preflight_finds_no_route() -> None:
    """With CORS on the template has no OPTIONS route, so a plain OPTIONS is API Gateway's 404."""
    api = LocalApi([GET_ROUTE], {}, cors=CORS)
    response = asyncio.run(api.handle(request("OPTIONS")))
    assert response.status == 404
    assert cors_headers(response) == {}
