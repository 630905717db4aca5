"""Warm invocations of one function, run as a script in a Lambda-like process (see `lambda_env`).

    probe_warm.py RESULT_FD HANDLER EVENT_FILE EXPECTED_STATUS ITERATIONS REPEATS
    probe_warm.py RESULT_FD floor:OPERATION - - ITERATIONS REPEATS

The second form is the warm floor: a bare botocore client making the same call
the store makes, with nothing around it.

DynamoDB is answered in-process: a botocore `before-send` handler returns the
HTTP response, so the client still serialises the request, signs it and parses
the answer; only the network is left out. A `before-call` handler counts the
calls made while the handler module is imported and per request. Writes JSON
to RESULT_FD: microseconds per invocation for each repeat, the same for the
days-until computation in nanoseconds, the calls, and the peak RSS.
"""

import importlib
import json
import os
import sys
import time
from datetime import date
from typing import Any

from botocore import handlers
from botocore.awsrequest import AWSResponse
from probe_cold import LambdaContext, peak_rss_kb  # type: ignore[import-not-found]

STORED_ITEM = {"Item": {"dateOfBirth": {"S": "1990-05-10"}}}


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data


def answer_in_process(request: Any, event_name: str, **_: Any) -> AWSResponse:
    """The response DynamoDB would send; `event_name` ends with the operation."""
    operation = event_name.rsplit(".", 1)[-1]
    body = json.dumps(STORED_ITEM if operation == "GetItem" else {}).encode()
    headers: Any = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "bench"}
    return AWSResponse(request.url, 200, headers, _Body(body))


def per_call(run: Any, iterations: int, repeats: int, scale: float) -> dict[str, list[float]]:
    """`run` timed `iterations` times in a row, `repeats` times: the cost of one call in 1/scale s.

    Both the wall clock and the CPU time of this thread: the work is all in-process,
    so on an idle machine they agree; on a shared one only the CPU time ignores
    the time this process waited for a core.
    """
    samples: dict[str, list[float]] = {"wall": [], "cpu": []}
    for _ in range(repeats):
        wall, cpu = time.perf_counter_ns(), time.thread_time_ns()
        for _ in range(iterations):
            run()
        cpu, wall = time.thread_time_ns() - cpu, time.perf_counter_ns() - wall
        samples["wall"].append(wall / iterations / 1e9 * scale)
        samples["cpu"].append(cpu / iterations / 1e9 * scale)
    return samples


def warm_floor(operation: str, iterations: int, repeats: int) -> dict[str, Any]:
    """The same DynamoDB call as the store's, from a bare client: what botocore alone costs."""
    import botocore.session

    handlers.BUILTIN_HANDLERS.append(("before-send.dynamodb", answer_in_process))
    client: Any = botocore.session.get_session().create_client("dynamodb")
    key = {"username": {"S": "alice"}}
    if operation == "GetItem":
        item = {
            "TableName": "BirthdaysTable",
            "Key": key,
            "ProjectionExpression": "dateOfBirth",
            "ConsistentRead": True,
        }
        call = client.get_item
    else:
        dates = {"dateOfBirth": {"S": "1990-05-10"}, "updatedAt": {"S": "2024-02-28T12:00:00.000+00:00"}}
        item = {"TableName": "BirthdaysTable", "Item": {**key, **dates}}
        call = client.put_item
    call(**item)
    return {"invocation_us": per_call(lambda: call(**item), iterations, repeats, 1e6), "peak_rss_kb": peak_rss_kb()}


def main() -> None:
    result_fd, handler_name, event_file, expected_status, iterations, repeats = sys.argv[1:]
    if handler_name.startswith("floor:"):
        floor = warm_floor(handler_name.removeprefix("floor:"), int(iterations), int(repeats))
        os.write(int(result_fd), json.dumps(floor).encode())
        return
    calls: list[str] = []
    # Every botocore session (boto3's too) registers the built-in handlers when it is created.
    handlers.BUILTIN_HANDLERS.append(("before-call.dynamodb", lambda model, **_: calls.append(model.name)))
    handlers.BUILTIN_HANDLERS.append(("before-send.dynamodb", answer_in_process))

    module_name, _, attribute = handler_name.rpartition(".")
    handler = getattr(importlib.import_module(module_name), attribute)
    at_import = list(calls)

    with open(event_file, encoding="utf-8") as source:
        event = json.load(source)
    context = LambdaContext()
    calls.clear()
    status = handler(event, context)["statusCode"]
    first_request = list(calls)
    if status != int(expected_status):
        raise SystemExit(f"{handler_name} answered {status}, expected {expected_status}")

    calls.clear()
    n, r = int(iterations), int(repeats)
    invocation_us = per_call(lambda: handler(event, context), n, r, 1e6)
    calls_per_request = len(calls) / (n * r)

    from greeter.domain import days_until_birthday

    born, today = date(1990, 5, 10), date(2024, 2, 28)
    days_until_ns = per_call(lambda: days_until_birthday(born, today), n * 10, r, 1e9)

    result = {
        "invocation_us": invocation_us,
        "days_until_ns": days_until_ns,
        "calls_at_import": at_import,
        "calls_first_request": first_request,
        "calls_per_request": calls_per_request,
        "peak_rss_kb": peak_rss_kb(),
    }
    os.write(int(result_fd), json.dumps(result).encode())


if __name__ == "__main__":
    main()
