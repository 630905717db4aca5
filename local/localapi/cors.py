"""CORS as an HTTP API with a CorsConfiguration does it, for the local API.

What API Gateway documents (Configure CORS for HTTP APIs): with CORS
configured it answers preflight requests itself, as long as no OPTIONS route
takes them; it adds the configured headers to an integration's answer to a
CORS request (one with an Origin header); and it ignores CORS headers the
integration returns. A preflight is an OPTIONS request with both Origin and
Access-Control-Request-Method. An origin that is not allowed gets its answer
without CORS headers, so the browser refuses it; the methods and headers a
preflight asks for are not checked here: the browser compares them with the
lists the answer gives.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from localapi.events import HttpRequest, HttpResponse
from localapi.template import SamTemplate, TemplateError

PREFLIGHT_STATUS = 204
CORS_RESPONSE_HEADERS = frozenset(
    {
        "access-control-allow-origin",
        "access-control-allow-methods",
        "access-control-allow-headers",
        "access-control-allow-credentials",
        "access-control-expose-headers",
        "access-control-max-age",
    }
)
_PROPERTIES = {"AllowOrigins", "AllowMethods", "AllowHeaders", "ExposeHeaders", "MaxAge", "AllowCredentials"}


def _header(request: HttpRequest, name: str) -> str | None:
    return next((value for key, value in request.headers if key.lower() == name), None)


@dataclass(frozen=True)
class CorsConfiguration:
    """An `AWS::Serverless::HttpApi` CorsConfiguration (the properties SAM accepts), resolved."""

    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False

    @classmethod
    def from_template(cls, template: SamTemplate) -> CorsConfiguration | None:
        value = template.http_api_cors()
        return None if value is None else cls.from_property(value)

    @classmethod
    def from_property(cls, value: Mapping[str, Any]) -> CorsConfiguration:
        unknown = sorted(set(value) - _PROPERTIES)
        if unknown:
            raise TemplateError(f"CorsConfiguration: unknown propert{'y' if len(unknown) == 1 else 'ies'} {unknown}")

        def texts(name: str) -> tuple[str, ...]:
            items = value.get(name, [])
            if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
                raise TemplateError(f"CorsConfiguration.{name} = {items!r} is not a list of strings")
            return tuple(items)

        max_age = value.get("MaxAge")
        if max_age is not None and (isinstance(max_age, bool) or not isinstance(max_age, int)):
            raise TemplateError(f"CorsConfiguration.MaxAge = {max_age!r} is not a number of seconds")
        origins = texts("AllowOrigins")
        if not origins:
            raise TemplateError("CorsConfiguration has no AllowOrigins")
        return cls(
            allow_origins=origins,
            allow_methods=texts("AllowMethods"),
            allow_headers=texts("AllowHeaders"),
            expose_headers=texts("ExposeHeaders"),
            max_age=max_age,
            allow_credentials=value.get("AllowCredentials") is True,
        )

    def describe(self) -> str:
        """One line for the banner."""
        return (
            f"CORS for {', '.join(self.allow_origins)}: preflight answered here; "
            f"methods {','.join(self.allow_methods) or '-'}, headers {','.join(self.allow_headers) or '-'}"
        )

    def allowed_origin(self, origin: str | None) -> str | None:
        """What Access-Control-Allow-Origin says for this Origin: `*`, the origin itself, or nothing."""
        if origin is None:
            return None
        if "*" in self.allow_origins:
            return "*"
        for allowed in self.allow_origins:
            # API Gateway's scheme wildcards: `https://*` is any origin that starts with https://.
            if origin == allowed or (allowed.endswith("://*") and origin.startswith(allowed[:-1])):
                return origin
        return None

    @staticmethod
    def is_preflight(request: HttpRequest) -> bool:
        return (
            request.method == "OPTIONS"
            and _header(request, "origin") is not None
            and _header(request, "access-control-request-method") is not None
        )

    def preflight(self, request: HttpRequest, request_id: str) -> HttpResponse:
        """The gateway's own answer to a preflight request; no function runs."""
        headers = [("apigw-requestid", request_id)]
        allowed = self.allowed_origin(_header(request, "origin"))
        if allowed is not None:
            headers.append(("access-control-allow-origin", allowed))
            if self.allow_credentials:
                headers.append(("access-control-allow-credentials", "true"))
            if self.allow_methods:
                headers.append(("access-control-allow-methods", ",".join(self.allow_methods)))
            if self.allow_headers:
                headers.append(("access-control-allow-headers", ",".join(self.allow_headers)))
            if self.max_age is not None:
                headers.append(("access-control-max-age", str(self.max_age)))
        return HttpResponse(PREFLIGHT_STATUS, headers, b"")

    def on_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """A function's answer as the gateway sends it: its CORS headers dropped, the configured ones added."""
        headers = [(name, value) for name, value in response.headers if name.lower() not in CORS_RESPONSE_HEADERS]
        allowed = self.allowed_origin(_header(request, "origin"))
        if allowed is not None:
            headers.append(("access-control-allow-origin", allowed))
            if self.allow_credentials:
                headers.append(("access-control-allow-credentials", "true"))
            if self.expose_headers:
                headers.append(("access-control-expose-headers", ",".join(self.expose_headers)))
            if allowed != "*":
                headers.append(("vary", "origin"))  # the answer depends on Origin: caches must not share it
        return dataclasses.replace(response, headers=headers)
