"""The local API in process, behind the JWT authorizer of the tests' issuer, with recording stand-ins for functions."""

from __future__ import annotations

from typing import Any

from localapi.authorizer import LocalJwtAuthorizer
from localapi.events import HttpRequest
from localapi.server import LocalApi
from localapi.template import JwtAuthorizer, Route
from tests.support.issuer import AUDIENCE, TestIssuer
from tests.support.local_api import LocalApiProcess

PUT_ROUTE = Route("PUT", "/hello/{username}", "Put")
GET_ROUTE = Route("GET", "/hello/{username}", "Get")


class RecordingPool:
    """Stands in for a function's workers: keeps every event, answers 204."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def invoke(self, event: dict[str, Any], request_id: str) -> dict[str, Any]:
        self.events.append(event)
        return {"statusCode": 204}


def authorizer_for(issuer: TestIssuer) -> LocalJwtAuthorizer:
    """The authorizer `make run` builds for JwtIssuer=<the issuer> JwtAudience=<its audience>, guarding PUT."""
    config = JwtAuthorizer(
        issuer=issuer.url,
        audience=(AUDIENCE,),
        identity_source="$request.header.Authorization",
        guarded_routes=frozenset({PUT_ROUTE.route_key}),
    )
    return LocalJwtAuthorizer(config)


def api_for(issuer: TestIssuer) -> tuple[LocalApi, dict[str, RecordingPool]]:
    pools = {"Put": RecordingPool(), "Get": RecordingPool()}
    api = LocalApi([PUT_ROUTE, GET_ROUTE], pools, authorizer=authorizer_for(issuer))  # type: ignore[arg-type]
    return api, pools


def http(method: str, authorization: str | None, path: str = "/hello/alice") -> HttpRequest:
    headers = [("content-type", "application/json")]
    if authorization is not None:
        headers.append(("Authorization", authorization))
    return HttpRequest(method, path, "", headers, b"{}", "127.0.0.1")


def guarded_local_api(issuer: TestIssuer, *parameters: str, concurrency: int = 2) -> LocalApiProcess:
    """`make run` with JwtIssuer and JwtAudience naming the tests' issuer, and `parameters` (more overrides)."""
    overrides = " ".join([f"JwtIssuer={issuer.url}", f"JwtAudience={AUDIENCE}", *parameters])
    return LocalApiProcess(args=("--parameter-overrides", overrides, "--concurrency", str(concurrency), "--no-reload"))
