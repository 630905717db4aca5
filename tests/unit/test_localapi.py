"""The local API's pieces: event building, response writing, route matching, worker failures."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from localapi.events import HttpRequest, from_result, to_event
from localapi.server import LocalApi
from localapi.template import Function, Route, SamTemplate
from localapi.workers import FunctionWorker

PUT_ROUTE = Route("PUT", "/hello/{username}", "Put")
GET_ROUTE = Route("GET", "/hello/{username}", "Get")
ANY_ROUTE = Route("ANY", "/hello/{username}", "Get")


def request(**overrides: object) -> HttpRequest:
    fields: dict[str, object] = {
        "method": "PUT",
        "raw_path": "/hello/%41lice",
        "raw_query": "a=1&b=2&a=3",
        "headers": [
            ("Host", "127.0.0.1:3000"),
            ("Content-Type", "application/json"),
            ("X-Many", "one"),
            ("x-many", "two"),
            ("Cookie", "s=1; t=2"),
            ("User-Agent", "pytest"),
        ],
        "body": b'{"dateOfBirth": "2000-01-01"}',
        "source_ip": "127.0.0.1",
    }
    fields.update(overrides)
    return HttpRequest(**fields)  # type: ignore[arg-type]


def test_event_is_api_gateway_http_api_payload_2() -> None:
    event = to_event(request(), PUT_ROUTE, {"username": "%41lice"}, "req-1")
    assert event["version"] == "2.0"
    assert event["routeKey"] == "PUT /hello/{username}"
    assert event["rawPath"] == "/hello/%41lice"
    assert event["pathParameters"] == {"username": "Alice"}  # decoded, as API Gateway does
    assert event["headers"]["x-many"] == "one,two"
    assert event["headers"]["content-type"] == "application/json"
    assert "cookie" not in event["headers"]
    assert event["cookies"] == ["s=1", "t=2"]
    assert event["rawQueryString"] == "a=1&b=2&a=3"
    assert event["queryStringParameters"] == {"a": "1,3", "b": "2"}
    assert event["body"] == '{"dateOfBirth": "2000-01-01"}'
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["http"] == {
        "method": "PUT",
        "path": "/hello/%41lice",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "pytest",
    }
    assert context["requestId"] == "req-1"
    assert context["stage"] == "$default"
    assert isinstance(context["timeEpoch"], int)
    assert context["time"].endswith(" +0000")


@pytest.mark.parametrize(
    ("content_type", "body", "encoded"),
    [
        ("application/octet-stream", b'{"a": 1}', True),
        (None, b'{"a": 1}', True),
        ("application/json", b"\xff\xfe", True),
        ("text/plain", b"hello", False),
        ("application/problem+json", b"{}", False),
    ],
)
def test_binary_bodies_are_base64_encoded(content_type: str | None, body: bytes, encoded: bool) -> None:
    headers = [("content-type", content_type)] if content_type else []
    event = to_event(request(headers=headers, body=body), PUT_ROUTE, {"username": "a"}, "r")
    assert event["isBase64Encoded"] is encoded
    assert (base64.b64decode(event["body"]) if encoded else event["body"].encode()) == body


def test_no_body_means_no_body_key() -> None:
    event = to_event(request(method="GET", body=b"", raw_query=""), GET_ROUTE, {"username": "a"}, "r")
    assert "body" not in event
    assert "queryStringParameters" not in event


def test_response_headers_cookies_and_base64_bodies() -> None:
    response = from_result(
        {
            "statusCode": 201,
            "headers": {"X-One": "1"},
            "multiValueHeaders": {"X-Two": ["a", "b"]},
            "cookies": ["c=1"],
            "body": base64.b64encode(b"\x00\x01").decode(),
            "isBase64Encoded": True,
        }
    )
    assert response.status == 201
    assert ("x-one", "1") in response.headers
    assert ("x-two", "a") in response.headers
    assert ("x-two", "b") in response.headers
    assert ("set-cookie", "c=1") in response.headers
    assert response.body == b"\x00\x01"


def test_a_result_without_status_code_is_a_200_json_body() -> None:
    response = from_result({"message": "hi"})
    assert (response.status, json.loads(response.body)) == (200, {"message": "hi"})


def test_routes_prefer_a_named_method_to_any_and_match_one_segment() -> None:
    api = LocalApi(sorted([ANY_ROUTE, PUT_ROUTE, GET_ROUTE], key=lambda r: r.specificity, reverse=True), {})
    assert api.match("GET", "/hello/bob") == (GET_ROUTE, {"username": "bob"})
    assert api.match("PUT", "/hello/bob") == (PUT_ROUTE, {"username": "bob"})
    assert api.match("DELETE", "/hello/bob") == (ANY_ROUTE, {"username": "bob"})
    for path in ("/hello/", "/hello/bob/", "/hello", "/hello/a/b", "/x/hello/bob"):
        assert api.match("GET", path) is None


def test_unmatched_route_is_api_gateways_json_404() -> None:
    response = LocalApi([GET_ROUTE], {}).handle(request(method="GET", raw_path="/nope"))
    assert response.status == 404
    assert json.loads(response.body) == {"message": "Not Found"}


def _fake_function(handler: str, timeout: int = 3) -> Function:
    return Function(
        logical_id="Fake",
        handler=f"handlers.{handler}",
        code_uri=Path(__file__).parent / "fake_functions",
        environment={"TABLE_NAME": "FromTemplate"},
        timeout_seconds=timeout,
        memory_mb=128,
        routes=(Route("GET", "/x", "Fake"),),
    )


def _serve_once(handler: str, timeout: int = 3) -> tuple[int, bytes, bytes]:
    worker = FunctionWorker(_fake_function(handler, timeout), {"AWS_REGION": "eu-west-1", "PATH": "/usr/bin:/bin"})
    try:
        api = LocalApi([Route("GET", "/x", "Fake")], {"Fake": worker})
        first = api.handle(request(method="GET", raw_path="/x", body=b""))
        second = api.handle(request(method="GET", raw_path="/x", body=b""))  # the worker came back
        return first.status, first.body, second.body
    finally:
        worker.stop()


def test_handler_gets_its_template_environment_and_a_lambda_context() -> None:
    status, body, _ = _serve_once("echoes")
    answer = json.loads(body)
    assert status == 200
    assert answer["table"] == "FromTemplate"
    assert answer["function"] == "Fake"
    assert 0 < answer["remaining"] <= 3000


@pytest.mark.parametrize(("handler", "timeout"), [("raises", 3), ("sleeps", 1)])
def test_failed_or_timed_out_invocation_is_a_500_and_the_worker_restarts(handler: str, timeout: int) -> None:
    status, body, second = _serve_once(handler, timeout)
    assert status == 500
    assert json.loads(body) == {"message": "Internal Server Error"}
    assert json.loads(second) == {"message": "Internal Server Error"}


def test_template_refs_resolve_like_sam_local(tmp_path: Path) -> None:
    (tmp_path / "template.yaml").write_text(
        """
Parameters:
  Level: {Type: String, Default: INFO}
Globals:
  Function:
    CodeUri: code/
    Timeout: 4
    Environment: {Variables: {LEVEL: !Ref Level, TABLE: !Ref Table}}
Resources:
  Table: {Type: AWS::DynamoDB::Table, Properties: {KeySchema: [], AttributeDefinitions: []}}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Environment: {Variables: {EXTRA: "1"}}
      Events: {Get: {Type: HttpApi, Properties: {Path: "/a/{b}", Method: get}}}
  Hook: {Type: AWS::Serverless::Function, Properties: {Handler: hook.handler}}
"""
    )
    (function,) = SamTemplate(tmp_path / "template.yaml").api_functions()
    assert function.environment == {"LEVEL": "INFO", "TABLE": "Table", "EXTRA": "1"}
    assert function.timeout_seconds == 4
    assert function.routes == (Route("GET", "/a/{b}", "Fn"),)
