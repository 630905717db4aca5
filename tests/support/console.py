"""What a child process prints, read by a thread as it comes, so a test can wait for a line.

Waits are bounded (WAIT_SECONDS) and end early when the process exits: a line that never
comes fails the test with everything the process printed.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable

WAIT_SECONDS = 120
"""The most a test waits for a line; reached only when the line never comes."""


class Console:
    """The lines of `process`'s stdout (stderr merged into it by the caller), appended to `output`."""

    def __init__(self, process: subprocess.Popen[str], output: list[str] | None = None) -> None:
        self.process = process
        self.output = output if output is not None else []
        self._seen = threading.Condition()
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()

    def _drain(self) -> None:
        for line in self.process.stdout or []:
            with self._seen:
                self.output.append(line)
                self._seen.notify_all()
        with self._seen:
            self._seen.notify_all()

    def wait_for(self, found: Callable[[list[str]], bool], what: str, timeout: float = WAIT_SECONDS) -> list[str]:
        """The output once `found(output)` holds; AssertionError after `timeout` or once the process has exited."""
        with self._seen:
            done = self._seen.wait_for(lambda: found(self.output) or self.process.poll() is not None, timeout)
            if not done or not found(self.output):
                raise AssertionError(f"never printed {what}:\n" + "".join(self.output))
            return list(self.output)

    @property
    def text(self) -> str:
        with self._seen:
            return "".join(self.output)

    def join(self, timeout: float = WAIT_SECONDS) -> None:
        """Once the process has exited: every line it printed is in `output`."""
        self._drainer.join(timeout=timeout)
