"""The local JWT authorizer reads the issuer as API Gateway documents it, and a flood of made-up keys costs nothing.

API Gateway's HTTP API quotas
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html):
1,500 ms for the OpenID discovery document and for the JWKS, at most
150,000 bytes of JWKS. A token whose `kid` the cached keys lack may fetch the
JWKS again, but at most once per cooldown, and a token whose key is cached
never waits for a fetch.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator

import pytest

from localapi import authorizer as authorizer_module
from localapi.authorizer import LocalJwtAuthorizer, UnauthorizedError
from tests.support.authorizer import authorizer_for
from tests.support.issuer import Key, TestIssuer, running_issuer

WAIT_SECONDS = 60
"""The most a test waits for an answer it expects at once; reached only when the answer never comes."""


@pytest.fixture
def issuer() -> Iterator[TestIssuer]:
    with running_issuer() as running:
        yield running


def authorize(authorizer: LocalJwtAuthorizer, token: str) -> dict[str, object] | UnauthorizedError:
    async def within_bound() -> dict[str, object] | UnauthorizedError:
        return await asyncio.wait_for(
            authorizer.authorize([("authorization", f"Bearer {token}")], "request"), WAIT_SECONDS
        )

    return asyncio.run(within_bound())


def test_the_fetch_limits_are_api_gateways() -> None:
    assert authorizer_module.FETCH_TIMEOUT_SECONDS == 1.5
    assert authorizer_module.MAX_JWKS_BYTES == 150_000


def test_made_up_kids_fetch_the_jwks_at_most_once_per_cooldown(issuer: TestIssuer) -> None:
    authorizer = authorizer_for(issuer)
    assert not isinstance(authorize(authorizer, issuer.token("alice")), UnauthorizedError)
    before = issuer.jwks_fetches
    stranger = Key.new("stranger")
    for _ in range(200):
        refused = authorize(authorizer, issuer.token("alice", key=Key(f"made-up-{uuid.uuid4()}", stranger.private)))
        assert isinstance(refused, UnauthorizedError)
    assert issuer.jwks_fetches <= before + 1  # one refetch at most: the cooldown has not run out


def test_a_rotated_in_key_is_fetched_at_once(issuer: TestIssuer) -> None:
    """The first unknown kid after a while fetches the JWKS again: a rotation is seen without waiting."""
    authorizer = authorizer_for(issuer)
    assert not isinstance(authorize(authorizer, issuer.token("alice")), UnauthorizedError)  # keys cached
    rotated = Key.new("rotated-in")
    issuer.published.append(rotated)
    assert not isinstance(authorize(authorizer, issuer.token("alice", key=rotated)), UnauthorizedError)


def test_a_cached_key_is_checked_while_a_fetch_hangs(issuer: TestIssuer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A JWKS request that never returns (the timeout is lifted here) holds no one whose key is already known."""
    monkeypatch.setattr(authorizer_module, "FETCH_TIMEOUT_SECONDS", 3600)
    authorizer = authorizer_for(issuer)
    assert not isinstance(authorize(authorizer, issuer.token("alice")), UnauthorizedError)  # keys cached
    issuer.hold_jwks()
    unknown = issuer.token("mallory", key=Key.new("unknown"))
    valid = issuer.token("alice")

    async def both() -> tuple[bool, object]:
        waiting = asyncio.create_task(authorizer.authorize([("authorization", f"Bearer {unknown}")], "unknown"))
        while issuer.jwks_fetches < 2:  # the unknown kid's fetch has reached the issuer, and hangs there
            await asyncio.sleep(0.01)
        answer = await asyncio.wait_for(authorizer.authorize([("authorization", f"Bearer {valid}")], "v"), WAIT_SECONDS)
        still_waiting = not waiting.done()
        issuer.release_jwks()
        await waiting
        return still_waiting, answer

    try:
        still_waiting, answer = asyncio.run(both())
    finally:
        issuer.release_jwks()
    assert still_waiting
    assert not isinstance(answer, UnauthorizedError)


def test_a_jwks_that_never_answers_is_a_401(issuer: TestIssuer) -> None:
    authorizer = authorizer_for(issuer)
    issuer.hold_jwks()
    refused = authorize(authorizer, issuer.token("alice"))
    assert isinstance(refused, UnauthorizedError)
    assert "timed out" in str(refused)


def _pad_jwks_to(issuer: TestIssuer, size: int) -> None:
    """Adds a member no key is made of (JWKS readers skip it), so the JWKS document is exactly `size` bytes."""
    issuer.extra_jwks[:] = [{"kty": "none", "kid": "filler", "pad": ""}]
    document = json.dumps({"keys": [key.jwk() for key in issuer.published] + issuer.extra_jwks}).encode()
    issuer.extra_jwks[0]["pad"] = "x" * (size - len(document))


@pytest.mark.parametrize(("size", "accepted"), [(150_000, True), (150_001, False)])
def test_a_jwks_over_150000_bytes_is_refused(issuer: TestIssuer, size: int, accepted: bool) -> None:
    _pad_jwks_to(issuer, size)
    answer = authorize(authorizer_for(issuer), issuer.token("alice"))
    assert isinstance(answer, UnauthorizedError) is not accepted, answer
    if not accepted:
        assert "150000 bytes" in str(answer)


def test_a_failing_jwks_is_read_at_most_once_per_cooldown(issuer: TestIssuer) -> None:
    """With nothing cached and the JWKS failing, requests are refused without queueing a fetch each.

    Before, every request fetched again (8 requests: 8 fetches, one after the other, the last
    answered after 12 s): a JWKS that is down made every token, valid or not, wait behind all the
    others' timeouts.
    """
    authorizer = authorizer_for(issuer)
    issuer.hold_jwks()
    token = issuer.token("alice")

    async def eight_at_once() -> list[dict[str, object] | UnauthorizedError]:
        requests = (authorizer.authorize([("authorization", f"Bearer {token}")], str(n)) for n in range(8))
        return await asyncio.wait_for(asyncio.gather(*requests), WAIT_SECONDS)

    try:
        answers = asyncio.run(eight_at_once())
    finally:
        issuer.release_jwks()
    assert all(isinstance(answer, UnauthorizedError) for answer in answers)
    assert issuer.jwks_fetches == 1
