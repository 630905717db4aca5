"""Deliberately misbehaving handlers for the local API's worker tests."""

import json
import os
import time
from typing import Any


def raises(event: dict[str, Any], context: Any) -> None:
    raise RuntimeError("boom")


def sleeps(event: dict[str, Any], context: Any) -> None:
    time.sleep(30)


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
            }
        ),
    }
