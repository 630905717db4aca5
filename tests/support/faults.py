"""Misbehaving DynamoDB endpoints on loopback, for the client to be pointed at.

Each is a real socket, so botocore's own timeouts, retries and error parsing
run as they would against AWS; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DYNAMODB_ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"


class Endpoint:
    """Where the fault answers; `attempts` counts the requests (or connections) that reached it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.attempts = 0
        self._lock = threading.Lock()

    def count(self) -> None:
        with self._lock:
            self.attempts += 1


@contextlib.contextmanager
def answering(status: int, code: str) -> Iterator[Endpoint]:
    """An HTTP server that answers every request with DynamoDB's JSON error `code` and `status`."""
    endpoint = Endpoint("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            endpoint.count()
            body = json.dumps({"__type": DYNAMODB_ERROR_PREFIX + code, "message": f"{code} (a fake, for tests)"})
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def never_answering() -> Iterator[Endpoint]:
    """Accepts connections and reads nothing back: the client's read timeout fires."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=16)
    endpoint = Endpoint(f"http://127.0.0.1:{listener.getsockname()[1]}")
    held: list[socket.socket] = []
    stop = threading.Event()

    def hold() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(connection)
            endpoint.count()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


@contextlib.contextmanager
def not_accepting_connections(probe_timeout: float = 0.2) -> Iterator[Endpoint]:
    """A listener whose accept queue is full: Linux drops new SYNs, so connecting times out.

    The queue of a `listen(0)` socket that never accepts fills after a connection
    or two; filling stops once a probe cannot connect within `probe_timeout`.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    address = listener.getsockname()
    fillers: list[socket.socket] = []
    try:
        for _ in range(16):
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probe.settimeout(probe_timeout)
            try:
                probe.connect(address)
            except TimeoutError:
                probe.close()
                break
            fillers.append(probe)
        else:
            raise RuntimeError("could not fill the accept queue: connecting never timed out")
        yield Endpoint(f"http://{address[0]}:{address[1]}")
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


@contextlib.contextmanager
def refusing_connections() -> Iterator[Endpoint]:
    """A loopback port nothing listens on: every connect is refused at once."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    yield Endpoint(f"http://127.0.0.1:{port}")
