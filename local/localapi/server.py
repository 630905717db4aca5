"""The ASGI app: match a template route, invoke its function's worker, answer as API Gateway would."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from localapi.events import HttpRequest, HttpResponse, from_result, gateway_error, new_request_id, to_event
from localapi.template import Route
from localapi.workers import FunctionWorker, InvocationFailedError

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

access_log = logging.getLogger("localapi.access")


class LocalApi:
    def __init__(self, routes: list[Route], workers: dict[str, FunctionWorker]) -> None:
        self.routes = routes  # most specific first
        self.workers = workers

    def match(self, method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            found = route.pattern.fullmatch(raw_path)
            if found and route.method in (method, "ANY"):
                return route, found.groupdict()
        return None

    def handle(self, request: HttpRequest) -> HttpResponse:
        request_id = new_request_id()
        matched = self.match(request.method, request.raw_path)
        if matched is None:
            return gateway_error(404, "Not Found", request_id)
        route, path_parameters = matched
        event = to_event(request, route, path_parameters, request_id)
        try:
            result = self.workers[route.function_id].invoke(event, request_id)
        except InvocationFailedError as failure:
            logging.getLogger("localapi").error("%s (request %s)", failure, request_id)
            return gateway_error(500, "Internal Server Error", request_id)
        response = from_result(result)
        response.headers.append(("apigw-requestid", request_id))
        return response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        started = time.perf_counter()
        body = bytearray()
        while True:
            message = await receive()
            body.extend(message.get("body", b""))
            if not message.get("more_body"):
                break
        client = scope.get("client") or ("127.0.0.1", 0)
        request = HttpRequest(
            method=scope["method"],
            raw_path=scope.get("raw_path", scope["path"].encode()).decode("latin-1"),
            raw_query=scope.get("query_string", b"").decode("latin-1"),
            headers=[(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]],
            body=bytes(body),
            source_ip=client[0],
            protocol=f"HTTP/{scope.get('http_version', '1.1')}",
        )
        response = await asyncio.to_thread(self.handle, request)
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [(name.encode("latin-1"), value.encode("latin-1")) for name, value in response.headers],
            }
        )
        await send({"type": "http.response.body", "body": response.body})
        access_log.info(
            '%s "%s %s" %d %dB %.1fms',
            request.source_ip,
            request.method,
            request.raw_path + (f"?{request.raw_query}" if request.raw_query else ""),
            response.status,
            len(response.body),
            (time.perf_counter() - started) * 1000,
        )


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
