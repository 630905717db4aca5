"""Dates of birth never reach a log line, a metric or a trace (SPEC: privacy in logs).

Every log is captured: the functions' Powertools JSON lines, the metrics they
print (EMF), every other Python logger at INFO and above, and, over HTTP, every
line the local API and its function workers print (access log included).
"""

from __future__ import annotations

import ast
import base64
import json
import logging
from datetime import date
from types import ModuleType
from typing import Any

import pytest
import requests
from botocore.stub import Stubber

from localapi.template import SamTemplate
from tests.conftest import TABLE_NAME
from tests.support.events import load_event, with_body
from tests.support.local_api import LocalApiProcess
from tests.support.logs import powertools_logs
from tests.support.paths import ROOT

TIMEOUT = 10
BORN = date(1961, 8, 23)  # no log timestamp of this century contains its digits
NOT_A_DATE = "1961-08-32"


def representations(day: date) -> list[str]:
    """The ways a date can be written into a log line."""
    y, m, d = f"{day.year:04d}", f"{day.month:02d}", f"{day.day:02d}"
    return [
        f"{y}-{m}-{d}",
        f"{y}{m}{d}",
        f"{y}/{m}/{d}",
        f"{d}/{m}/{y}",
        f"{m}/{d}/{y}",
        f"{d}.{m}.{y}",
        f"{d}-{m}-{y}",
        f"{y}-{day.month}-{day.day}",
        f"{d}{m}{y}",
        f"{y}-{m}",
    ]


FORBIDDEN = [*representations(BORN), NOT_A_DATE, "1961-08-3"]


def leaks(text: str) -> list[str]:
    return [form for form in FORBIDDEN if form in text]


def test_the_forbidden_forms_are_found_where_they_are() -> None:
    """The scanner itself: it must see a date however it is written."""
    assert leaks('{"dateOfBirth": "1961-08-23"}') == ["1961-08-23", "1961-08"]
    assert leaks("born 23/08/1961") == ["23/08/1961"]
    assert leaks("19610823") == ["19610823"]
    assert leaks("Hello, Alice! Your birthday is in 72 day(s)") == []


def _call(handler: ModuleType, event: dict[str, Any], context: Any) -> int:
    status: int = handler.lambda_handler(event, context)["statusCode"]
    return status


def test_handlers_log_no_date_of_birth(
    put_handler: ModuleType,
    get_handler: ModuleType,
    dynamodb: Any,
    lambda_context: Any,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every path that logs: success, refusals, a store fault and a corrupt stored item."""
    put = load_event("put_birthday.json")
    get = load_event("get_greeting.json")

    def put_body(value: str, content_type: str = "application/json", pad: int = 0, zone: str | None = None) -> int:
        body = {"dateOfBirth": value, **({"pad": "x" * pad} if pad else {}), **({"timeZone": zone} if zone else {})}
        return _call(put_handler, with_body(put, json.dumps(body), content_type), lambda_context)

    service_logger = logging.getLogger("greeter")
    previous_level = service_logger.level
    service_logger.setLevel(logging.DEBUG)  # what the template's LogLevel=DEBUG sets
    try:
        with caplog.at_level(logging.INFO), powertools_logs() as logs:
            statuses = [
                put_body(BORN.isoformat()),
                _call(get_handler, get, lambda_context),
                put_body(NOT_A_DATE),
                put_body("2999-08-23"),
                put_body(BORN.isoformat(), "text/plain"),
                put_body(BORN.isoformat(), pad=5000),
                put_body(BORN.isoformat(), zone="Asia/Kathmandu"),  # a zoned user: the zone may be logged, the date not
                _call(get_handler, get, lambda_context),
                put_body(BORN.isoformat(), zone="Mars/Olympus"),
            ]
            dynamodb.put_item(
                TableName=TABLE_NAME,
                Item={
                    "username": {"S": "alice"},
                    "dateOfBirth": {"S": "1961-08-23"},
                    "timeZone": {"S": "Mars/Olympus"},
                },
            )
            statuses.append(_call(get_handler, get, lambda_context))  # an unknown stored zone: the item is not quoted
            dynamodb.put_item(
                TableName=TABLE_NAME, Item={"username": {"S": "alice"}, "dateOfBirth": {"S": "1961-08-23T00"}}
            )
            statuses.append(_call(get_handler, get, lambda_context))  # a corrupt item must not be quoted
            stubber = Stubber(put_handler.store._client)
            stubber.add_client_error("put_item", service_error_code="ThrottlingException", http_status_code=400)
            with stubber:
                statuses.append(put_body(BORN.isoformat()))  # a store fault with a date in flight
    finally:
        service_logger.setLevel(previous_level)

    assert statuses == [204, 200, 400, 400, 415, 413, 204, 200, 400, 500, 500, 503]
    captured = "\n".join([logs.text, capsys.readouterr().out, *(record.getMessage() for record in caplog.records)])
    assert leaks(captured) == []
    assert "store misconfigured" in logs.text  # the capture sees the service's lines
    assert "store unavailable" in logs.text
    assert "BirthdaysSaved" in captured  # and the metrics


def test_local_api_output_holds_no_date_of_birth(local_api: LocalApiProcess) -> None:
    """Over HTTP: the console (access log), and the functions' Powertools lines and metrics in the log file."""
    path = "/hello/Privacy"
    url = local_api.url + path
    json_headers = {"Content-Type": "application/json"}
    answers = [
        requests.put(url, json={"dateOfBirth": BORN.isoformat()}, timeout=TIMEOUT),
        requests.get(url, timeout=TIMEOUT),
        requests.put(url, json={"dateOfBirth": NOT_A_DATE}, timeout=TIMEOUT),
        requests.put(
            url,
            data=json.dumps({"dateOfBirth": BORN.isoformat()}),
            headers={"Content-Type": "text/plain"},
            timeout=TIMEOUT,
        ),
        requests.put(
            url,
            data=base64.b64encode(json.dumps({"dateOfBirth": BORN.isoformat()}).encode()),
            headers={"Content-Type": "application/octet-stream"},
            timeout=TIMEOUT,
        ),
        requests.put(url, data=b"{}", headers=json_headers, timeout=TIMEOUT),
    ]
    assert [answer.status_code for answer in answers] == [204, 200, 400, 415, 415, 400]
    # Each access line is printed before its answer is sent; the reader thread may lag, so wait for them.
    console = local_api.wait_for(
        lambda output: sum(f' {path}" ' in line for line in output) >= len(answers), "the access lines"
    )
    functions = local_api.functions_output()  # written by the workers before they answered
    assert '"service":"greeter"' in functions.replace(" ", "")  # the functions' lines are captured
    assert "BirthdaysSaved" in functions  # and their metrics
    assert leaks("".join(console)) == []
    assert leaks(functions) == []


TRACING_LIBRARIES = ("aws_xray_sdk", "opentelemetry", "aws_lambda_powertools.tracing")


def test_traces_are_lambdas_own_segments_and_no_code_records_into_them() -> None:
    """Lambda's Active tracing records timings and errors, never a payload; nothing deployed adds to a trace.

    The functions ship no tracing library (docs/deployment.md, "Traces"), and
    their code imports none, Powertools' `Tracer` included: no subsegment, no
    metadata, no captured response can carry a date of birth into X-Ray. The
    event is not logged either.
    """
    for function in SamTemplate().api_functions():
        assert function.environment["POWERTOOLS_LOGGER_LOG_EVENT"] == "false", function.logical_id
        assert not any(name.startswith("POWERTOOLS_TRACE") for name in function.environment), function.logical_id

    imported = []
    for source in sorted((ROOT / "src").rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                imported += [(source.name, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported += [(source.name, f"{node.module}.{alias.name}") for alias in node.names]
    assert imported  # the scan sees the handlers' imports
    tracing = [(name, module) for name, module in imported if module.startswith(TRACING_LIBRARIES)]
    tracing += [(name, module) for name, module in imported if module == "aws_lambda_powertools.Tracer"]
    assert tracing == []

    deployed = (ROOT / "src" / "requirements.txt").read_text()
    assert "aws-xray-sdk" not in deployed
    assert "opentelemetry" not in deployed


def test_debug_logging_everywhere_still_logs_no_date_of_birth(
    put_handler: ModuleType,
    get_handler: ModuleType,
    dynamodb: Any,
    lambda_context: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Lambda's ApplicationLogLevel=DEBUG lowers the root logger; botocore would quote request parameters."""
    with caplog.at_level(logging.DEBUG):
        statuses = [
            _call(put_handler, load_event("put_birthday.json"), lambda_context),
            _call(get_handler, load_event("get_greeting.json"), lambda_context),
        ]
    assert statuses == [204, 200]
    assert caplog.records  # DEBUG is really on
    text = "\n".join(f"{record.name} {record.getMessage()} {record.args!r}" for record in caplog.records)
    assert "1990-05-10" not in text  # the date in events/put_birthday.json
    assert "19900510" not in text
