"""HTTP in and out: reading a request body and mapping every error to a response, once.

Both functions build their resolver with `make_resolver()`, so the error
mapping (status, JSON body, headers) is the same whichever function answers.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import warnings
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from greeter.domain import (
    DomainError,
    InvalidDateOfBirthError,
    InvalidSmokeTestRunError,
    InvalidTimeZoneError,
    InvalidUsernameError,
    NotThatUserError,
    UserNotFoundError,
    check_token_user,
    validate_username,
)
from greeter.store import StoreMisconfiguredError, StoreUnavailableError

# Mirrored in openapi.yaml (4096, the Allow header) and template.yaml's CorsConfiguration
# (AllowMethods): tests/service/test_mirrored_values.py keeps them equal.
MAX_BODY_BYTES = 4096
ALLOWED_METHODS = "GET, PUT"
RETRY_AFTER_SECONDS = "1"
USERNAME_PARAMETER = "username"
SMOKE_TEST_RUN_FIELD = "smokeTestRun"
TIME_ZONE_FIELD = "timeZone"
DEFAULT_USERNAME_CLAIM = "username"


def username_claim(environment: Mapping[str, str]) -> str:
    """The token claim that names the user: JWT_USERNAME_CLAIM (the template's JwtUsernameClaim), else `username`."""
    return environment.get("JWT_USERNAME_CLAIM") or DEFAULT_USERNAME_CLAIM


USERNAME_CLAIM = username_claim(os.environ)

JsonResponse = Response[dict[str, str]]
logger = Logger(child=True)

# An error response publishes no business metric (API Gateway counts 4xx and 5xx);
# Powertools would warn about the empty flush on every one of them.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


class RequestError(Exception):
    """A request the API refuses before the rules see it; `status` says how."""

    status = HTTPStatus.BAD_REQUEST


class PayloadTooLargeError(RequestError):
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE


class UnsupportedMediaTypeError(RequestError):
    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE


class MalformedBodyError(RequestError):
    status = HTTPStatus.BAD_REQUEST


def path_username(event: APIGatewayProxyEventV2) -> str:
    """The username as API Gateway decoded it (the route regex sees the raw, encoded path), checked.

    Checked here, before the body is read, so a bad name is a 400 whatever the body.
    """
    return validate_username((event.path_parameters or {}).get(USERNAME_PARAMETER, ""))


def verified_claims(event: APIGatewayProxyEventV2) -> dict[str, Any] | None:
    """The claims of the token API Gateway's JWT authorizer verified, or None when no authorizer guards the route.

    API Gateway alone fills `requestContext.authorizer`: a caller shapes the
    request, never the event, so claims here were checked by the gateway.
    """
    authorizer = (event.raw_event.get("requestContext") or {}).get("authorizer") or {}
    jwt = authorizer.get("jwt") if isinstance(authorizer, dict) else None
    if not isinstance(jwt, dict):
        return None
    claims = jwt.get("claims")
    return claims if isinstance(claims, dict) else {}


def check_token_is_for(event: APIGatewayProxyEventV2, username: str) -> None:
    """On a route the JWT authorizer guards, the token must name `username` (403 otherwise); elsewhere, nothing."""
    claims = verified_claims(event)
    if claims is not None:
        check_token_user(username, claims.get(USERNAME_CLAIM))


def smoke_test_run(event: APIGatewayProxyEventV2) -> object:
    """The smoke-test run the invoker named in the event, or None for every API request.

    A top-level field of the event, which API Gateway builds itself and never
    gives one: an HTTP caller shapes the method, path, headers, query and body,
    never the event, so only a direct invoker (the smoke-test state machine) sets it.
    """
    return event.raw_event.get(SMOKE_TEST_RUN_FIELD)


def is_json_media_type(content_type: str | None) -> bool:
    """`application/json` or any `+json` type, parameters ignored; no header is accepted too."""
    if content_type is None:
        return True
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON (RFC 8259)")


def parse_json(text: str | bytes) -> Any:
    """JSON as RFC 8259 writes it: `json.loads`, but `NaN`, `Infinity` and `-Infinity` (which it accepts) are refused.

    The local API's authorizer reads tokens by the same rule (localapi.authorizer.parse_json; the deployed
    code and the local API share no module, tests/hardening/test_invalid_json.py puts both to the same documents).
    """
    return json.loads(text, parse_constant=_not_json)


def json_object_body(event: APIGatewayProxyEventV2) -> dict[str, Any]:
    """The body as a JSON object: size, then media type, then syntax.

    Base64 bodies (`isBase64Encoded`) are decoded first, so the 4 KiB limit
    applies to what the client sent.
    """
    raw = event.body or ""
    if event.is_base64_encoded:
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedBodyError("the request body is not valid base64") from None
    else:
        data = raw.encode("utf-8", errors="surrogatepass")
    if len(data) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"the request body must be at most {MAX_BODY_BYTES} bytes")
    if not is_json_media_type(event.headers.get("content-type")):
        raise UnsupportedMediaTypeError("the request body must be JSON (Content-Type: application/json)")
    try:
        document = parse_json(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise MalformedBodyError("the request body must be a JSON object") from None
    if not isinstance(document, dict):
        raise MalformedBodyError("the request body must be a JSON object")
    return document


def make_resolver() -> APIGatewayHttpResolver:
    """A resolver whose errors all follow the contract: `{"message": ...}` and the right status."""
    app = APIGatewayHttpResolver()

    def error(status: HTTPStatus, message: str, headers: dict[str, str] | None = None) -> JsonResponse:
        return Response(
            status_code=status.value,
            content_type=content_types.APPLICATION_JSON,
            body={"message": message, "requestId": app.current_event.request_context.request_id},
            headers=headers,
        )

    @app.exception_handler(RequestError)
    def request_error(exc: RequestError) -> JsonResponse:
        return error(exc.status, str(exc))

    @app.exception_handler(
        [InvalidUsernameError, InvalidDateOfBirthError, InvalidTimeZoneError, InvalidSmokeTestRunError]
    )
    def invalid_input(exc: DomainError) -> JsonResponse:
        return error(HTTPStatus.BAD_REQUEST, str(exc))

    @app.exception_handler(NotThatUserError)
    def not_that_user(exc: NotThatUserError) -> JsonResponse:
        return error(HTTPStatus.FORBIDDEN, str(exc))

    @app.exception_handler(UserNotFoundError)
    def user_not_found(exc: UserNotFoundError) -> JsonResponse:
        return error(HTTPStatus.NOT_FOUND, str(exc))

    @app.exception_handler(StoreUnavailableError)
    def store_unavailable(exc: StoreUnavailableError) -> JsonResponse:
        logger.warning("store unavailable", extra={"reason": str(exc)})
        return error(
            HTTPStatus.SERVICE_UNAVAILABLE,
            "the birthday store is busy or unreachable, please retry",
            {"Retry-After": RETRY_AFTER_SECONDS},
        )

    @app.exception_handler(StoreMisconfiguredError)
    def store_misconfigured(exc: StoreMisconfiguredError) -> JsonResponse:
        logger.error("store misconfigured", extra={"reason": str(exc)})
        return error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error")

    @app.exception_handler(Exception)
    def unexpected(exc: Exception) -> JsonResponse:
        logger.exception("unhandled error")
        return error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error")

    @app.not_found
    def no_route(_: NotFoundError) -> JsonResponse:
        # API Gateway only sends `/hello/{username}` here, so "no route" is either
        # another method (405) or a path segment the route regex refuses (400).
        event = app.current_event
        if event.request_context.http.method not in ALLOWED_METHODS.split(", "):
            return error(HTTPStatus.METHOD_NOT_ALLOWED, "only GET and PUT are allowed", {"Allow": ALLOWED_METHODS})
        if USERNAME_PARAMETER in (event.path_parameters or {}):
            path_username(event)  # raises InvalidUsernameError: the route regex refused the segment
        return error(HTTPStatus.NOT_FOUND, "Not Found")

    return app
