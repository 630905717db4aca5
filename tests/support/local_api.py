"""Runs `python -m localapi` as `make run` does, on a free port, and keeps everything it prints."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_LISTENING = re.compile(r"Local API listening on (http://\S+)")


class LocalApiProcess:
    """The local API in a child process; `output` holds every line it and its functions printed."""

    def __init__(self, extra_env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT / "local")])}
        env.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
        env.update(extra_env or {})
        self.output: list[str] = []
        self._process = subprocess.Popen(
            [sys.executable, "-m", "localapi", "--host", "127.0.0.1", "--port", "0", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.url = self._wait_for_url()
        threading.Thread(target=self._drain, daemon=True).start()

    def _wait_for_url(self) -> str:
        """Reads lines until the server says where it listens: no clock, so faked time cannot hang it."""
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self.output.append(line)
            found = _LISTENING.search(line)
            if found:
                return found.group(1)
        raise RuntimeError("the local API exited before listening:\n" + "".join(self.output))

    def _drain(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self.output.append(line)

    def stop(self) -> int:
        self._process.terminate()
        return self._process.wait(timeout=30)
