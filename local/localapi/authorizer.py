"""API Gateway's HTTP API JWT authorizer, done locally: `sam local` does not emulate it (aws/aws-sam-cli#6550).

The checks are those API Gateway documents for its JWT authorizer, in its
order: a token in the identity source (the token alone or `Bearer <token>`),
decoded; an RSA signature by a key of the issuer's JWKS, found by the
token's `kid` (the JWKS URI comes from the issuer's OpenID discovery
document); `iss` equal to the issuer; `aud` in the audience list, or, only
when there is no `aud`, `client_id` (what Amazon Cognito access tokens
carry); `exp` after now, `nbf` and `iat` not after now. API Gateway documents
no clock leeway, so there is none here. Any failure is a 401 that the gateway
answers itself; the function never runs. The verified claims go into the
event where API Gateway puts them, each value as a string.

The issuer is read within API Gateway's documented limits (its HTTP API
quotas: 1,500 ms for the discovery document and for the JWKS, at most
150,000 bytes of JWKS). The keys are cached; a token whose `kid` they lack
fetches the JWKS again, at most once per REFETCH_COOLDOWN_SECONDS (a flood of
made-up kids costs the issuer one request per cooldown), a JWKS that failed is
not read again before the cooldown either, and a token whose key is cached is
checked at once, on the event loop, never behind a fetch.

PyJWT does the cryptography, the registered-claim checks and the key cache;
this module says which checks, where the keys come from and how they are read.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
import urllib.request
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jwt
from jwt.utils import base64url_decode

from localapi.template import JwtAuthorizer, Route

ALGORITHMS = ("RS256", "RS384", "RS512")
"""API Gateway accepts only RSA-based signatures; never `none`, never an HMAC keyed with the public key."""
LEEWAY_SECONDS = 0
"""API Gateway's documented rule is exp after, nbf and iat before, the current time: no leeway."""
KEYS_CACHED_SECONDS = 2 * 60 * 60
"""API Gateway may cache an issuer's public keys for two hours; an unknown `kid` fetches them again."""
FETCH_TIMEOUT_SECONDS = 1.5
"""API Gateway's timeout for the OpenID discovery document and for the JWKS (HTTP API quotas)."""
MAX_JWKS_BYTES = 150_000
"""API Gateway's limit on the JWKS response (HTTP API quotas); the discovery document is held to it too
(AWS documents no size for it)."""
REFETCH_COOLDOWN_SECONDS = 10
"""After fetching the JWKS for an unknown `kid` (or failing to), unknown kids are refused without a fetch
for this long. AWS documents no figure; the first unknown kid after a quiet spell (a rotated key) is
fetched at once."""
DISCOVERY_PATH = "/.well-known/openid-configuration"

log = logging.getLogger("localapi")


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON (RFC 8259)")


def parse_json(text: str | bytes) -> Any:
    """JSON as RFC 8259 writes it: `json.loads`, but `NaN`, `Infinity` and `-Infinity` (which it accepts) are refused.

    What the local API reads of what it is sent (tokens, the issuer's documents) is read by this rule,
    the one the function reads bodies by (greeter.transport.parse_json; tests/hardening/test_invalid_json.py).
    """
    return json.loads(text, parse_constant=_not_json)


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
    """A claim as API Gateway passes it to payload 2.0 integrations: a string (lists as `[a b]`).

    How API Gateway renders a claim that is not a string is not documented. Never as a username
    it did not hold: a number too large for a double is `+Inf` (Go's spelling), not Python's `inf`;
    a null claim is left out of the claims (see `claims_text`).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and not math.isfinite(value):
        return "+Inf" if value > 0 else "-Inf"
    if isinstance(value, list):
        return "[" + " ".join(claim_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def claims_text(claims: Mapping[str, Any]) -> dict[str, str]:
    """Every claim as a string, as the event carries them; a null claim is left out (it names nothing)."""
    return {name: claim_text(value) for name, value in claims.items() if value is not None}


class _TooLargeError(ValueError):
    pass


def read_document(url: str, opener: urllib.request.OpenerDirector | None = None) -> Any:
    """One of the issuer's JSON documents, read as API Gateway reads them: within FETCH_TIMEOUT_SECONDS, at most
    MAX_JWKS_BYTES, strict JSON. OSError (TimeoutError among them) or ValueError otherwise.

    The timeout bounds each wait for the issuer, and the whole read is abandoned once it has taken that long.
    """
    deadline = time.monotonic() + FETCH_TIMEOUT_SECONDS
    with (opener or urllib.request.build_opener()).open(url, timeout=FETCH_TIMEOUT_SECONDS) as response:
        body = b""
        while chunk := response.read1(65536):
            body += chunk
            if len(body) > MAX_JWKS_BYTES:
                raise _TooLargeError(f"{url} is larger than {MAX_JWKS_BYTES} bytes")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} took more than {FETCH_TIMEOUT_SECONDS} s")
    return parse_json(body)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """The JWKS is read where the discovery document says, not where a redirect points (as PyJWT reads it)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class _Keys(jwt.PyJWKClient):
    """PyJWT's JWKS client (its cache and lifespan), reading the JWKS as `read_document` does.

    A cached key is found without the lock a fetch holds; an unknown kid fetches at most once per cooldown.
    """

    def __init__(self, uri: str) -> None:
        super().__init__(uri, lifespan=KEYS_CACHED_SECONDS, timeout=FETCH_TIMEOUT_SECONDS, cooldown_duration=0)
        self._last_refetch: float | None = None
        self._failed_at: float | None = None

    def fetch_data(self) -> Any:
        """The JWKS, read again; after a failed read, refused without reading for REFETCH_COOLDOWN_SECONDS.

        A JWKS that is down or unusable would otherwise be read again by every token (with nothing
        cached each needs it), each read waiting up to FETCH_TIMEOUT_SECONDS behind the others'.
        """
        if self._failed_at is not None and time.monotonic() - self._failed_at < REFETCH_COOLDOWN_SECONDS:
            raise jwt.PyJWKClientConnectionError(
                f"cannot read {self.uri} (it failed; tried again {REFETCH_COOLDOWN_SECONDS} s after)"
            )
        self._failed_at = time.monotonic()  # until the read below succeeds
        try:
            document = read_document(self.uri, urllib.request.build_opener(_NoRedirects()))
        except (OSError, ValueError) as error:
            raise jwt.PyJWKClientConnectionError(f"cannot read {self.uri}: {error}") from None
        if self.jwk_set_cache is not None:
            self.jwk_set_cache.put(self._as_jwk_set_payload(document))  # PyJWKSetError: no usable key
        self._failed_at = None
        return document

    def cached_key(self, kid: str) -> jwt.PyJWK | None:
        """The key for `kid` if the cache holds it now; no fetch, no lock."""
        keys = self.jwk_set_cache.get() if self.jwk_set_cache is not None else None
        return None if keys is None else self.match_kid(self._get_signing_keys_from_jwk_set(keys), kid)

    def get_signing_key(self, kid: str) -> jwt.PyJWK:
        with self._client_lock:
            key = self.match_kid(self.get_signing_keys(), kid)  # fetches only when nothing is cached
            if key is None and not self._cooling_down():
                self._last_refetch = time.monotonic()  # failed or not, the next refetch waits
                key = self.match_kid(self.get_signing_keys(refresh=True), kid)
            if key is None:
                raise jwt.PyJWKClientError(f"no key of the issuer's JWKS has the kid {kid!r}")
            return key

    def _cooling_down(self) -> bool:
        return self._last_refetch is not None and time.monotonic() - self._last_refetch < REFETCH_COOLDOWN_SECONDS


class _StrictJwt(jwt.PyJWT):
    """PyJWT, reading the payload as strict JSON (`_decode_payload` is PyJWT's hook for how a payload is read)."""

    def _decode_payload(self, decoded: dict[str, Any]) -> dict[str, Any]:
        try:
            payload = parse_json(decoded["payload"])
        except (ValueError, RecursionError) as error:
            raise jwt.DecodeError(f"Invalid payload string: {error}") from None
        if not isinstance(payload, dict):
            raise jwt.DecodeError("Invalid payload string: must be a json object")
        return payload


def token_header(token: str) -> dict[str, Any]:
    """The token's header, unverified, read as strict JSON (PyJWT's own reading has no such hook)."""
    try:
        header = parse_json(base64url_decode(token.split(".", 1)[0]))
    except (ValueError, RecursionError, IndexError) as error:
        raise jwt.DecodeError(f"Invalid header: {error}") from None
    if not isinstance(header, dict):
        raise jwt.DecodeError("Invalid header: must be a json object")
    return header


class LocalJwtAuthorizer:
    """One JWT authorizer of the template, guarding the routes it names."""

    def __init__(self, config: JwtAuthorizer) -> None:
        self.config = config
        self.header = header_name(config.identity_source)
        self._lock = threading.Lock()
        self._keys: _Keys | None = None
        self._discovery_failed_at: float | None = None
        self._jwt = _StrictJwt()
        # Fetches wait here, one at a time, never in the pool other work of the server shares.
        self._fetching = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jwks")

    def guards(self, route: Route) -> bool:
        return route.route_key in self.config.guarded_routes

    def _key_client(self) -> _Keys:
        """The issuer's JWKS client, from its discovery document (read on first use; after a failure, a cooldown on)."""
        with self._lock:
            if self._keys is None:
                discovery_url = self.config.issuer.rstrip("/") + DISCOVERY_PATH
                failed = self._discovery_failed_at
                if failed is not None and time.monotonic() - failed < REFETCH_COOLDOWN_SECONDS:
                    raise UnauthorizedError(
                        f"cannot read {discovery_url} (it failed; tried again {REFETCH_COOLDOWN_SECONDS} s after)"
                    )
                try:
                    document = read_document(discovery_url)
                except (OSError, ValueError) as error:
                    self._discovery_failed_at = time.monotonic()
                    raise UnauthorizedError(f"cannot read {discovery_url}: {error}") from None
                jwks_uri = document.get("jwks_uri") if isinstance(document, dict) else None
                if not isinstance(jwks_uri, str):
                    self._discovery_failed_at = time.monotonic()
                    raise UnauthorizedError(f"{discovery_url} names no jwks_uri")
                try:
                    self._keys = _Keys(jwks_uri)
                except jwt.PyJWKClientError as error:  # not http(s)
                    self._discovery_failed_at = time.monotonic()
                    raise UnauthorizedError(f"{discovery_url}: {error}") from None
            return self._keys

    def _kid(self, token: str) -> str:
        """The `kid` of a token whose header API Gateway would read on: RSA-signed, naming its key."""
        try:
            header = token_header(token)
        except jwt.PyJWTError as error:
            raise UnauthorizedError(f"{type(error).__name__}: {error}") from None
        if header.get("alg") not in ALGORITHMS:
            raise UnauthorizedError(f"algorithm {header.get('alg')!r} is not RSA")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise UnauthorizedError("no kid in the token's header")
        return kid

    def _claims(self, token: str, key: jwt.PyJWK) -> dict[str, str]:
        """The token's claims (as strings) if `key` signed it and API Gateway would accept them."""
        try:
            claims: dict[str, Any] = self._jwt.decode(
                token,
                key.key,
                algorithms=list(ALGORITHMS),
                issuer=self.config.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss"], "verify_aud": False},
            )
        except (jwt.PyJWTError, OverflowError) as error:  # OverflowError: an `exp` of 1e400 is JSON, and no time
            raise UnauthorizedError(f"{type(error).__name__}: {error}") from None
        self._check_audience(claims)
        try:
            return claims_text(claims)
        except RecursionError:  # a list nested thousands deep: its rendering is not documented, and Python's stops
            raise UnauthorizedError("a claim is nested too deep to be passed on as text") from None

    def verify(self, headers: Mapping[str, str]) -> dict[str, str]:
        """The token's claims (as strings) if API Gateway would accept it; UnauthorizedError otherwise.

        Blocking: it may read the issuer's discovery document and JWKS.
        """
        token = token_from(headers.get(self.header))
        kid = self._kid(token)
        try:
            key = self._key_client().get_signing_key(kid)
        except jwt.PyJWTError as error:
            raise UnauthorizedError(f"{type(error).__name__}: {error}") from None
        return self._claims(token, key)

    def _verify_with_a_cached_key(self, headers: Mapping[str, str]) -> dict[str, str] | None:
        """As `verify`, without reading the issuer: None when the token's key is not cached."""
        token = token_from(headers.get(self.header))
        kid = self._kid(token)
        key = self._keys.cached_key(kid) if self._keys is not None else None
        return None if key is None else self._claims(token, key)

    def _check_audience(self, claims: Mapping[str, Any]) -> None:
        """`aud` must name an audience; only a token without `aud` is judged by `client_id`."""
        if "aud" in claims:
            audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
            if not any(isinstance(item, str) and item in self.config.audience for item in audiences):
                raise UnauthorizedError("aud names none of the audiences")
        elif claims.get("client_id") not in self.config.audience:
            raise UnauthorizedError("neither aud nor client_id names an audience")

    async def authorize(self, headers: list[tuple[str, str]], request_id: str) -> dict[str, Any] | UnauthorizedError:
        """`requestContext.authorizer` for an accepted token, or why not (answer 401).

        A token whose key is cached is checked here and now (a signature check takes well under a
        millisecond); only one that needs the issuer read waits, in a thread of the authorizer's own.
        """
        joined: dict[str, str] = {}
        for name, value in headers:
            lowered = name.lower()
            joined[lowered] = f"{joined[lowered]},{value}" if lowered in joined else value
        try:
            claims = self._verify_with_a_cached_key(joined)
            if claims is None:
                claims = await asyncio.get_running_loop().run_in_executor(self._fetching, self.verify, joined)
        except UnauthorizedError as refused:
            reason = str(refused)  # it may quote the token: a kid of any length
            log.info("401 (request %s): %s", request_id, reason if len(reason) <= 300 else reason[:300] + "...")
            return refused
        return {"jwt": {"claims": claims, "scopes": None}}

    @staticmethod
    def challenge(refused: UnauthorizedError) -> str:
        """The `www-authenticate` header API Gateway's 401 carries, its description saying what was wrong."""
        # Printable ASCII only, and short: the reason may quote a caller's token header.
        description = "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in str(refused))[:200]
        return f'Bearer scope="" error="invalid_token" error_description="{description}"'
