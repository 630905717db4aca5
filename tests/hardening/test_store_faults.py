"""When DynamoDB misbehaves, the functions answer as SPEC.md says, log it, and answer in time.

The real handlers talk through the real botocore client (the adapter's own
`Config`: timeouts, standard retries) to loopback endpoints that throttle, fail,
never answer, refuse or never accept. Transient faults are 503 with
`Retry-After`; configuration faults are 500; neither carries a store's text.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
import requests

from greeter.handlers import get_greeting, put_birthday
from greeter.store import (
    CONNECT_TIMEOUT_SECONDS,
    MAX_ATTEMPTS,
    READ_TIMEOUT_SECONDS,
    SLOW_CALL_MESSAGE,
    SLOW_CALL_SECONDS,
    DynamoDBBirthdayStore,
    worst_case_seconds,
)
from localapi.template import SamTemplate
from tests.support.events import load_event
from tests.support.faults import (
    Endpoint,
    answering,
    never_answering,
    not_accepting_connections,
    refusing_connections,
)
from tests.support.local_api import LocalApiProcess
from tests.support.logs import powertools_logs
from tests.support.openapi import OpenApiContract

pytestmark = pytest.mark.faults

# Time the handler needs besides the store call (resolve, log, serialise): generous on a busy CI machine.
OVERHEAD_SECONDS = 0.75
UNAVAILABLE_MESSAGE = "the birthday store is busy or unreachable, please retry"
INTERNAL_MESSAGE = "internal error"


def seconds_waiting_for_a_cpu() -> float:
    """How long this thread has been runnable without a CPU (Linux schedstat)."""
    with open("/proc/thread-self/schedstat", encoding="ascii") as schedstat:
        return int(schedstat.read().split()[1]) / 1e9


@dataclass(frozen=True)
class Fault:
    name: str
    endpoint: Callable[[], contextlib.AbstractContextManager[Endpoint]]
    status: int
    logged_as: str  # what the log line's reason names
    attempts: int | None  # requests that reach the endpoint; None where no request can (no connection)
    at_least_seconds: float = 0.0


def _answering(status: int, code: str) -> Callable[[], contextlib.AbstractContextManager[Endpoint]]:
    return lambda: answering(status, code)


FAULTS = [
    Fault(
        "ProvisionedThroughputExceededException",
        _answering(400, "ProvisionedThroughputExceededException"),
        503,
        "ProvisionedThroughputExceededException",
        MAX_ATTEMPTS,
    ),
    Fault("ThrottlingException", _answering(400, "ThrottlingException"), 503, "ThrottlingException", MAX_ATTEMPTS),
    Fault("RequestLimitExceeded", _answering(400, "RequestLimitExceeded"), 503, "RequestLimitExceeded", MAX_ATTEMPTS),
    Fault(
        "HTTP 500 InternalServerError", _answering(500, "InternalServerError"), 503, "InternalServerError", MAX_ATTEMPTS
    ),
    Fault(
        "read timeout",
        never_answering,
        503,
        "ReadTimeoutError",
        MAX_ATTEMPTS,
        at_least_seconds=MAX_ATTEMPTS * READ_TIMEOUT_SECONDS,
    ),
    Fault(
        "connect timeout",
        not_accepting_connections,
        503,
        "ConnectTimeoutError",
        None,
        at_least_seconds=MAX_ATTEMPTS * CONNECT_TIMEOUT_SECONDS,
    ),
    Fault("connection refused", refusing_connections, 503, "EndpointConnectionError", None),
    Fault("missing table", _answering(400, "ResourceNotFoundException"), 500, "ResourceNotFoundException", 1),
    Fault("access denied", _answering(400, "AccessDeniedException"), 500, "AccessDeniedException", 1),
]

OPERATIONS = {"PUT": "PutItem", "GET": "GetItem"}
HANDLERS: dict[str, tuple[ModuleType, str]] = {
    "PUT": (put_birthday, "put_birthday.json"),
    "GET": (get_greeting, "get_greeting.json"),
}


@pytest.fixture(scope="module")
def contract() -> OpenApiContract:
    return OpenApiContract()


@pytest.fixture(scope="module")
def function_timeouts() -> dict[str, int]:
    return {function.logical_id: function.timeout_seconds for function in SamTemplate().api_functions()}


def test_the_worst_store_call_leaves_time_to_answer(function_timeouts: dict[str, int]) -> None:
    """Every try's connect and read timeouts plus the backoff between them fit in each function's Timeout."""
    for name, timeout in function_timeouts.items():
        assert worst_case_seconds() + OVERHEAD_SECONDS < timeout, name


@pytest.mark.parametrize("method", HANDLERS)
def test_the_functions_clients_use_the_adapters_timeouts_and_retries(method: str) -> None:
    config = HANDLERS[method][0].store._client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS)
    assert config.retries == {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS}


@pytest.fixture
def store_at(monkeypatch: pytest.MonkeyPatch) -> Callable[[ModuleType, str], None]:
    """Points a handler module's store at `url`, built as in Lambda (from the environment)."""

    def point(module: ModuleType, url: str) -> None:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", url)
        monkeypatch.setattr(module, "store", DynamoDBBirthdayStore.from_environment())

    return point


@pytest.mark.parametrize("method", HANDLERS)
@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
def test_store_fault_is_answered_as_the_spec_says(
    fault: Fault,
    method: str,
    store_at: Callable[[ModuleType, str], None],
    lambda_context: Any,
    contract: OpenApiContract,
) -> None:
    module, event_name = HANDLERS[method]
    event = load_event(event_name)
    with fault.endpoint() as endpoint, powertools_logs() as logs:
        store_at(module, endpoint.url)
        started, waited = time.monotonic(), seconds_waiting_for_a_cpu()
        response = module.lambda_handler(event, lambda_context)
        elapsed = time.monotonic() - started
        starved = seconds_waiting_for_a_cpu() - waited

    status, headers, raw_body = response["statusCode"], response.get("headers") or {}, response.get("body") or ""
    assert status == fault.status
    assert contract.problems(method, status, headers, raw_body) == []
    body = json.loads(raw_body)
    assert set(body) <= {"message", "requestId"}
    assert body["message"] == (UNAVAILABLE_MESSAGE if status == 503 else INTERNAL_MESSAGE)
    for leak in (fault.logged_as, "Traceback", "botocore", "DynamoDB", "Error", "127.0.0.1"):
        assert leak not in raw_body
    if status == 503:
        assert headers["Retry-After"] == "1"

    request_id = event["requestContext"]["requestId"]
    records = [
        record
        for record in logs.records()
        if record.get("correlation_id") == request_id
        and record.get("function_request_id") == lambda_context.aws_request_id
    ]
    slow = [record for record in records if record["message"] == SLOW_CALL_MESSAGE]
    logged = [
        record
        for record in records
        if record["level"] == ("WARNING" if status == 503 else "ERROR") and record["message"] != SLOW_CALL_MESSAGE
    ]
    assert len(logged) == 1, logs.text
    assert fault.logged_as in logged[0]["reason"]
    # The call itself outlasting the threshold (both timeouts do) is also named as a slow call, once.
    assert len(slow) <= 1, logs.text
    if fault.at_least_seconds > 2 * SLOW_CALL_SECONDS:
        assert [(record["level"], record["operation"]) for record in slow] == [("WARNING", OPERATIONS[method])]

    # Time this thread was ready to run but had no CPU is the machine's, not the handler's: Lambda
    # gives a function its CPU, and a loaded test machine must not fail the bound for lack of one.
    assert elapsed - starved <= worst_case_seconds() + OVERHEAD_SECONDS
    assert elapsed >= fault.at_least_seconds
    if fault.attempts is not None:
        assert endpoint.attempts == fault.attempts


def test_a_store_that_never_answers_is_a_503_over_http_before_the_timeout(function_timeouts: dict[str, int]) -> None:
    """The whole chain: local API -> worker -> handler -> botocore -> a silent socket.

    No clock is read here: the local API ends an invocation at the function's
    Timeout with a 500, so a 503 is the handler's own answer, given in time.
    The function's log line is written before its answer leaves the worker.
    """
    with never_answering() as endpoint:
        api = LocalApiProcess(extra_env={"AWS_ENDPOINT_URL_DYNAMODB": endpoint.url})
        try:
            for method, body in (("PUT", b'{"dateOfBirth": "1990-05-10"}'), ("GET", None)):
                response = requests.request(
                    method,
                    f"{api.url}/hello/Silent",
                    data=body,
                    headers={"Content-Type": "application/json"},
                    timeout=min(function_timeouts.values()) + 30,
                )
                assert response.status_code == 503, response.text
                assert response.headers["Retry-After"] == "1"
                assert response.json()["message"] == UNAVAILABLE_MESSAGE
                request_id = response.headers["apigw-requestid"]
                logged = api.functions_output().splitlines()
                assert any(request_id in line and "store unavailable" in line for line in logged), logged
        finally:
            api.stop()
        assert endpoint.attempts == 2 * MAX_ATTEMPTS
