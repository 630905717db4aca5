"""The local API under load: requests per second and p50/p99 at 1, 10 and 50 users, on one core and on two.

The floor is the same server answering without calling a function (an
unmatched path: API Gateway's own 404). Under it, `bench.bare_asgi`: uvicorn
with an app that only answers that 404, which shows what the local API itself
adds to every request. One local API runs as `make run`
would (the real template, the embedded store, enough workers for 50 users);
for each configuration every thread of it, its store and its workers is
pinned to the configuration's cores (sched_setaffinity, what `taskset -a -p`
does), so the workers started for the first configuration stay warm for the
next. The load (`bench.http_load`) runs pinned to the last core: on a
two-core machine it shares that core with the server in the two-core run.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localapi.template import PROJECT_ROOT

USER_LEVELS = (1, 10, 50)
SECONDS = 4.0
BODY = '{"dateOfBirth": "1990-05-10"}'
KINDS = {  # what is measured: the bare server, the floor, then each function's route
    "bare": ("GET", "/bench/floor", "", 404),
    "floor": ("GET", "/bench/floor", "", 404),
    "GET": ("GET", "/hello/benchmark", "", 200),
    "PUT": ("PUT", "/hello/Benchmark", BODY, 204),
}
_LISTENING = re.compile(r"Local API listening on (http://\S+)")
SERVING = re.compile(r"listening on (http://\S+)")
"""What bench.bare_asgi and bench.greeter_stub print once they serve."""


@dataclass(frozen=True)
class Point:
    cores: int
    kind: str
    users: int
    result: dict[str, Any]


def core_sets() -> list[list[int]]:
    """One core, then two (when the machine has them): the server's CPUs."""
    available = sorted(os.sched_getaffinity(0))
    return [available[:1], available[:2]] if len(available) > 1 else [available[:1]]


class Server:
    """A server process this bench started, its console kept; `pin` moves it (and all under it) to some cores."""

    def __init__(self, command: list[str], env: dict[str, str], ready: re.Pattern[str]) -> None:
        self._process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self._lines = self._process.stdout or io.StringIO()
        self.output: list[str] = []
        for line in self._lines:  # no clock: the server says when it serves
            self.output.append(line)
            found = ready.search(line)
            if found:
                self.url = found.group(1)
                break
        else:
            raise RuntimeError(f"{command[2]} did not start:\n" + "".join(self.output))
        threading.Thread(target=self._drain, daemon=True).start()

    @classmethod
    def local_api(cls, concurrency: int, log_file: Path) -> Server:
        """`python -m localapi` as `make run` starts it, with enough workers for the most users."""
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "src"), str(PROJECT_ROOT / "local")])}
        env.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
        command = [sys.executable, "-m", "localapi", "--host", "127.0.0.1", "--port", "0", "--no-reload"]
        command += ["--concurrency", str(concurrency), "--log-file", str(log_file)]
        return cls(command, env, _LISTENING)

    @classmethod
    def bare(cls) -> Server:
        """`python -m bench.bare_asgi` on a free port (uvicorn binds its own socket, as `uvicorn.run` does)."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        return cls([sys.executable, "-m", "bench.bare_asgi", str(port)], dict(os.environ), SERVING)

    @classmethod
    def greeter_stub(cls) -> Server:
        """`python -m bench.greeter_stub` on a free port: answers the load test's workload right, and fast."""
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "src"), str(PROJECT_ROOT)])}
        return cls([sys.executable, "-m", "bench.greeter_stub", "0"], env, SERVING)

    @property
    def pid(self) -> int:
        return self._process.pid

    def _drain(self) -> None:
        self.output.extend(self._lines)

    def pin(self, cpus: list[int]) -> None:
        """Every thread of the server and of every process under it, on `cpus` (new ones inherit it)."""
        for pid in _tree(self._process.pid):
            for task in Path(f"/proc/{pid}/task").iterdir():
                with contextlib.suppress(ProcessLookupError):  # a thread that just ended
                    os.sched_setaffinity(int(task.name), cpus)

    def stop(self) -> None:
        self._process.send_signal(signal.SIGTERM)
        self._process.wait(timeout=60)


def _tree(pid: int) -> list[int]:
    """`pid` and every process under it."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children += [int(child) for child in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return [pid] + [descendant for child in children for descendant in _tree(child)]


def load(url: str, kind: str, users: int, seconds: float, cpu: int) -> dict[str, Any]:
    method, path, body, expected = KINDS[kind]
    command = ["taskset", "-c", str(cpu), sys.executable, "-m", "bench.http_load", url + path, method, str(users)]
    command += [str(seconds), *([body] if body else [])]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    if set(result["statuses"]) != {str(expected)}:
        raise RuntimeError(f"{kind} at {users} users answered {result['statuses']}, expected only {expected}")
    return result


def measure(levels: tuple[int, ...] = USER_LEVELS, seconds: float = SECONDS) -> list[Point]:
    """Every kind at every level of users, on two cores (when there are two), then on one."""
    points = []
    client_cpu = sorted(os.sched_getaffinity(0))[-1]
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as scratch:
        api = Server.local_api(max(levels), Path(scratch) / "functions.log")
        bare = Server.bare()
        try:
            request = urllib.request.Request(  # noqa: S310 - the local API just started, on loopback
                api.url + KINDS["PUT"][1],
                data=BODY.encode(),
                method="PUT",
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
                if answer.status != 204:
                    raise RuntimeError(f"storing the benchmark's user answered {answer.status}")
            for cpus in reversed(core_sets()):
                api.pin(cpus)
                bare.pin(cpus)
                for kind in KINDS:
                    for users in levels:
                        print(f"  local API on {len(cpus)} core(s): {kind}, {users} user(s)", flush=True)
                        url = bare.url if kind == "bare" else api.url
                        points.append(Point(len(cpus), kind, users, load(url, kind, users, seconds, client_cpu)))
        finally:
            api.stop()
            bare.stop()
    return points
