"""`make sam-local-timings`: how long `make sam-local` takes to start and to answer, next to `make run`.

Both are started the way their make targets start them, on free ports, and
get the same requests: a PUT and a GET (each function's first request: a
cold start under SAM), then sequential warm GETs. `make run` is the floor:
the same handlers in a local process, so the ratio is what SAM's emulation
(Flask, the emulator, a container per function) costs. Figures from one
machine are only comparable within one run.
"""

from __future__ import annotations

import collections
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import requests

from localapi.template import PROJECT_ROOT

TIMEOUT = 120  # bounds a hung request only
_LISTENING = re.compile(r"(?:Local API|SAM local API) listening on (http://\S+)")


@contextmanager
def started(command: list[str]) -> Iterator[tuple[str, float]]:
    """The server's URL and how long it took to say it listens; stopped with SIGTERM afterwards."""
    began = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        lines = iter(process.stdout or ())
        for line in lines:
            if found := _LISTENING.search(line):
                url, took = found.group(1), time.perf_counter() - began
                break
        else:
            raise RuntimeError(f"{' '.join(command)} exited ({process.wait()}) before listening")
        threading.Thread(target=collections.deque, args=(lines, 0), daemon=True).start()  # keep the pipe flowing
        yield url, took
    finally:
        process.terminate()
        process.wait(timeout=TIMEOUT)


def _timed(method: str, url: str, **kwargs: object) -> float:
    began = time.perf_counter()
    response = requests.request(method, url, timeout=TIMEOUT, **kwargs)  # type: ignore[arg-type]
    took = time.perf_counter() - began
    if response.status_code not in {200, 204}:
        raise RuntimeError(f"{method} {url} answered {response.status_code}: {response.text}")
    return took * 1000


def measure(url: str, warm_requests: int) -> dict[str, float]:
    user = f"{url}/hello/Timings"
    first_put = _timed("PUT", user, json={"dateOfBirth": "1990-05-10"})
    first_get = _timed("GET", user)
    warm = sorted(_timed("GET", user) for _ in range(warm_requests))
    return {
        "first PUT ms": first_put,
        "first GET ms": first_get,
        "warm GET p50 ms": statistics.median(warm),
        "warm GET p90 ms": warm[int(0.9 * (len(warm) - 1))],
        # SAM waits up to 1 s for the function's REPORT log line and often misses it (docs/local-development.md).
        "warm GETs >= 1 s": float(sum(1 for took in warm if took >= 1000)),
    }


def main(warm_requests: int = 30) -> int:
    python = sys.executable
    with started([python, "-m", "localapi", "--host", "127.0.0.1", "--port", "0"]) as (url, startup):
        floor = {"start s": startup, **measure(url, warm_requests)}
    with started([python, "-m", "samlocal", "serve", "--host", "127.0.0.1", "--port", "0"]) as (url, startup):
        sam = {"start s": startup, **measure(url, warm_requests)}
    print(f"{'':<18}{'make run':>12}{'make sam-local':>16}{'ratio':>8}   ({warm_requests} warm GETs each)")
    for name, value in floor.items():
        ratio = f"{sam[name] / value:>8.1f}" if value else ""
        print(f"{name:<18}{value:>12.1f}{sam[name]:>16.1f}{ratio}")
    return 0
