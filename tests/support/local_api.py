"""Runs the local API as `make run` does (or through make itself), on a free port, keeping what it prints.

The console output is read by a thread as it comes; tests that look for a
line wait for it (`wait_for`) instead of reading the list at some moment.
What the functions print goes to `log_file`, written before their answer
leaves the worker, so it is complete for every answer a test has received.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.support.console import Console
from tests.support.paths import ROOT

_LISTENING = re.compile(r"Local API listening on (http://\S+)")
WAIT_SECONDS = 60
"""The most a test waits for a line it expects; reached only when the line never comes."""


def local_api_env(extra_env: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT / "local")])}
    for name in ("AWS_ENDPOINT_URL_DYNAMODB", "FAKETIME", "LD_PRELOAD", "VERBOSE", "FROZEN"):
        env.pop(name, None)
    env.update(extra_env or {})
    return env


def run_local_api(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m localapi ARGS` to its end (for what makes it stop at once), its output kept."""
    return subprocess.run(
        [sys.executable, "-m", "localapi", *args],
        cwd=cwd,
        env=env if env is not None else local_api_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class LocalApiProcess:
    """The local API in a child process; `output` holds every console line, `log_file` the functions' output."""

    def __init__(
        self,
        extra_env: dict[str, str] | None = None,
        args: Sequence[str] = (),
        command: Sequence[str] | None = None,
        log_file: Path | None = None,
    ) -> None:
        if log_file is None:
            handle, name = tempfile.mkstemp(prefix="local-api-", suffix=".log")
            os.close(handle)
            log_file = Path(name)
        self.log_file = log_file
        if command is None:
            command = [sys.executable, "-m", "localapi", "--host", "127.0.0.1", "--port", "0"]
            command += ["--log-file", str(log_file), *args]
        self.output: list[str] = []
        self._process = subprocess.Popen(
            list(command),
            cwd=ROOT,
            env=local_api_env(extra_env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # `stop` signals the whole group: make and the server under it
        )
        self.url = self._wait_for_url()
        self._console = Console(self._process, self.output)

    @classmethod
    def through_make(
        cls, *make_args: str, wrapper: Sequence[str] = (), extra_env: dict[str, str] | None = None
    ) -> LocalApiProcess:
        """`[wrapper] make -s run PORT=0 ...`, as a developer types it."""
        handle, name = tempfile.mkstemp(prefix="local-api-", suffix=".log")
        os.close(handle)
        command = [*wrapper, "make", "-s", "run", "HOST=127.0.0.1", "PORT=0", f"LOG_FILE={name}", *make_args]
        process = cls(extra_env=extra_env, command=command, log_file=Path(name))
        process._wrapped = bool(wrapper)
        return process

    @property
    def pid(self) -> int:
        return self._process.pid

    def _wait_for_url(self) -> str:
        """Reads lines until the server says where it listens: no clock, so faked time cannot hang it."""
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self.output.append(line)
            found = _LISTENING.search(line)
            if found:
                return found.group(1)
        raise RuntimeError("the local API exited before listening:\n" + "".join(self.output))

    def wait_for(self, found: Callable[[list[str]], bool], what: str = "a line") -> list[str]:
        """The output once `found(output)` holds; fails after WAIT_SECONDS or when the server has exited."""
        try:
            return self._console.wait_for(found, what, WAIT_SECONDS)
        except AssertionError as error:
            raise AssertionError(f"the local API {error}") from None

    def wait_for_line(self, text: str) -> str:
        """The first console line holding `text`, waiting for it if need be."""
        lines = self.wait_for(lambda output: any(text in line for line in output), repr(text))
        return next(line for line in lines if text in line)

    def functions_output(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")

    _wrapped = False

    def _under_the_wrapper(self) -> list[int]:
        """The processes of the group but its leader, a wrapper such as Debian's `faketime`."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                pid = int(stat.parent.name)
                if int(fields[2]) == self._process.pid and pid != self._process.pid:  # fields[2]: the group
                    found.append(pid)
        return found

    def stop(self) -> int:
        """SIGTERM to the server (and make, when it runs under make); its exit status.

        A wrapper is left to see its child end: Debian's `faketime` removes its semaphore and
        shared memory (named by its pid) only then, and a later wrapper that gets the same pid
        would fail on the leftovers ("sem_open: File exists").
        """
        if self._wrapped:
            for pid in self._under_the_wrapper():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=WAIT_SECONDS)
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.killpg(self._process.pid, signal.SIGTERM)
        code = self._process.wait(timeout=WAIT_SECONDS)
        self._console.join(WAIT_SECONDS)  # every line printed before the pipe closed is in `output`
        return code
