"""A broken API on loopback: a proxy in front of a real one that breaks one thing, for a suite to catch.

Every request goes to the real API (the local API of `make run`) and its
answer comes back unchanged, except what the fault changes. So a suite run
against it sees a whole, working API with exactly one defect.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

Reply = tuple[int, dict[str, str], bytes]
Fault = Callable[[str, str, Reply], Reply]
"""(method, path, the real answer) -> the answer the broken API gives."""

NOT_FOUND: Reply = (404, {"content-type": "application/json"}, b'{"message":"Not Found"}')


def lost_put_route(method: str, path: str, reply: Reply) -> Reply:
    """The PUT route is gone: API Gateway answers its own 404 for it."""
    return NOT_FOUND if method == "PUT" else reply


def off_by_one_greeting(method: str, path: str, reply: Reply) -> Reply:
    """Every greeting counts one day too many."""
    status, headers, body = reply
    if method != "GET" or status != 200:
        return reply
    body = re.sub(rb"in (\d+) day", lambda days: b"in %d day" % (int(days[1]) + 1), body)
    return status, headers, body.replace(b"Happy birthday!", b"Your birthday is in 1 day(s)")


def lost_validation(method: str, path: str, reply: Reply) -> Reply:
    """A PUT the API refuses with 400 is taken instead: 204, as if the check were gone."""
    status, headers, _ = reply
    if method == "PUT" and status == 400:
        return 204, {key: value for key, value in headers.items() if key != "content-type"}, b""
    return reply


FAULTS: dict[str, Fault] = {
    "lost PUT route": lost_put_route,
    "off-by-one greeting": off_by_one_greeting,
    "lost validation": lost_validation,
}


@contextlib.contextmanager
def faulty_api(real_url: str, fault: Fault) -> Iterator[str]:
    """The broken API's base URL, for as long as the block runs."""

    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {
                name: value for name, value in self.headers.items() if name.lower() not in {"host", "connection"}
            }
            answer = requests.request(
                self.command, real_url + self.path, data=body, headers=headers, timeout=60, allow_redirects=False
            )
            passed = {
                name.lower(): value
                for name, value in answer.headers.items()
                if name.lower() not in {"content-length", "connection", "transfer-encoding", "date", "server"}
            }
            status, out_headers, out_body = fault(self.command, self.path, (answer.status_code, passed, answer.content))
            self.send_response(status)
            for name, value in out_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(out_body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(out_body)

        do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _forward  # noqa: N815 - http.server's names

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
