"""Bodies are cut at API Gateway's 10 MB: a 413 as soon as the limit is passed, memory bounded whatever is sent."""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from localapi.server import MAX_PAYLOAD_BYTES
from tests.support.local_api import LocalApiProcess

pytestmark = pytest.mark.integration
CHUNK = 1024 * 1024
OFFERED = 100 * CHUNK  # what a client tries to send: ten times the limit
MEMORY_SLACK_KB = 40 * 1024  # the limit itself may be buffered once; a whole 100 MB body may not


@pytest.fixture(scope="module")
def api() -> Iterator[LocalApiProcess]:
    process = LocalApiProcess(args=("--no-reload",))
    yield process
    assert process.stop() == 0


def _peak_rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def _connect(api: LocalApiProcess) -> socket.socket:
    address = urlsplit(api.url)
    return socket.create_connection((address.hostname, address.port), timeout=60)


def _response(connection: socket.socket) -> bytes:
    """One whole answer: the head, then as many body bytes as its Content-Length says."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(65536)
        if not chunk:
            return received
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0
    )
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def test_a_declared_length_over_the_limit_is_refused_before_any_body_is_sent(api: LocalApiProcess) -> None:
    with _connect(api) as connection:
        connection.sendall(
            b"PUT /hello/Big HTTP/1.1\r\nHost: local\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {OFFERED}\r\n\r\n".encode()
        )
        answer = _response(connection)  # no body byte was sent: the answer cannot have waited for one
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b'{"message":"Request Entity Too Large"}' in answer


def test_a_streamed_body_is_answered_once_past_the_limit_and_the_server_does_not_grow(api: LocalApiProcess) -> None:
    before = _peak_rss_kb(api.pid)
    sent = 0
    with _connect(api) as connection:
        connection.sendall(
            b"PUT /hello/Big HTTP/1.1\r\nHost: local\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        piece = f"{CHUNK:x}\r\n".encode() + b"x" * CHUNK + b"\r\n"
        answered = False
        while sent < OFFERED and not answered:
            try:
                connection.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break  # the server answered and closed
            sent += CHUNK
            answered = bool(select.select([connection], [], [], 0)[0])  # has the answer started to arrive?
        answer = _response(connection)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b'{"message":"Request Entity Too Large"}' in answer
    assert sent <= MAX_PAYLOAD_BYTES + 16 * CHUNK  # answered at the limit (plus what the sockets buffer), not at 100 MB
    assert _peak_rss_kb(api.pid) - before < MEMORY_SLACK_KB


def test_a_body_at_the_limit_still_reaches_the_function(api: LocalApiProcess) -> None:
    """10 MB exactly passes the gateway; the function itself refuses more than 4 KiB (SPEC)."""
    with _connect(api) as connection:
        head = b"PUT /hello/Big HTTP/1.1\r\nHost: local\r\nContent-Type: application/json\r\n"
        connection.sendall(head + f"Content-Length: {MAX_PAYLOAD_BYTES}\r\n\r\n".encode() + b" " * MAX_PAYLOAD_BYTES)
        answer = _response(connection)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b'"requestId"' in answer  # the function's own 413 (its body names the request), not the gateway's
