"""`python -m loadtest ...` in a child process that a test can watch and interrupt mid-run.

Everything it prints (its own lines and locust's log, which goes to stderr) is read by a thread
as it comes into `output`; `wait_for` waits for a line, `finish` for the exit, both bounded.
The child gets a session of its own, so `locust_processes` finds locust's master and the
workers it forked, and `stop` ends them all.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading

import psutil

from tests.support.paths import ROOT

WAIT_SECONDS = 120
"""The most a test waits for a line or an exit; reached only when it never comes."""


class LoadtestProcess:
    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.output: list[str] = []
        self._seen = threading.Condition()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "loadtest", *args],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            with self._seen:
                self.output.append(line)
                self._seen.notify_all()
        with self._seen:
            self._seen.notify_all()

    @property
    def text(self) -> str:
        with self._seen:
            return "".join(self.output)

    @property
    def pid(self) -> int:
        return self._process.pid

    def wait_for(self, text: str, count: int = 1) -> None:
        """Until `text` has been printed `count` times; fails when the process exits first or after WAIT_SECONDS."""
        with self._seen:
            done = self._seen.wait_for(
                lambda: sum(text in line for line in self.output) >= count or self._process.poll() is not None,
                timeout=WAIT_SECONDS,
            )
            printed = sum(text in line for line in self.output)
        if not done or printed < count:
            raise AssertionError(f"never printed {text!r} ({count}x):\n{self.text}")

    def finish(self) -> int:
        """The exit code, once the process has ended by itself (at most WAIT_SECONDS)."""
        code = self._process.wait(timeout=WAIT_SECONDS)
        self._reader.join(timeout=WAIT_SECONDS)
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
