"""The local API's console: one line per event, whatever a client sent.

Paths, methods, a token's `kid` and the reasons a token was refused reach
the console; a client chooses them. Every character that is not printable
(CR, LF, NEL, the line and paragraph separators, ESC and the rest of the
control and format characters) is written escaped (`\\r`, `\\x1b`, `\\u2028`),
so no value can end a line, start a forged one, or drive the terminal.
Tracebacks keep their line breaks, each line of them indented, so none of
their lines can pass for a line of the console either.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

FORMAT = "%(asctime)s %(name)s %(message)s"


def escaped(text: str) -> str:
    """`text` with every character that is not printable written as its Python escape."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


class EscapingFormatter(logging.Formatter):
    """A logging formatter whose every line is one line: the message escaped, tracebacks indented."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        return escaped(super().formatMessage(record))

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        lines = super().formatException(ei).split("\n")
        return "\n".join("    " + escaped(line) for line in lines)

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 - logging's name
        return "\n".join("    " + escaped(line) for line in stack_info.split("\n"))


def configure() -> None:
    """The root logger writes to stderr through the escaping formatter; uvicorn's loggers come here too."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(EscapingFormatter(FORMAT))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
