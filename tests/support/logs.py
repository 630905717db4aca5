"""What the functions' Powertools logger writes, as the JSON lines CloudWatch would receive."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class CapturedLogs:
    def __init__(self, buffer: io.StringIO) -> None:
        self._buffer = buffer

    @property
    def text(self) -> str:
        return self._buffer.getvalue()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]


@contextmanager
def powertools_logs() -> Iterator[CapturedLogs]:
    """Points the service logger's own handler (and so its JSON formatter) at a buffer.

    The handler holds the stdout it found at import, which pytest's `capsys`
    does not replace; swapping its stream keeps Powertools' formatting intact.
    Import the handler modules first: they create the logger.
    """
    logger = logging.getLogger(os.environ["POWERTOOLS_SERVICE_NAME"])
    handler = getattr(logger, "powertools_handler", None)
    if not isinstance(handler, logging.StreamHandler):
        raise RuntimeError("the Powertools logger has not been created yet")
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield CapturedLogs(buffer)
    finally:
        handler.setStream(previous)
