"""A server that answers the load test's workload right, and cheaply: the load generator's floor.

    python -m bench.greeter_stub PORT     (0: a free port; prints its URL once it serves)

PUT /hello/<name> {"dateOfBirth": ...} stores the date under the lower-cased name and answers
204; GET /hello/<name> answers 200 and the greeting for the stored date (greeter.domain's rule,
in UTC). One process, asyncio, HTTP/1.1 keep-alive, no framework: a few tens of microseconds a
request, so a load generator in front of it measures itself, not the server. Only what the
workload sends is understood; anything else is a 400.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, date, datetime

from greeter.domain import days_until_birthday

_NO_CONTENT = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n"
_BAD = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"
_PREFIX = b"/hello/"


def greeting(name: str, born: date, today: date) -> bytes:
    days = days_until_birthday(born, today)
    text = f"Hello, {name}! Happy birthday!" if days == 0 else f"Hello, {name}! Your birthday is in {days} day(s)"
    body = json.dumps({"message": text}).encode()
    head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    return head.encode() + body


class Greeter(asyncio.Protocol):
    births: dict[str, date] = {}  # noqa: RUF012 - one store for every connection of the process

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                key, _, value = line.partition(":")
                if key.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(self.answer(head.split(" ", 2), body))

    def answer(self, request_line: list[str], body: bytes) -> bytes:
        method, target = request_line[0], request_line[1].encode()
        if not target.startswith(_PREFIX):
            return _BAD
        name = target[len(_PREFIX) :].decode()
        if method == "PUT":
            self.births[name.lower()] = date.fromisoformat(json.loads(body)["dateOfBirth"])
            return _NO_CONTENT
        born = self.births.get(name.lower())
        if method != "GET" or born is None:
            return _BAD
        return greeting(name, born, datetime.now(UTC).date())


async def serve(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(Greeter, "127.0.0.1", port)
    print(f"listening on http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
