"""The local server's limits: what a client sends cannot hold it, grow it, or slip a request past it.

- Bodies are cut at API Gateway's 10 MB: a 413 as soon as the limit is passed,
  memory bounded whatever is sent.
- The request line and header values together are at most API Gateway's
  10,240 bytes (its HTTP API quotas); over that, 431 (the status API Gateway
  answers is not documented), however the head arrives.
- A head must be whole within HEAD_TIMEOUT_SECONDS of the connection (or of
  the previous answer): a client that never finishes it, or trickles it,
  is cut off.
- A body must be whole BODY_TIMEOUT_SECONDS after its head: else 408, and the
  connection is closed.
- A request with both Content-Length and Transfer-Encoding is answered and the
  connection closed (RFC 9112 section 6.1), so nothing sent after it on that
  connection (a smuggled request) is read.
"""

from __future__ import annotations

import json
import select
import socket
import time
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


def _answers(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (or WAIT_SECONDS pass: then the test fails)."""
    connection.settimeout(WAIT_SECONDS)
    received = b""
    while True:
        try:
            chunk = connection.recv(65536)
        except TimeoutError:
            raise AssertionError(f"the server kept the connection open; it sent {received[:300]!r}") from None
        if not chunk:
            return received
        received += chunk


API_GATEWAY_HEAD_BYTES = 10_240
"""Total combined size of request line and header values (HTTP API quotas)."""
WAIT_SECONDS = 60
"""The most a test waits for the server to close a connection; reached only when it never does."""
BODY = json.dumps({"dateOfBirth": "1990-05-10"}).encode()


def test_content_length_with_transfer_encoding_is_answered_then_the_connection_closes(api: LocalApiProcess) -> None:
    chunked = f"{len(BODY):x}\r\n".encode() + BODY + b"\r\n0\r\n\r\n"
    smuggled = b"PUT /hello/Smuggled HTTP/1.1\r\nHost: local\r\nContent-Type: application/json\r\n"
    smuggled += f"Content-Length: {len(BODY)}\r\n\r\n".encode() + BODY
    with _connect(api) as connection:
        connection.sendall(
            b"PUT /hello/Smuggler HTTP/1.1\r\nHost: local\r\nContent-Type: application/json\r\n"
            b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked + smuggled
        )
        answers = _answers(connection)
    assert answers.count(b"HTTP/1.1 ") == 1, answers  # the request after it on the connection is never read
    assert b"\r\nconnection: close\r\n" in answers.lower()
    with _connect(api) as connection:
        connection.sendall(b"GET /hello/Smuggled HTTP/1.1\r\nHost: local\r\nConnection: close\r\n\r\n")
        assert _answers(connection).startswith(b"HTTP/1.1 404 ")  # nothing was stored for it


def test_a_connection_that_never_finishes_its_request_is_closed(api: LocalApiProcess) -> None:
    """Silent, stopped mid-head, trickling its head a byte at a time, or stopped mid-body: each is cut off.

    All four at once, so the test waits for the timeouts once.
    """
    silent, stopped, trickling, short_body = _connect(api), _connect(api), _connect(api), _connect(api)
    with silent, stopped, trickling, short_body:
        stopped.sendall(b"GET /hello/bob HTTP/1.1\r\nHost: local\r\n")
        short_body.sendall(
            b"PUT /hello/Slow HTTP/1.1\r\nHost: local\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(BODY)}\r\n\r\n".encode()
            + BODY[:5]
        )
        trickle = b"GET /hello/bob HTTP/1.1\r\nX-Slow: " + b"a" * 10_000
        started = time.monotonic()
        for byte in trickle:  # one byte a second would take hours; the server must not wait for them
            try:
                trickling.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            if select.select([trickling], [], [], 0.5)[0]:
                break  # the server answered or closed
            assert time.monotonic() - started < WAIT_SECONDS, "the server kept reading a head that never ends"
        for connection in (silent, stopped, trickling):
            answer = _answers(connection)
            assert answer == b"" or answer.startswith(b"HTTP/1.1 408 "), answer
        answer = _answers(short_body)
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert answer.endswith(b'{"message":"Request Timeout"}')


def _head_of(size: int, where: str) -> bytes:
    """A GET whose request line and header values add up to `size` bytes, the excess in the path or a header."""
    line = b"GET /hello/bob HTTP/1.1"
    values = [b"local", b"close"]
    base = len(line) + sum(len(value) for value in values)
    if where == "path":
        line = b"GET /hello/bob?pad=" + b"a" * (size - base - len(b"?pad=")) + b" HTTP/1.1"
    else:
        values.append(b"a" * (size - base))
    head = line + b"\r\nHost: " + values[0] + b"\r\nConnection: " + values[1] + b"\r\n"
    if where != "path":
        head += b"X-Pad: " + values[2] + b"\r\n"
    return head + b"\r\n"


@pytest.mark.parametrize("where", ["path", "header"])
@pytest.mark.parametrize("trickled", [False, True])
def test_a_head_over_10240_bytes_is_431(api: LocalApiProcess, where: str, trickled: bool) -> None:
    head = _head_of(API_GATEWAY_HEAD_BYTES + 1, where)
    with _connect(api) as connection:
        if trickled:  # in pieces, as a slow client sends it: refused before the head is whole
            for start in range(0, len(head), 1000):
                try:
                    connection.sendall(head[start : start + 1000])
                except (BrokenPipeError, ConnectionResetError):
                    break
        else:
            connection.sendall(head)
        answer = _answers(connection)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:300]
    assert answer.endswith(b'{"message":"Request Header Fields Too Large"}')


@pytest.mark.parametrize("where", ["path", "header"])
def test_a_head_of_10240_bytes_reaches_the_function(api: LocalApiProcess, where: str) -> None:
    with _connect(api) as connection:
        connection.sendall(_head_of(API_GATEWAY_HEAD_BYTES, where))
        answer = _answers(connection)
    assert answer.startswith(b"HTTP/1.1 404 "), answer[:300]  # the function's: no birthday is stored for bob
    assert b'"requestId"' in answer


def test_the_limits_are_api_gateways() -> None:
    from localapi import server

    assert server.MAX_HEAD_BYTES == API_GATEWAY_HEAD_BYTES
    assert 0 < server.HEAD_TIMEOUT_SECONDS <= 30
    assert 0 < server.BODY_TIMEOUT_SECONDS <= 30
