"""Warm invocations of one function, run as a script in a Lambda-like process (see `lambda_env`).

    probe_warm.py RESULT_FD HANDLER EVENT_FILE EXPECTED_STATUS ITERATIONS
    probe_warm.py RESULT_FD floor:OPERATION - - ITERATIONS

The second form is the warm floor: a bare botocore client making the same call
the store makes, with nothing around it.

DynamoDB is answered in-process: a botocore `before-send` handler returns the
HTTP response, so the client still serialises the request, signs it and parses
the answer; only the network is left out. A `before-call` handler counts the
calls made while the handler module is imported and per request.

The probe stays up and times one repeat (ITERATIONS invocations in a row) each
time it reads a line on stdin, so the bench can alternate repeats of the floor
and of the function: both then meet the same noise, and their ratio holds on a
busy machine. Every answer is one JSON line on RESULT_FD: first the calls at
import and on the first request, then microseconds per invocation (CPU of the
thread, and wall) per repeat; at the end of stdin, the calls per request, the
days-until computation in nanoseconds and the peak RSS.
"""

import functools
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


def per_call(run: Any, iterations: int, scale: float) -> dict[str, float]:
    """`run` timed `iterations` times in a row: the cost of one call in 1/scale s, CPU of this thread and wall.

    The work is all in-process, so on an idle machine the two agree; on a shared
    one only the CPU time ignores the time this process waited for a core.
    """
    wall, cpu = time.perf_counter_ns(), time.thread_time_ns()
    for _ in range(iterations):
        run()
    cpu, wall = time.thread_time_ns() - cpu, time.perf_counter_ns() - wall
    return {"wall": wall / iterations / 1e9 * scale, "cpu": cpu / iterations / 1e9 * scale}


def floor_call(operation: str) -> Any:
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
    return lambda: call(**item)


def main() -> None:
    result_fd, handler_name, event_file, expected_status, iterations = sys.argv[1:]
    results = os.fdopen(int(result_fd), "w", encoding="utf-8")

    def answer(document: dict[str, Any]) -> None:
        results.write(json.dumps(document) + "\n")
        results.flush()

    calls: list[str] = []
    # Every botocore session (boto3's too) registers the built-in handlers when it is created.
    handlers.BUILTIN_HANDLERS.append(("before-call.dynamodb", lambda model, **_: calls.append(model.name)))
    if handler_name.startswith("floor:"):
        run = floor_call(handler_name.removeprefix("floor:"))
        answer({"calls_at_import": [], "calls_first_request": []})
    else:
        handlers.BUILTIN_HANDLERS.append(("before-send.dynamodb", answer_in_process))
        module_name, _, attribute = handler_name.rpartition(".")
        handler = getattr(importlib.import_module(module_name), attribute)
        at_import = list(calls)
        with open(event_file, encoding="utf-8") as source:
            event = json.load(source)
        context = LambdaContext()
        calls.clear()
        status = handler(event, context)["statusCode"]
        if status != int(expected_status):
            raise SystemExit(f"{handler_name} answered {status}, expected {expected_status}")
        answer({"calls_at_import": at_import, "calls_first_request": list(calls)})
        run = functools.partial(handler, event, context)

    calls.clear()
    count = int(iterations)
    repeats = 0
    for _ in sys.stdin:  # one line, one repeat
        answer(per_call(run, count, 1e6))
        repeats += 1

    days_until_ns = []
    if not handler_name.startswith("floor:"):
        from greeter.domain import days_until_birthday

        born, today = date(1990, 5, 10), date(2024, 2, 28)
        days_until_ns = [per_call(lambda: days_until_birthday(born, today), count * 10, 1e9) for _ in range(5)]
    answer(
        {
            "calls_per_request": len(calls) / max(1, count * repeats),
            "days_until_ns": days_until_ns,
            "peak_rss_kb": peak_rss_kb(),
        }
    )


if __name__ == "__main__":
    main()
