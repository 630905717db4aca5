"""The ASGI app: match a template route, invoke its function's pool, answer as API Gateway would.

And the HTTP/1.1 protocol it is served with (`HttpProtocol`, uvicorn's h11
protocol with a deadline for every request head): what a client sends can
neither hold a connection forever nor slip a request past the limits.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import Awaitable, Callable, MutableMapping
from http import HTTPStatus
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from localapi.authorizer import LocalJwtAuthorizer, UnauthorizedError
from localapi.cors import CorsConfiguration
from localapi.events import HttpRequest, HttpResponse, from_result, gateway_error, new_request_id, to_event
from localapi.template import Route
from localapi.workers import FunctionPool, InvocationFailedError, ThrottledError

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
"""API Gateway refuses request bodies over 10 MB before any integration runs."""
MAX_HEAD_BYTES = 10_240
"""API Gateway's "total combined size of request line and header values" (HTTP API quotas); more is refused
with 431 here (the status API Gateway answers is not documented)."""
MAX_RAW_HEAD_BYTES = 2 * MAX_HEAD_BYTES
"""What the server holds of a head, names and separators included (h11's buffer), before refusing it with 431:
the bound on memory while a head arrives, applied to whole heads too so the answer does not depend on how the
head was cut into packets. Local only: AWS documents no such figure."""
HEAD_TIMEOUT_SECONDS = 10
"""How long a connection may take to send a request's whole head, from its opening or from the previous answer
(AWS documents no figure; uvicorn has no such setting): then 408, or a silent close if nothing came at all."""
BODY_TIMEOUT_SECONDS = 10
"""How long a request's body may take to arrive whole once its head has: then 408 and the connection closes
(AWS documents no figure; uvicorn has no such setting)."""
LOGGED_TARGET_CHARS = 512
"""The console shows this much of a request target (the rest is counted, not printed)."""

access_log = logging.getLogger("localapi.access")
log = logging.getLogger("localapi")


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket for uvicorn, bound before anything else starts (a busy port stops us first).

    Made with proto=IPPROTO_TCP, as `loop.create_server(host, port)` makes its
    own: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets that
    say they are TCP. Without it a keep-alive client waits about 40 ms for every
    answer after the first (the answer's head and body are two writes, and the
    second waits for the client's delayed ACK). `socket.create_server` says proto 0.
    """
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)[
        0
    ]
    listener = socket.socket(family, kind, proto)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(2048)
    except OSError:
        listener.close()
        raise
    return listener


class _PayloadTooLargeError(Exception):
    pass


class _ClientGoneError(Exception):
    pass


class LocalApi:
    def __init__(
        self,
        routes: list[Route],
        pools: dict[str, FunctionPool],
        on_ready: Callable[[], None] | None = None,
        cors: CorsConfiguration | None = None,
        authorizer: LocalJwtAuthorizer | None = None,
    ) -> None:
        self.routes = routes  # most specific first
        self.pools = pools
        self._on_ready = on_ready
        self.cors = cors  # the HTTP API's CorsConfiguration; None: no CORS
        self.authorizer = authorizer  # the template's JWT authorizer, if its parameters are set

    def match(self, method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            found = route.pattern.fullmatch(raw_path)
            if found and route.method in (method, "ANY"):
                return route, found.groupdict()
        return None

    async def handle(self, request: HttpRequest, request_id: str | None = None) -> HttpResponse:
        request_id = request_id or new_request_id()
        if self.cors is not None and self.cors.is_preflight(request):
            return self.cors.preflight(request, request_id)
        matched = self.match(request.method, request.raw_path)
        if matched is None:
            return gateway_error(404, "Not Found", request_id)
        route, path_parameters = matched
        event = to_event(request, route, path_parameters, request_id)
        if self.authorizer is not None and self.authorizer.guards(route):
            # As API Gateway: the token is checked before the function runs, and its claims travel in the event.
            authorized = await self.authorizer.authorize(request.headers, request_id)
            if isinstance(authorized, UnauthorizedError):
                refused = gateway_error(401, "Unauthorized", request_id)
                refused.headers.append(("www-authenticate", self.authorizer.challenge(authorized)))
                return refused
            event["requestContext"]["authorizer"] = authorized
        try:
            result = await self.pools[route.function_id].invoke(event, request_id)
        except ThrottledError:
            return gateway_error(429, "Too Many Requests", request_id)
        except InvocationFailedError as failure:
            log.error("%s (request %s)", failure, request_id)
            return gateway_error(500, "Internal Server Error", request_id)
        response = from_result(result)
        response.headers.append(("apigw-requestid", request_id))
        return response if self.cors is None else self.cors.on_response(request, response)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        started = time.perf_counter()
        client = scope.get("client") or ("127.0.0.1", 0)
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]]
        request_id = new_request_id()
        too_large_head = _head_too_large(scope)
        timed_out = False
        try:
            async with asyncio.timeout(BODY_TIMEOUT_SECONDS):
                body = b"" if too_large_head else await _read_body(headers, receive)
        except _ClientGoneError:
            return
        except _PayloadTooLargeError:
            body = None
        except TimeoutError:
            body, timed_out = b"", True
        request = HttpRequest(
            method=scope["method"],
            raw_path=scope.get("raw_path", scope["path"].encode()).decode("latin-1"),
            raw_query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body or b"",
            source_ip=client[0],
            protocol=f"HTTP/{scope.get('http_version', '1.1')}",
        )
        if too_large_head:
            response = gateway_error(431, "Request Header Fields Too Large", request_id)
        elif timed_out:
            response = gateway_error(408, "Request Timeout", request_id)
        elif body is None:
            response = gateway_error(413, "Request Entity Too Large", request_id)
        else:
            response = await self.handle(request, request_id)
        if too_large_head or timed_out or _is_framed_twice(headers):
            # RFC 9112 section 6.1: a request with both Content-Length and Transfer-Encoding (h11 reads it by the
            # latter) is answered, then the connection is closed: what follows on it is never read as a request.
            response.headers.append(("connection", "close"))
        target = request.raw_path + (f"?{request.raw_query}" if request.raw_query else "")
        if len(target) > LOGGED_TARGET_CHARS:
            target = f"{target[:LOGGED_TARGET_CHARS]}... ({len(target)} characters)"
        # Logged before the answer leaves: whoever has the answer can find its line.
        access_log.info(
            '%s "%s %s" %d %dB %.1fms',
            request.source_ip,
            request.method,
            target,
            response.status,
            len(response.body),
            (time.perf_counter() - started) * 1000,
        )
        headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in response.headers]
        if response.status not in (204, 304) and not any(name == "content-length" for name, _ in response.headers):
            headers.append((b"content-length", str(len(response.body)).encode()))  # as API Gateway sends it
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await asyncio.gather(*(pool.warm_up() for pool in self.pools.values()))
                if self._on_ready:
                    self._on_ready()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await asyncio.gather(*(pool.aclose() for pool in self.pools.values()))
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _read_body(headers: list[tuple[str, str]], receive: Receive) -> bytes:
    """The request body, read as it arrives and given up as soon as it passes API Gateway's limit.

    Memory stays bounded whatever the client sends: the server stops reading,
    and uvicorn stops reading the socket once its small buffer is full.
    """
    declared = next((value for name, value in headers if name.lower() == "content-length"), None)
    if declared is not None and declared.isdigit() and int(declared) > MAX_PAYLOAD_BYTES:
        raise _PayloadTooLargeError
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGoneError
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_PAYLOAD_BYTES:
            raise _PayloadTooLargeError
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _head_too_large(scope: Scope) -> bool:
    """The request line and header values are over API Gateway's limit (or the whole head over what is held)."""
    target = len(scope.get("raw_path", b"")) + (len(scope["query_string"]) + 1 if scope.get("query_string") else 0)
    line = len(scope["method"]) + 1 + target + len(" HTTP/1.1")
    values = sum(len(value) for _, value in scope["headers"])
    raw = line + 2 + sum(len(name) + 2 + len(value) + 2 for name, value in scope["headers"]) + 2
    return line + values > MAX_HEAD_BYTES or raw > MAX_RAW_HEAD_BYTES


def _is_framed_twice(headers: list[tuple[str, str]]) -> bool:
    names = {name.lower() for name, _ in headers}
    return "content-length" in names and "transfer-encoding" in names


class HttpProtocol(H11Protocol):
    """uvicorn's h11 protocol, with a deadline for each request's head and the gateway's JSON for a bad one.

    uvicorn times out only idle keep-alive connections (after an answer): a connection
    that never sends a whole head, or trickles it, would be held forever. Here the head
    must be whole HEAD_TIMEOUT_SECONDS after the connection opens (or the previous answer
    leaves). A head h11 cannot parse, or that outgrows its buffer (uvicorn's
    `h11_max_incomplete_event_size`, set to MAX_RAW_HEAD_BYTES), is answered in JSON.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_a_head()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self._await_a_head()  # the next request has begun (or not): its head is due by the deadline
        else:
            self._head_arrived()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_arrived()
        super().connection_lost(exc)

    def _await_a_head(self) -> None:
        if self._head_deadline is None:
            self._head_deadline = self.loop.call_later(HEAD_TIMEOUT_SECONDS, self._head_timed_out)

    def _head_arrived(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_timed_out(self) -> None:
        self._head_deadline = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        received = len(self.conn.trailing_data[0])
        if received and self.conn.our_state is h11.IDLE:
            log.info(
                "%s: no whole request head within %d s (%d bytes): 408", self._who(), HEAD_TIMEOUT_SECONDS, received
            )
            self._answer(408, "Request Timeout")
        else:
            self.transport.close()  # nothing came at all (or an answer was already sent): no one to tell

    def send_400_response(self, msg: str) -> None:
        """h11 refused the head: 431 when it outgrew the buffer, else 400; JSON as the gateway's own errors."""
        if len(self.conn.trailing_data[0]) > MAX_RAW_HEAD_BYTES:
            log.info("%s: a request head of more than %d bytes: 431", self._who(), MAX_RAW_HEAD_BYTES)
            self._answer(431, "Request Header Fields Too Large")
        else:  # uvicorn has said "Invalid HTTP request received."
            self._answer(400, "Bad Request")

    def _answer(self, status: int, message: str) -> None:
        """One of the gateway's JSON errors, then the connection closes."""
        self._head_arrived()
        body = json.dumps({"message": message}, separators=(",", ":")).encode()
        headers = [
            ("content-type", "application/json"),
            ("content-length", str(len(body))),
            ("apigw-requestid", new_request_id()),
            ("connection", "close"),
        ]
        try:
            head = h11.Response(status_code=status, headers=headers, reason=HTTPStatus(status).phrase)
            for event in (head, h11.Data(data=body), h11.EndOfMessage()):
                self.transport.write(self.conn.send(event) or b"")
        except h11.LocalProtocolError:
            pass  # an answer had already begun on this connection: closing is all that is left
        self.transport.close()

    def _who(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
