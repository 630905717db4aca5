"""`python -m loadtest ...` in a child process that a test can watch and interrupt mid-run.

Everything it prints (its own lines and locust's log, which goes to stderr) is read as it comes
(tests.support.console); `wait_for` waits for a line, `finish` for the exit, both bounded.
The child gets a session of its own, so `locust_processes` finds locust's master and the
workers it forked, and `stop` ends them all.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys

import psutil

from tests.support.console import Console
from tests.support.paths import ROOT

WAIT_SECONDS = 120
"""The most a test waits for a line or an exit; reached only when it never comes."""


class LoadtestProcess:
    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "loadtest", *args],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._console = Console(self._process)

    @property
    def text(self) -> str:
        return self._console.text

    @property
    def pid(self) -> int:
        return self._process.pid

    def wait_for(self, text: str) -> None:
        """Until `text` has been printed; fails when the process exits first or after WAIT_SECONDS."""
        self._console.wait_for(lambda output: any(text in line for line in output), repr(text), WAIT_SECONDS)

    def finish(self) -> int:
        """The exit code, once the process has ended by itself (at most WAIT_SECONDS)."""
        code = self._process.wait(timeout=WAIT_SECONDS)
        self._console.join(WAIT_SECONDS)
        return code

    def locust_processes(self) -> list[psutil.Process]:
        """Locust's processes under this one: the master (or a lone locust) first, then what it forked."""
        children = psutil.Process(self._process.pid).children(recursive=True)
        return sorted(children, key=lambda child: (len(child.parents()), child.pid))

    def stop(self) -> None:
        """Ends the whole session (this process, locust, its workers), whatever state it is in."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGKILL)
        self._process.wait(timeout=WAIT_SECONDS)
