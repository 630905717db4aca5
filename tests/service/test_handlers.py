"""The real Lambda handlers, fed the events in events/, against a moto table built from template.yaml."""

from __future__ import annotations

import base64
import copy
import io
import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
import time_machine
from botocore.stub import Stubber

from greeter import store
from greeter.store import StoreUnavailableError
from tests.conftest import TABLE_NAME
from tests.support.events import for_user, load_event, with_body
from tests.support.fresh_process import run_fresh
from tests.support.logs import powertools_logs
from tests.support.paths import ROOT

TODAY = "2024-02-28T23:59:59Z"


@pytest.fixture(autouse=True)
def frozen_today() -> Iterator[None]:
    with time_machine.travel(TODAY, tick=False):
        yield


def call(handler: ModuleType, event: dict[str, Any], context: Any) -> tuple[int, dict[str, str], Any]:
    response = handler.lambda_handler(event, context)
    headers = {name.lower(): value for name, value in (response.get("headers") or {}).items()}
    body = json.loads(response["body"]) if response.get("body") else None
    return response["statusCode"], headers, body


def stored_item(dynamodb: Any, key: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = dynamodb.get_item(TableName=TABLE_NAME, Key={"username": {"S": key}}).get("Item")
    return item


def test_put_stores_the_normalised_key_and_iso_date(
    put_handler: ModuleType, dynamodb: Any, lambda_context: Any
) -> None:
    status, _, body = call(put_handler, load_event("put_birthday.json"), lambda_context)
    assert (status, body) == (204, None)
    item = stored_item(dynamodb, "alice")
    assert item is not None
    assert item["dateOfBirth"] == {"S": "1990-05-10"}
    assert item["updatedAt"]["S"].startswith("2024-02-28T23:59:59")
    assert item["timeZone"] == {"S": "UTC"}  # no zone named: a UTC user, as before zones existed
    assert set(item) == {"username", "dateOfBirth", "timeZone", "updatedAt"}


def test_put_then_get_greets_with_days_left(
    put_handler: ModuleType, get_handler: ModuleType, lambda_context: Any
) -> None:
    call(put_handler, load_event("put_birthday.json"), lambda_context)
    status, headers, body = call(get_handler, load_event("get_greeting.json"), lambda_context)
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert body == {"message": "Hello, Alice! Your birthday is in 72 day(s)"}  # 2024 holds 29 February


def test_identity_is_case_insensitive_and_greeting_echoes_the_get_spelling(
    put_handler: ModuleType, get_handler: ModuleType, lambda_context: Any
) -> None:
    call(put_handler, load_event("put_birthday.json"), lambda_context)  # PUT /hello/Alice
    status, _, body = call(get_handler, load_event("get_greeting_lowercase.json"), lambda_context)
    assert status == 200
    assert body["message"].startswith("Hello, alice! ")


def test_put_replaces_an_earlier_date(put_handler: ModuleType, dynamodb: Any, lambda_context: Any) -> None:
    call(put_handler, load_event("put_birthday.json"), lambda_context)
    event = with_body(load_event("put_birthday.json"), '{"dateOfBirth": "2000-02-29"}')
    assert call(put_handler, event, lambda_context)[0] == 204
    assert stored_item(dynamodb, "alice")["dateOfBirth"] == {"S": "2000-02-29"}  # type: ignore[index]


def test_born_on_29_february_is_greeted_on_the_day_in_a_leap_year(
    put_handler: ModuleType, get_handler: ModuleType, lambda_context: Any
) -> None:
    call(put_handler, with_body(load_event("put_birthday.json"), '{"dateOfBirth": "2000-02-29"}'), lambda_context)
    assert call(get_handler, load_event("get_greeting.json"), lambda_context)[2] == {
        "message": "Hello, Alice! Your birthday is in 1 day(s)"
    }
    with time_machine.travel("2024-02-29T00:00:01Z", tick=False):
        assert call(get_handler, load_event("get_greeting.json"), lambda_context)[2] == {
            "message": "Hello, Alice! Happy birthday!"
        }


def test_base64_body_without_content_type_is_accepted(
    put_handler: ModuleType, dynamodb: Any, lambda_context: Any
) -> None:
    status, _, _ = call(put_handler, load_event("put_birthday_base64.json"), lambda_context)
    assert status == 204
    assert stored_item(dynamodb, "alice") is not None


@pytest.mark.parametrize(
    ("event_name", "status"),
    [
        ("put_invalid_date.json", 400),
        ("put_invalid_username.json", 400),
        ("put_wrong_content_type.json", 415),
    ],
)
def test_refused_puts_answer_json_and_store_nothing(
    put_handler: ModuleType, dynamodb: Any, lambda_context: Any, event_name: str, status: int
) -> None:
    got, headers, body = call(put_handler, load_event(event_name), lambda_context)
    assert got == status
    assert headers["content-type"] == "application/json"
    assert isinstance(body["message"], str)
    assert body["message"]
    assert dynamodb.scan(TableName=TABLE_NAME)["Count"] == 0


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("", "application/json", 400),
        ("not json", "application/json", 400),
        ("[]", "application/json", 400),
        ('"1990-05-10"', "application/json", 400),
        ("null", "application/json", 400),
        ("{}", "application/json", 400),
        ('{"dateofbirth": "1990-05-10"}', "application/json", 400),
        ('{"dateOfBirth": null}', "application/json", 400),
        ('{"dateOfBirth": 19900510}', "application/json", 400),
        ('{"dateOfBirth": ["1990-05-10"]}', "application/json", 400),
        ('{"dateOfBirth": "2024-02-28"}', "application/json", 400),  # today
        ('{"dateOfBirth": "2024-02-29"}', "application/json", 400),  # tomorrow
        ('{"dateOfBirth": "1990-05-10"}', "text/plain", 415),
        ('{"dateOfBirth": "1990-05-10"}', "application/x-www-form-urlencoded", 415),
        ('{"dateOfBirth": "1990-05-10"}', "application/jsonx", 415),
        ('{"dateOfBirth": "1990-05-10", "extra": "' + "x" * 4096 + '"}', "application/json", 413),
        ('{"dateOfBirth": "1990-05-10"}', "application/json; charset=utf-8", 204),
        ('{"dateOfBirth": "1990-05-10"}', "application/merge-patch+json", 204),
        ('{"dateOfBirth": "1990-05-10"}', "APPLICATION/JSON", 204),
        ('{"dateOfBirth": "1990-05-10"}', None, 204),
        ('{"dateOfBirth": "1990-05-10", "nickname": "Al"}', "application/json", 204),
    ],
)
def test_put_body_rules(
    put_handler: ModuleType,
    dynamodb: Any,
    lambda_context: Any,
    body: str,
    content_type: str | None,
    status: int,
) -> None:
    event = with_body(load_event("put_birthday.json"), body, content_type)
    got, headers, answer = call(put_handler, event, lambda_context)
    assert got == status
    stored = dynamodb.scan(TableName=TABLE_NAME)["Count"]
    if status == 204:
        assert stored == 1
    else:
        assert stored == 0
        assert headers["content-type"] == "application/json"
        assert answer["message"]


def test_body_limit_applies_to_the_decoded_base64_body(put_handler: ModuleType, lambda_context: Any) -> None:
    at_limit = '{"dateOfBirth": "1990-05-10", "pad": "' + "x" * (4096 - 40) + '"}'
    assert len(at_limit) == 4096
    for body, status in ((at_limit, 204), (at_limit + " ", 413)):
        event = load_event("put_birthday_base64.json")
        event["body"] = base64.b64encode(body.encode()).decode()
        assert call(put_handler, event, lambda_context)[0] == status


def test_invalid_base64_is_a_400(put_handler: ModuleType, lambda_context: Any) -> None:
    event = load_event("put_birthday_base64.json")
    event["body"] = "%%%not-base64%%%"
    assert call(put_handler, event, lambda_context)[0] == 400


def test_get_unknown_user_is_404_with_json(get_handler: ModuleType, lambda_context: Any) -> None:
    status, headers, body = call(get_handler, load_event("get_greeting.json"), lambda_context)
    assert status == 404
    assert headers["content-type"] == "application/json"
    assert body["message"] == "no date of birth is stored for Alice"
    assert body["requestId"] == "Bk2XwhXBoAMEJHw="


def test_get_invalid_username_is_400_not_404(get_handler: ModuleType, lambda_context: Any) -> None:
    assert call(get_handler, load_event("get_invalid_username.json"), lambda_context)[0] == 400


@pytest.mark.parametrize(
    ("username", "raw"), [("Al ce", "/hello/Al%20ce"), ('a"b', "/hello/a%22b"), ("a`b", "/hello/a`b")]
)
def test_get_refuses_names_the_route_regex_does_not_match(
    get_handler: ModuleType, lambda_context: Any, username: str, raw: str
) -> None:
    status, _, body = call(get_handler, for_user(load_event("get_greeting.json"), username, raw), lambda_context)
    assert status == 400
    assert "ASCII letters" in body["message"]


def test_percent_encoded_letters_are_decoded_by_api_gateway(
    put_handler: ModuleType, get_handler: ModuleType, lambda_context: Any
) -> None:
    call(put_handler, load_event("put_birthday.json"), lambda_context)
    event = for_user(load_event("get_greeting.json"), "Alice", raw_path="/hello/%41lice")
    assert call(get_handler, event, lambda_context)[:1] == (200,)


@pytest.mark.parametrize("method", ["DELETE", "POST", "PATCH", "HEAD", "OPTIONS"])
def test_other_methods_are_405_with_allow(get_handler: ModuleType, lambda_context: Any, method: str) -> None:
    event = load_event("delete_method_not_allowed.json")
    event["requestContext"]["http"]["method"] = method
    status, headers, body = call(get_handler, event, lambda_context)
    assert status == 405
    assert headers["allow"] == "GET, PUT"
    assert body["message"]


def test_options_without_cors_is_the_same_405_from_its_own_function(
    get_handler: ModuleType, lambda_context: Any
) -> None:
    """OptionsNotAllowedFunction (the OPTIONS route while CORS is off) answers exactly what GetGreeting would."""
    from greeter.handlers import method_not_allowed

    event = load_event("delete_method_not_allowed.json")
    event["requestContext"]["http"]["method"] = "OPTIONS"
    event["routeKey"] = event["requestContext"]["routeKey"] = "OPTIONS /hello/{username}"
    expected = call(get_handler, copy.deepcopy(event), lambda_context)
    assert expected[0] == 405
    assert call(method_not_allowed, event, lambda_context) == expected


# Store faults (throttling, timeouts, a missing table...) are in tests/hardening, over real sockets.


def test_unexpected_error_is_500_with_generic_message(
    get_handler: ModuleType, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken:
        def get(self, key: str) -> None:
            raise RuntimeError("secret detail")

    monkeypatch.setattr(get_handler, "store", Broken())
    status, _, body = call(get_handler, load_event("get_greeting.json"), lambda_context)
    assert status == 500
    assert body["message"] == "internal error"
    assert "secret detail" not in json.dumps(body)


def _count_dynamodb_calls(module: ModuleType) -> list[str]:
    calls: list[str] = []
    module.store._client.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.append(model.name), unique_id=f"count-{id(calls)}"
    )
    return calls


def test_one_get_item_per_get_and_one_put_item_per_put(
    put_handler: ModuleType, get_handler: ModuleType, lambda_context: Any
) -> None:
    put_calls = _count_dynamodb_calls(put_handler)
    get_calls = _count_dynamodb_calls(get_handler)
    call(put_handler, load_event("put_birthday.json"), lambda_context)
    call(get_handler, load_event("get_greeting.json"), lambda_context)
    assert put_calls == ["PutItem"]
    assert get_calls == ["GetItem"]


def test_a_bad_name_is_reported_before_a_bad_body(put_handler: ModuleType, lambda_context: Any) -> None:
    event = with_body(load_event("put_invalid_username.json"), "x" * 5000, "text/plain")
    status, _, body = call(put_handler, event, lambda_context)
    assert status == 400
    assert "ASCII letters" in body["message"]


def _emf_metrics(output: str) -> set[str]:
    names: set[str] = set()
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            for directive in json.loads(line)["_aws"]["CloudWatchMetrics"]:
                names.update(metric["Name"] for metric in directive["Metrics"])
    return names


def test_each_function_publishes_its_business_metric_as_emf(
    put_handler: ModuleType, get_handler: ModuleType, lambda_context: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    call(put_handler, load_event("put_birthday.json"), lambda_context)
    assert "BirthdaysSaved" in _emf_metrics(capsys.readouterr().out)
    call(get_handler, load_event("get_greeting.json"), lambda_context)
    assert "GreetingsServed" in _emf_metrics(capsys.readouterr().out)
    call(get_handler, load_event("get_invalid_username.json"), lambda_context)
    assert "GreetingsServed" not in _emf_metrics(capsys.readouterr().out)


def test_log_lines_carry_the_http_api_request_id_as_correlation_id(
    get_handler: ModuleType, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(get_handler.logger.registered_handler, "stream", stream)

    class ThrottledStore:
        def get(self, key: str) -> None:
            raise StoreUnavailableError("DynamoDB GetItem failed: ThrottlingException")

    monkeypatch.setattr(get_handler, "store", ThrottledStore())
    call(get_handler, load_event("get_greeting.json"), lambda_context)
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    warning = next(record for record in records if record["message"] == "store unavailable")
    assert warning["correlation_id"] == "Bk2XwhXBoAMEJHw="
    assert warning["reason"] == "DynamoDB GetItem failed: ThrottlingException"


_IMPORT_THEN_ONE_REQUEST_EACH = """
import json, sys
from botocore import handlers
from botocore.awsrequest import AWSResponse

calls = []

class Body:
    def stream(self, **_):
        yield b"{}"

class Context:
    function_name = "test"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:test"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

# Every botocore session, boto3's included, registers these when it is created.
handlers.BUILTIN_HANDLERS.append(("before-call.dynamodb", lambda model, **_: calls.append(model.name)))
handlers.BUILTIN_HANDLERS.append(
    ("before-send.dynamodb", lambda request, **_: AWSResponse(request.url, 200, {}, Body()))
)
from greeter.handlers import get_greeting, put_birthday

at_import = list(calls)
answers = {}
for name, module, event in (("get", get_greeting, sys.argv[1]), ("put", put_birthday, sys.argv[2])):
    calls.clear()
    status = module.lambda_handler(json.load(open(event)), Context())["statusCode"]
    answers[name] = [status, list(calls)]
print(json.dumps({"at_import": at_import, **answers}))
"""


def test_no_dynamodb_call_at_import_and_one_per_request_in_a_fresh_process() -> None:
    """A cold start imports the handlers first: nothing there may reach DynamoDB (no DescribeTable)."""
    events = ROOT / "events"
    result = run_fresh(
        _IMPORT_THEN_ONE_REQUEST_EACH, str(events / "get_greeting.json"), str(events / "put_birthday.json")
    )
    assert result["at_import"] == []
    assert result["get"] == [404, ["GetItem"]]
    assert result["put"] == [204, ["PutItem"]]


def test_a_slow_dynamodb_call_is_logged_with_its_operation_duration_and_retries(
    put_handler: ModuleType, get_handler: ModuleType, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lambda's own traces time the invocation, not the call in it: the store names a slow call itself.

    The line carries the Lambda request id (and, in Lambda, the X-Ray trace id)
    like every Powertools line, so an operator goes from it to the trace.
    """
    monkeypatch.setattr(store, "SLOW_CALL_SECONDS", -1.0)  # every call is slower than that
    with powertools_logs() as logs:
        assert call(put_handler, load_event("put_birthday.json"), lambda_context)[0] == 204
        assert call(get_handler, load_event("get_greeting.json"), lambda_context)[0] == 200
        with Stubber(get_handler.store._client) as stubber:
            stubber.add_client_error("get_item", service_error_code="ResourceNotFoundException", http_status_code=400)
            assert call(get_handler, load_event("get_greeting.json"), lambda_context)[0] == 500
    slow = [record for record in logs.records() if record["message"] == store.SLOW_CALL_MESSAGE]
    assert [(r["level"], r["operation"], r.get("retries")) for r in slow] == [  # no metadata: no retries key
        ("WARNING", "PutItem", 0),
        ("WARNING", "GetItem", 0),
        ("WARNING", "GetItem", None),
    ]
    assert all(isinstance(r["milliseconds"], int) and r["milliseconds"] >= 0 for r in slow)
    assert {r["function_request_id"] for r in slow} == {lambda_context.aws_request_id}
    assert "1990" not in json.dumps(slow)  # the sample's year of birth: no parameter is logged

    monkeypatch.setattr(store, "SLOW_CALL_SECONDS", float("inf"))
    with powertools_logs() as logs:
        assert call(get_handler, load_event("get_greeting.json"), lambda_context)[0] == 200
    assert [record for record in logs.records() if record["message"] == store.SLOW_CALL_MESSAGE] == []
