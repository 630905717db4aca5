"""API Gateway's HTTP API JWT authorizer, done locally: `sam local` does not emulate it (aws/aws-sam-cli#6550).

The checks are those API Gateway documents for its JWT authorizer, in its
order: a token in the identity source (the token alone or `Bearer <token>`),
decoded; an RSA signature by a key of the issuer's JWKS, found by the
token's `kid` (the JWKS URI comes from the issuer's OpenID discovery
document; the keys are cached, and fetched again for a `kid` the cache does
not know); `iss` equal to the issuer; `aud` in the audience list, or, only
when there is no `aud`, `client_id` (what Amazon Cognito access tokens
carry); `exp` after now, `nbf` and `iat` not after now. API Gateway documents
no clock leeway, so there is none here. Any failure is a 401 that the gateway
answers itself; the function never runs. The verified claims go into the
event where API Gateway puts them, each value as a string.

PyJWT does the cryptography and the registered-claim checks; this module only
says which checks and where the keys come from.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import urllib.request
from collections.abc import Mapping
from typing import Any

import jwt

from localapi.template import JwtAuthorizer, Route

ALGORITHMS = ("RS256", "RS384", "RS512")
"""API Gateway accepts only RSA-based signatures; never `none`, never an HMAC keyed with the public key."""
LEEWAY_SECONDS = 0
"""API Gateway's documented rule is exp after, nbf and iat before, the current time: no leeway."""
KEYS_CACHED_SECONDS = 2 * 60 * 60
"""API Gateway may cache an issuer's public keys for two hours; an unknown `kid` fetches them again."""
FETCH_TIMEOUT_SECONDS = 5
DISCOVERY_PATH = "/.well-known/openid-configuration"

log = logging.getLogger("localapi")


class UnauthorizedError(Exception):
    """Any reason API Gateway answers 401 {"message":"Unauthorized"}; the text is for the console only."""


def header_name(identity_source: str) -> str:
    """`$request.header.Authorization` -> `authorization`: a JWT authorizer reads one request header."""
    prefix = "$request.header."
    if not identity_source.startswith(prefix):
        raise ValueError(f"identity source {identity_source!r}: the JWT authorizer reads a request header")
    return identity_source.removeprefix(prefix).lower()


def token_from(value: str | None) -> str:
    """The token of an identity source value: the token alone, or after `Bearer ` (any other scheme is refused)."""
    if value is None or not value.strip():
        raise UnauthorizedError("no token")
    parts = value.split()
    if len(parts) == 1 and parts[0].lower() != "bearer":
        return parts[0]
    if len(parts) == 2 and parts[0].lower() == "bearer":
        return parts[1]
    raise UnauthorizedError("not a bearer token")


def claim_text(value: Any) -> str:
    """A claim as API Gateway passes it to payload 2.0 integrations: a string (lists as `[a b]`)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + " ".join(claim_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _fetch_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310 - the issuer's own URL
        return json.load(response)


class LocalJwtAuthorizer:
    """One JWT authorizer of the template, guarding the routes it names."""

    def __init__(self, config: JwtAuthorizer) -> None:
        self.config = config
        self.header = header_name(config.identity_source)
        self._lock = threading.Lock()
        self._keys: jwt.PyJWKClient | None = None

    def guards(self, route: Route) -> bool:
        return route.route_key in self.config.guarded_routes

    def _key_client(self) -> jwt.PyJWKClient:
        """The issuer's JWKS client, from its discovery document (fetched on first use, and again after a failure)."""
        with self._lock:
            if self._keys is None:
                discovery_url = self.config.issuer.rstrip("/") + DISCOVERY_PATH
                try:
                    document = _fetch_json(discovery_url)
                except (OSError, ValueError) as error:
                    raise UnauthorizedError(f"cannot read {discovery_url}: {error}") from None
                jwks_uri = document.get("jwks_uri") if isinstance(document, dict) else None
                if not isinstance(jwks_uri, str):
                    raise UnauthorizedError(f"{discovery_url} names no jwks_uri")
                # No cooldown between fetches for unknown kids (PyJWT's guard against a flood of made-up
                # kids): a developer who rotates the development key is answered at once.
                self._keys = jwt.PyJWKClient(
                    jwks_uri, lifespan=KEYS_CACHED_SECONDS, timeout=FETCH_TIMEOUT_SECONDS, cooldown_duration=0
                )
            return self._keys

    def verify(self, headers: Mapping[str, str]) -> dict[str, str]:
        """The token's claims (as strings) if API Gateway would accept it; UnauthorizedError otherwise. Blocking."""
        token = token_from(headers.get(self.header))
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") not in ALGORITHMS:
                raise UnauthorizedError(f"algorithm {header.get('alg')!r} is not RSA")
            if not isinstance(header.get("kid"), str):
                raise UnauthorizedError("no kid in the token's header")
            key = self._key_client().get_signing_key(header["kid"])
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=list(ALGORITHMS),
                issuer=self.config.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss"], "verify_aud": False},
            )
        except jwt.PyJWTError as error:
            raise UnauthorizedError(f"{type(error).__name__}: {error}") from None
        self._check_audience(claims)
        return {name: claim_text(value) for name, value in claims.items()}

    def _check_audience(self, claims: Mapping[str, Any]) -> None:
        """`aud` must name an audience; only a token without `aud` is judged by `client_id`."""
        if "aud" in claims:
            audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
            if not any(isinstance(item, str) and item in self.config.audience for item in audiences):
                raise UnauthorizedError("aud names none of the audiences")
        elif claims.get("client_id") not in self.config.audience:
            raise UnauthorizedError("neither aud nor client_id names an audience")

    async def authorize(self, headers: list[tuple[str, str]], request_id: str) -> dict[str, Any] | UnauthorizedError:
        """`requestContext.authorizer` for an accepted token, or why not (answer 401). Off the event loop."""
        joined: dict[str, str] = {}
        for name, value in headers:
            lowered = name.lower()
            joined[lowered] = f"{joined[lowered]},{value}" if lowered in joined else value
        try:
            claims = await asyncio.to_thread(self.verify, joined)
        except UnauthorizedError as refused:
            log.info("401 (request %s): %s", request_id, refused)
            return refused
        return {"jwt": {"claims": claims, "scopes": None}}

    @staticmethod
    def challenge(refused: UnauthorizedError) -> str:
        """The `www-authenticate` header API Gateway's 401 carries, its description saying what was wrong."""
        # Printable ASCII only, and short: the reason may quote a caller's token header.
        description = "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in str(refused))[:200]
        return f'Bearer scope="" error="invalid_token" error_description="{description}"'
