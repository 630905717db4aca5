"""A closed-loop HTTP load: N users, each sending its next request once the last is answered.

    python -m bench.http_load URL METHOD USERS SECONDS [BODY]

Prints one JSON object: requests answered in the measured window, requests
per second, p50 and p99 latency (ms), and the status codes. Each user keeps
one HTTP/1.1 connection (h11, the protocol library uvicorn itself uses). A
warm-up comes first and is not counted: every user must have been answered
twice, so each function has started the workers this concurrency needs (their
cold starts are the bench's cold-start figures, not these).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import h11

WARM_UP_ANSWERS = 2
WARM_UP_LIMIT_SECONDS = 300


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    warm: list[int] = field(default_factory=list)  # answers per user during the warm-up


class User:
    """One connection, one request at a time."""

    def __init__(self, host: str, port: int, method: str, target: str, body: bytes) -> None:
        self.host, self.port = host, port
        headers = [("Host", f"{host}:{port}"), ("Content-Length", str(len(body)))]
        if body:
            headers.append(("Content-Type", "application/json"))
        self._request = h11.Request(method=method, target=target, headers=headers)
        self._body = body
        self._stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._connection = h11.Connection(h11.CLIENT)

    async def send(self) -> int:
        """One request; its status code."""
        if self._stream is None or self._connection.our_state is not h11.IDLE:
            if self._stream is not None:
                self._stream[1].close()
            self._stream = await asyncio.open_connection(self.host, self.port)
            self._connection = h11.Connection(h11.CLIENT)
        reader, writer = self._stream
        connection = self._connection
        data = connection.send(self._request) or b""
        if self._body:
            data += connection.send(h11.Data(data=self._body)) or b""
        data += connection.send(h11.EndOfMessage()) or b""
        writer.write(data)
        status = 0
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                connection.receive_data(await reader.read(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionError("the server closed the connection")
        if connection.our_state is h11.DONE and connection.their_state is h11.DONE:
            connection.start_next_cycle()
        return status


async def run(url: str, method: str, users: int, seconds: float, body: bytes) -> dict[str, object]:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    tally = Tally(warm=[0] * users)
    warmed = asyncio.Event()
    window: dict[str, float] = {}

    async def user(number: int) -> None:
        client = User(parts.hostname or "127.0.0.1", parts.port or 80, method, target, body)
        while not warmed.is_set():
            await client.send()
            tally.warm[number] += 1
            if min(tally.warm) >= WARM_UP_ANSWERS and not warmed.is_set():
                window["start"] = time.perf_counter()
                window["end"] = window["start"] + seconds
                warmed.set()
        while True:
            started = time.perf_counter()
            status = await client.send()
            if started >= window["start"] and started < window["end"]:
                tally.latencies.append((time.perf_counter() - started) * 1000)
                tally.statuses[status] = tally.statuses.get(status, 0) + 1
            if started >= window["end"]:
                return

    tasks = [asyncio.create_task(user(number)) for number in range(users)]
    async with asyncio.timeout(WARM_UP_LIMIT_SECONDS):
        await warmed.wait()
    await asyncio.gather(*tasks)
    answered = len(tally.latencies)
    quantiles = statistics.quantiles(tally.latencies, n=100, method="inclusive") if answered > 1 else [0.0] * 99
    return {
        "users": users,
        "requests": answered,
        "seconds": seconds,
        "rps": answered / seconds,
        "p50_ms": quantiles[49],
        "p99_ms": quantiles[98],
        "statuses": {str(code): count for code, count in sorted(tally.statuses.items())},
    }


def main() -> None:
    url, method, users, seconds, *rest = sys.argv[1:]
    body = rest[0].encode() if rest else b""
    print(json.dumps(asyncio.run(run(url, method, int(users), float(seconds), body))))


if __name__ == "__main__":
    main()
