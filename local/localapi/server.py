"""The ASGI app: match a template route, invoke its function's pool, answer as API Gateway would."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

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
        try:
            body = await _read_body(headers, receive)
        except _ClientGoneError:
            return
        except _PayloadTooLargeError:
            body = None
        request = HttpRequest(
            method=scope["method"],
            raw_path=scope.get("raw_path", scope["path"].encode()).decode("latin-1"),
            raw_query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body or b"",
            source_ip=client[0],
            protocol=f"HTTP/{scope.get('http_version', '1.1')}",
        )
        if body is None:
            response = gateway_error(413, "Request Entity Too Large", request_id)
        else:
            response = await self.handle(request, request_id)
        # Logged before the answer leaves: whoever has the answer can find its line.
        access_log.info(
            '%s "%s %s" %d %dB %.1fms',
            request.source_ip,
            request.method,
            request.raw_path + (f"?{request.raw_query}" if request.raw_query else ""),
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
