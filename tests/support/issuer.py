"""The tests' OpenID issuer: the development issuer's server (localapi.devissuer.DevIssuer) with keys made here.

The server (discovery document, JWKS, fetch count) is the one `make run
JWT=dev` serves; what is the tests' own is the keys and the tokens: any key
(published or not, any kid), any header and any claims, and tokens no
library would sign (`alg: none`, an HMAC keyed with the public key), so the
local API's checks are tested against tokens the test alone shapes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from localapi.devissuer import DevIssuer

AUDIENCE = "greeter-test-client"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Key:
    kid: str
    private: rsa.RSAPrivateKey = field(repr=False)

    @classmethod
    def new(cls, kid: str) -> Key:
        return cls(kid, rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def jwk(self) -> dict[str, Any]:
        public: dict[str, Any] = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


class TestIssuer:
    """Publishes the keys in `published` (its JWKS is read at each fetch); `jwks_fetches` counts the fetches.

    `hold_jwks()` makes every JWKS request wait until `release_jwks()`: an issuer
    that is slow, or never answers.
    """

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(self) -> None:
        self.published: list[Key] = [Key.new("key-1")]
        self.extra_jwks: list[dict[str, Any]] = []  # published as they are (filler, odd members)
        self._released = threading.Event()
        self._released.set()
        self._server = DevIssuer(
            0,
            public_keys=lambda: [key.jwk() for key in self.published] + self.extra_jwks,
            before_jwks=lambda: self._released.wait(timeout=60),
        ).start()
        self.url = self._server.url

    @property
    def jwks_fetches(self) -> int:
        return self._server.jwks_fetches

    def hold_jwks(self) -> None:
        self._released.clear()

    def release_jwks(self) -> None:
        self._released.set()

    def close(self) -> None:
        self.release_jwks()
        self._server.stop()

    @property
    def key(self) -> Key:
        return self.published[0]

    def claims(self, username: str, /, **changes: Any) -> dict[str, Any]:
        """Valid claims for `username` (an access token good for ten minutes); `changes` replace or add (None drops)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": f"sub-{username.lower()}",
            "username": username,
            "iat": now - 5,
            "exp": now + 600,
            "scope": "greeter/write",
        }
        claims.update(changes)
        return {name: value for name, value in claims.items() if value is not None}

    def token(
        self, username: str, /, key: Key | None = None, headers: dict[str, Any] | None = None, **changes: Any
    ) -> str:
        """A token for `username` signed RS256 with `key` (else the published one); None headers are left out."""
        signer = key or self.key
        header = {name: value for name, value in {"kid": signer.kid, **(headers or {})}.items() if value is not None}
        token: str = jwt.encode(self.claims(username, **changes), signer.private, algorithm="RS256", headers=header)
        return token

    def token_with_raw_claim(self, username: str, claim: str, raw_json: str) -> str:
        """A valid token for `username` whose `claim` is `raw_json` as written (`null`, `1e400`)."""
        placeholder = "raw-claim-placeholder"
        payload = json.dumps(self.claims(username, **{claim: placeholder})).replace(f'"{placeholder}"', raw_json)
        token: str = jwt.api_jws.encode(payload.encode(), self.key.private, "RS256", {"kid": self.key.kid})
        return token

    def unsigned_token(self, username: str) -> str:
        """`alg: none`: a token that claims it needs no signature."""
        header = b64url(json.dumps({"alg": "none", "typ": "JWT", "kid": self.key.kid}).encode())
        return f"{header}.{b64url(json.dumps(self.claims(username)).encode())}."

    def hmac_token_keyed_with_the_public_key(self, username: str) -> str:
        """HS256 signed with the issuer's public key as the secret: the classic algorithm confusion."""
        header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": self.key.kid}).encode())
        payload = b64url(json.dumps(self.claims(username)).encode())
        signature = hmac.new(self.key.public_pem(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{b64url(signature)}"

    def tampered_token(self, signed_for: str, claimed: str) -> str:
        """A valid token for `signed_for` whose payload is rewritten to name `claimed`, signature kept."""
        header, _, signature = self.token(signed_for).split(".")
        payload = b64url(json.dumps(self.claims(claimed)).encode())
        return f"{header}.{payload}.{signature}"


@contextmanager
def running_issuer() -> Iterator[TestIssuer]:
    issuer = TestIssuer()
    try:
        yield issuer
    finally:
        issuer.close()
