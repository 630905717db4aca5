"""The local JWT authorizer's pieces: where the token is read, what the event gets, no function run on a 401."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from localapi.authorizer import UnauthorizedError, claim_text, header_name, token_from
from tests.support.authorizer import api_for, http
from tests.support.issuer import AUDIENCE, TestIssuer, running_issuer


@pytest.fixture(scope="module")
def issuer() -> Iterator[TestIssuer]:
    with running_issuer() as running:
        yield running


def test_the_verified_claims_go_where_api_gateway_puts_them_as_strings(issuer: TestIssuer) -> None:
    api, pools = api_for(issuer)
    token = issuer.token("alice", groups=["admins", "users"], email_verified=True)
    response = asyncio.run(api.handle(http("PUT", f"Bearer {token}")))
    assert response.status == 204
    (event,) = pools["Put"].events
    authorizer = event["requestContext"]["authorizer"]
    assert set(authorizer) == {"jwt"}
    assert authorizer["jwt"]["scopes"] is None
    claims = authorizer["jwt"]["claims"]
    assert claims["username"] == "alice"
    assert claims["iss"] == issuer.url
    assert claims["aud"] == AUDIENCE
    assert claims["groups"] == "[admins users]"
    assert claims["email_verified"] == "true"
    assert all(isinstance(value, str) for value in claims.values())
    assert claims["exp"].isdigit()
    assert event["headers"]["authorization"] == f"Bearer {token}"  # API Gateway passes the header on


def test_a_refused_token_runs_no_function(issuer: TestIssuer) -> None:
    api, pools = api_for(issuer)
    response = asyncio.run(api.handle(http("PUT", "Bearer nope")))
    assert (response.status, response.body) == (401, b'{"message":"Unauthorized"}')
    assert pools["Put"].events == []


def test_a_route_the_authorizer_does_not_guard_gets_no_authorizer_context(issuer: TestIssuer) -> None:
    api, pools = api_for(issuer)
    response = asyncio.run(api.handle(http("GET", None)))
    assert response.status == 204
    (event,) = pools["Get"].events
    assert "authorizer" not in event["requestContext"]


@pytest.mark.parametrize(
    ("value", "token"),
    [("Bearer abc", "abc"), ("bearer abc", "abc"), ("BEARER  abc ", "abc"), ("abc", "abc")],
)
def test_the_token_alone_or_after_bearer(value: str, token: str) -> None:
    assert token_from(value) == token


@pytest.mark.parametrize("value", [None, "", "   ", "Bearer", "Basic abc", "Bearer a b", "Token abc"])
def test_anything_else_has_no_token(value: str | None) -> None:
    with pytest.raises(UnauthorizedError):
        token_from(value)


def test_the_identity_source_is_a_header() -> None:
    assert header_name("$request.header.Authorization") == "authorization"
    with pytest.raises(ValueError, match="header"):
        header_name("$request.querystring.token")


@pytest.mark.parametrize(
    ("value", "text"),
    [("a", "a"), (1700000000, "1700000000"), (True, "true"), (["a", "b"], "[a b]"), ({"k": 1}, '{"k":1}')],
)
def test_claims_become_strings(value: object, text: str) -> None:
    assert claim_text(value) == text


def test_the_development_issuer_mints_tokens_its_jwks_verifies(tmp_path: Path) -> None:
    from localapi import devissuer

    token = devissuer.mint("alice", "http://127.0.0.1:3001", directory=tmp_path)
    jwk = devissuer.public_jwk(devissuer.signing_key(tmp_path))
    assert jwt.get_unverified_header(token)["kid"] == jwk["kid"]
    claims = jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["RS256"], audience=devissuer.AUDIENCE)
    assert claims["username"] == "alice"
    assert claims["iss"] == "http://127.0.0.1:3001"
    assert claims["exp"] - claims["iat"] == devissuer.TOKEN_LIFETIME_SECONDS


def test_a_new_development_key_has_a_new_kid(tmp_path: Path) -> None:
    from localapi import devissuer

    first = devissuer.public_jwk(devissuer.signing_key(tmp_path / "a"))["kid"]
    assert devissuer.public_jwk(devissuer.signing_key(tmp_path / "a"))["kid"] == first  # kept
    assert devissuer.public_jwk(devissuer.signing_key(tmp_path / "b"))["kid"] != first


def test_load_test_usernames_are_usernames_and_distinct() -> None:
    from greeter.domain import validate_username
    from localapi.devissuer import load_test_username

    names = [load_test_username(number) for number in range(2000)]
    assert len({name.lower() for name in names}) == 2000
    for name in names:
        validate_username(name)
