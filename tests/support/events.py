"""The sample events in events/, the same files `sam local invoke -e` takes."""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.support.paths import EVENTS_DIR


def load_event(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((EVENTS_DIR / name).read_text()))


def with_body(event: dict[str, Any], body: str, content_type: str | None = "application/json") -> dict[str, Any]:
    """A copy of `event` carrying another body (and content type, or none)."""
    changed = copy.deepcopy(event)
    changed["body"] = body
    changed["isBase64Encoded"] = False
    changed["headers"].pop("content-type", None)
    if content_type is not None:
        changed["headers"]["content-type"] = content_type
    return changed


def for_user(event: dict[str, Any], username: str, raw_path: str | None = None) -> dict[str, Any]:
    """A copy of `event` addressed to another username (decoded) and raw path (encoded)."""
    changed = copy.deepcopy(event)
    raw = raw_path or f"/hello/{username}"
    changed["pathParameters"] = {"username": username}
    changed["rawPath"] = raw
    changed["requestContext"]["http"]["path"] = raw
    return changed
