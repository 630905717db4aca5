"""`make sam-local` (or `python -m samlocal serve`) in a child process, as a developer runs it in a terminal.

The child gets a session of its own, so `interrupt()` is what Ctrl-C at a
terminal does: SIGINT to every process of the foreground group (make and
the Python underneath it).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
from collections.abc import Callable
from typing import Any

import pytest

from samlocal.images import EngineUnavailableError, Images, ProvisioningError, engine, resolve
from tests.support.paths import ROOT

_LISTENING = re.compile(r"SAM local API listening on (http://\S+)")
_NETWORK = re.compile(r"Docker network (\S+);")
REQUIRED_VARIABLE = "GREETER_REQUIRE_SAM_LOCAL"
STOP_TIMEOUT_SECONDS = 120  # SAM gets 30 s to stop its containers; this only bounds a hung test


def on_docker[T](need: str, prepare: Callable[[Any], T]) -> tuple[Any, T]:
    """The engine and what `prepare` makes of it; otherwise a skip that says why (a failure when CI requires them)."""
    try:
        client = engine()
        return client, prepare(client)
    except (EngineUnavailableError, ProvisioningError) as error:
        reason = f"{need}: {error}"
        if os.environ.get(REQUIRED_VARIABLE) == "1":
            pytest.fail(f"{reason} ({REQUIRED_VARIABLE}=1, as .ci/run sets it, forbids skipping)")
        pytest.skip(reason)


def engine_and_images() -> tuple[Any, Images]:
    """The engine and the provisioned images; otherwise a skip that says why (a failure when CI requires them)."""
    return on_docker("sam local tests need a Docker engine with the images provisioned", resolve)


class SamLocalProcess:
    """A running `make sam-local`; `output` holds every line it printed (SAM's included)."""

    def __init__(self, command: list[str], env: dict[str, str] | None = None) -> None:
        self.output: list[str] = []
        self._process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT / "local")]), **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.url, self.network = self._wait_until_listening()
        self._drain = threading.Thread(target=self._read_the_rest, daemon=True)
        self._drain.start()

    def _wait_until_listening(self) -> tuple[str, str]:
        """Reads lines until it says where it listens (no clock: a slow machine only takes longer)."""
        assert self._process.stdout is not None
        url = ""
        for line in self._process.stdout:
            self.output.append(line)
            if found := _LISTENING.search(line):
                url = found.group(1)
            if url and (found := _NETWORK.search(line)):
                return url, found.group(1)
        self._process.wait()
        raise RuntimeError(f"make sam-local exited ({self._process.returncode}) before serving:\n{self.text}")

    def _read_the_rest(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self.output.append(line)

    @property
    def text(self) -> str:
        return "".join(self.output)

    def _signal_and_wait(self, send: Any) -> int:
        if self._process.poll() is None:
            send()
        returncode = self._process.wait(timeout=STOP_TIMEOUT_SECONDS)
        self._drain.join(timeout=STOP_TIMEOUT_SECONDS)
        return returncode

    def interrupt(self) -> int:
        """Ctrl-C: SIGINT to the whole process group, as a terminal sends it."""
        return self._signal_and_wait(lambda: os.killpg(self._process.pid, signal.SIGINT))

    def terminate(self) -> int:
        """SIGTERM to the process started (make, or the Python module), as `kill` sends it."""
        return self._signal_and_wait(self._process.terminate)
