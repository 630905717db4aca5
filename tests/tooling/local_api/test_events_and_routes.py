"""The local API's pieces: event building, response writing, route matching, the template it reads."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from pathlib import Path

import pytest

from localapi.events import HttpRequest, from_result, to_event
from localapi.server import LocalApi, listen
from localapi.template import Route, SamTemplate, TemplateError, parse_parameter_overrides

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
    response = asyncio.run(LocalApi([GET_ROUTE], {}).handle(request(method="GET", raw_path="/nope")))
    assert response.status == 404
    assert response.body == b'{"message":"Not Found"}'


TEMPLATE = """
Parameters:
  Level: {Type: String, Default: INFO}
  Reserved: {Type: Number, Default: 0}
Conditions:
  HasReserved: !Not [!Equals [!Ref Reserved, 0]]
Globals:
  Function:
    CodeUri: code/
    Timeout: 4
    Environment: {Variables: {LEVEL: !Ref Level, TABLE: !Ref Table, REGION: !Ref AWS::Region}}
Resources:
  Table: {Type: AWS::DynamoDB::Table, Properties: {KeySchema: [], AttributeDefinitions: []}}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      ReservedConcurrentExecutions: !If [HasReserved, !Ref Reserved, !Ref AWS::NoValue]
      Environment: {Variables: {EXTRA: "1"}}
      Events: {Get: {Type: HttpApi, Properties: {Path: "/a/{b}", Method: get}}}
  Hook: {Type: AWS::Serverless::Function, Properties: {Handler: hook.handler}}
"""


def _template(tmp_path: Path, overrides: str = "") -> SamTemplate:
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    return SamTemplate(tmp_path / "template.yaml", parse_parameter_overrides(overrides), region="eu-west-1")


def test_template_refs_resolve_like_sam_local(tmp_path: Path) -> None:
    (function,) = _template(tmp_path).api_functions()
    assert function.environment == {"LEVEL": "INFO", "TABLE": "Table", "REGION": "eu-west-1", "EXTRA": "1"}
    assert function.timeout_seconds == 4
    assert function.code_uri == tmp_path / "code"
    assert function.routes == (Route("GET", "/a/{b}", "Fn"),)
    assert function.reserved_concurrency is None  # !If chose AWS::NoValue: the property is absent


@pytest.mark.parametrize(
    ("overrides", "level", "reserved"),
    [
        ("Reserved=3 Level=DEBUG", "DEBUG", 3),
        ("ParameterKey=Reserved,ParameterValue=2", "INFO", 2),  # sam's other spelling
        ("Reserved=0", "INFO", None),  # the condition compares 0 with 0, as CloudFormation does
    ],
)
def test_parameter_overrides_reach_the_environment_and_the_concurrency_through_conditions(
    tmp_path: Path, overrides: str, level: str, reserved: int | None
) -> None:
    (function,) = _template(tmp_path, overrides).api_functions()
    assert function.environment["LEVEL"] == level
    assert function.reserved_concurrency == reserved


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ("Nope=1", "declares no parameter Nope"),
        ("Reserved=many", "Reserved is a Number"),
        ("not-an-override", "--parameter-overrides"),
    ],
)
def test_bad_parameter_overrides_are_clear_errors(tmp_path: Path, overrides: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        _template(tmp_path, overrides).api_functions()


def test_the_projects_reserved_concurrency_parameter_reaches_every_api_function() -> None:
    assert {function.reserved_concurrency for function in SamTemplate().api_functions()} == {None}
    overridden = SamTemplate(parameter_overrides={"ReservedConcurrency": "4"}).api_functions()
    assert {function.logical_id: function.reserved_concurrency for function in overridden} == {
        "PutBirthdayFunction": 4,
        "GetGreetingFunction": 4,
        "OptionsNotAllowedFunction": 4,
    }


def test_the_listening_socket_lets_asyncio_turn_nagle_off_for_each_connection() -> None:
    """Without TCP_NODELAY a keep-alive client waits for its delayed ACK (about 40 ms) on every answer but the first."""

    async def accepted_nodelay() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                sock = transport.get_extra_info("socket")
                seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        listener = listen("127.0.0.1", 0)
        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)  # as uvicorn serves it
        try:
            _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
            writer.close()
            return await seen
        finally:
            server.close()

    assert asyncio.run(accepted_nodelay()) == 1
