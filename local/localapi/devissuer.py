"""A development token issuer, so the JWT authorizer can be tried without an account.

    python -m localapi.devissuer serve [--port 3001]      (what `make run JWT=dev` starts)
    python -m localapi.devissuer token alice              (what `make token USER=alice` runs)
    python -m localapi.devissuer tokens 200               (what `make loadtest JWT=dev` uses)

It is an OpenID issuer in the small: a discovery document at
`<issuer>/.well-known/openid-configuration` naming a JWKS, and the JWKS,
served on 127.0.0.1 from one RSA key kept in `.dev-issuer/` (git-ignored,
made on first use). `token` signs with that key. Delete the directory to
rotate the key: the local API fetches the JWKS again for the new `kid`.
Development only: nothing here is deployed, and the key protects nothing.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import string
import sys
import threading
import time
import uuid
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from localapi.authorizer import DISCOVERY_PATH
from localapi.template import PROJECT_ROOT

KEY_DIR = PROJECT_ROOT / ".dev-issuer"
DEFAULT_PORT = 3001
HOST = "127.0.0.1"
AUDIENCE = "greeter-local"
"""The audience (`aud`) of development tokens, which `make run JWT=dev` sets as JwtAudience."""
USERNAME_CLAIM = "username"
"""The template's JwtUsernameClaim default (Cognito access tokens' claim)."""
TOKEN_LIFETIME_SECONDS = 3600
JWKS_PATH = "/jwks.json"


def issuer_url(port: int, host: str = HOST) -> str:
    return f"http://{host}:{port}"


def signing_key(directory: Path = KEY_DIR) -> rsa.RSAPrivateKey:
    """The issuer's RSA key, made once; two processes making it at once agree on one (`link` fails for the second)."""
    path = directory / "signing-key.pem"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        draft = directory / f".signing-key-{uuid.uuid4().hex}.pem"
        draft.write_bytes(pem)
        draft.chmod(0o600)
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
        draft.unlink()
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ValueError(f"{path} is not an RSA private key")
    return loaded


def public_jwk(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    """The key's public half as a JWK; its `kid` is the RFC 7638 thumbprint, so a new key has a new kid."""
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    members = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"), sort_keys=True)
    kid = base64.urlsafe_b64encode(hashlib.sha256(members.encode()).digest()).rstrip(b"=").decode()
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}


def mint(
    username: str,
    issuer: str,
    *,
    audience: str = AUDIENCE,
    claim: str = USERNAME_CLAIM,
    lifetime_seconds: int = TOKEN_LIFETIME_SECONDS,
    directory: Path = KEY_DIR,
) -> str:
    """A signed access token for `username`, shaped like an OpenID provider's."""
    key = signing_key(directory)
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{issuer}#{username}")),
        claim: username,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime_seconds,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": public_jwk(key)["kid"]})


def load_test_username(number: int) -> str:
    """`Loadtestaa`, `Loadtestab`, ...: letters only, as usernames are."""
    letters = ""
    for _ in range(3):
        number, digit = divmod(number, 26)
        letters = string.ascii_lowercase[digit] + letters
    return f"Loadtest{letters}"


class DevIssuer:
    """The discovery document and JWKS over HTTP on 127.0.0.1, in a thread of the caller's process.

    `make run JWT=dev` serves the key of `directory`. The tests' issuer
    (tests/support/issuer.py) is this same server with the options a test needs:
    `public_keys` publishes the JWKs it returns instead (keys the test made, any
    number, any kid), `jwks_fetches` counts the JWKS requests, and
    `before_jwks` runs before each is answered (a slow or stuck issuer).
    """

    def __init__(
        self,
        port: int = DEFAULT_PORT,
        directory: Path = KEY_DIR,
        *,
        public_keys: Callable[[], list[dict[str, Any]]] | None = None,
        before_jwks: Callable[[], None] | None = None,
    ) -> None:
        self.directory = directory
        if public_keys is None:
            signing_key(directory)  # made now, not on the first request

        def published() -> list[dict[str, Any]]:  # read each time: a rotated key is served at once
            return public_keys() if public_keys is not None else [public_jwk(signing_key(directory))]

        self.jwks_fetches = 0
        self._count = threading.Lock()
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == DISCOVERY_PATH:
                    self._json({"issuer": issuer.url, "jwks_uri": issuer.url + JWKS_PATH})
                elif self.path == JWKS_PATH:
                    with issuer._count:
                        issuer.jwks_fetches += 1
                    if before_jwks is not None:
                        before_jwks()
                    self._json({"keys": published()})
                else:
                    self._json({"message": "Not Found"}, HTTPStatus.NOT_FOUND)

            def _json(self, document: dict[str, Any], status: HTTPStatus = HTTPStatus.OK) -> None:
                body = json.dumps(document).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the reader gave up (a timeout); nothing is owed to anyone

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, port), Handler)
        self.server.daemon_threads = True
        self.url = issuer_url(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, name="dev-issuer", daemon=True)

    def start(self) -> DevIssuer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for a serve_forever that must have started
            self.server.shutdown()
        self.server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localapi.devissuer", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the discovery document and JWKS until Ctrl-C")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    token = commands.add_parser("token", help="print a token for USERNAME, signed with the development key")
    token.add_argument("username")
    token.add_argument("--port", type=int, default=DEFAULT_PORT, help="the issuer's port (its URL is the iss)")
    token.add_argument("--audience", default=AUDIENCE)
    token.add_argument("--claim", default=USERNAME_CLAIM, help="the claim that names the user (JwtUsernameClaim)")
    token.add_argument("--expires-in", type=int, default=TOKEN_LIFETIME_SECONDS, help="seconds (negative: expired)")
    tokens = commands.add_parser("tokens", help="print a JSON object of COUNT usernames -> tokens (for load tests)")
    tokens.add_argument("count", type=int)
    tokens.add_argument("--port", type=int, default=DEFAULT_PORT, help="the issuer's port (its URL is the iss)")
    args = parser.parse_args(argv)
    if args.command == "tokens":
        names = [load_test_username(number) for number in range(args.count)]
        print(json.dumps({name: mint(name, issuer_url(args.port)) for name in names}, indent=0))
        return 0
    if args.command == "token":
        print(
            mint(
                args.username,
                issuer_url(args.port),
                audience=args.audience,
                claim=args.claim,
                lifetime_seconds=args.expires_in,
            )
        )
        return 0
    try:
        issuer = DevIssuer(args.port)
    except OSError as error:
        print(f"error: cannot listen on {HOST}:{args.port}: {error.strerror}", file=sys.stderr)
        return 1
    print(f"Development issuer {issuer.url} (keys in {issuer.directory})", flush=True)
    try:
        issuer.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        issuer.server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
