"""Deliberately misbehaving handlers for the local API's worker tests."""

import json
import os
import time
from pathlib import Path
from typing import Any

WAIT_SECONDS = 60


def raises(event: dict[str, Any], context: Any) -> None:
    raise RuntimeError("boom")


def sleeps(event: dict[str, Any], context: Any) -> None:
    time.sleep(30)


def unserialisable(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": object()}


def pid(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": json.dumps({"pid": os.getpid()})}


def blocks(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Says it started (a file named after the request), then waits until the test writes `release`."""
    markers = Path(os.environ["FAKE_MARKERS"])
    (markers / f"started-{context.aws_request_id.replace('/', '_')}").touch()
    deadline = time.monotonic() + WAIT_SECONDS
    while not (markers / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return {"statusCode": 200, "body": json.dumps({"pid": os.getpid()})}


def echoes(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "cookies": ["a=1", "b=2; Path=/"],
        "body": json.dumps(
            {
                "table": os.environ["TABLE_NAME"],
                "function": context.function_name,
                "remaining": context.get_remaining_time_in_millis(),
                "handler": os.environ["_HANDLER"],
                "task_root": os.environ["LAMBDA_TASK_ROOT"],
                "cwd": os.getcwd(),
                "pythonpath": os.environ.get("PYTHONPATH"),
            }
        ),
    }
