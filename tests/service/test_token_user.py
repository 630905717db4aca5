"""With the JWT authorizer on, a verified token may write (and, with JwtProtectGet, read) only its own user.

API Gateway hands the function the verified claims at
`requestContext.authorizer.jwt.claims` (values are strings, `scopes` may be
null); these events carry them as it does. Without an authorizer the event has
no `authorizer`, and the handlers behave as they always did.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
import time_machine

from tests.service.test_handlers import TODAY, call, stored_item
from tests.support.events import for_user, load_event


@pytest.fixture(autouse=True)
def frozen_today() -> Iterator[None]:
    with time_machine.travel(TODAY, tick=False):
        yield


def with_claims(event: dict[str, Any], claims: dict[str, str] | None) -> dict[str, Any]:
    """The event as API Gateway sends it behind the JWT authorizer, with these verified claims."""
    changed = copy.deepcopy(event)
    changed["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    return changed


def cognito_claims(username: str) -> dict[str, str]:
    """What a Cognito access token's claims look like in the event (every value a string)."""
    return {
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEfGhI",
        "client_id": "1example23456789",
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "auth_time": "1700000000",
        "exp": "1700003600",
        "iat": "1700000000",
        "username": username,
    }


@pytest.mark.parametrize("claimed", ["alice", "Alice", "ALICE"])
def test_the_users_own_token_may_write_case_insensitively(
    put_handler: ModuleType, dynamodb: Any, lambda_context: Any, claimed: str
) -> None:
    event = with_claims(load_event("put_birthday.json"), cognito_claims(claimed))
    status, _, body = call(put_handler, event, lambda_context)
    assert (status, body) == (204, None)
    assert stored_item(dynamodb, "alice") is not None


@pytest.mark.parametrize(
    "claims",
    [
        cognito_claims("bob"),
        cognito_claims("alicex"),
        {"sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"},  # no username claim at all
        cognito_claims(""),
        cognito_claims("alice "),
        cognito_claims("al1ce"),
        cognito_claims("\uff41lice"),  # fullwidth a: not an ASCII letter, never the same user
        {},
        None,
    ],
)
def test_another_users_token_is_403_json_and_stores_nothing(
    put_handler: ModuleType, dynamodb: Any, lambda_context: Any, claims: dict[str, str] | None
) -> None:
    event = with_claims(load_event("put_birthday.json"), claims)
    status, headers, body = call(put_handler, event, lambda_context)
    assert status == 403
    assert headers["content-type"] == "application/json"
    assert body["message"] == "the token is not Alice's: a token may only act for the user it names"
    assert stored_item(dynamodb, "alice") is None


def test_a_403_comes_before_the_body_is_read(put_handler: ModuleType, lambda_context: Any) -> None:
    """Someone else's token learns nothing about what the body should be."""
    event = with_claims(load_event("put_invalid_date.json"), cognito_claims("mallory"))
    status, _, _ = call(put_handler, event, lambda_context)
    assert status == 403


def test_an_invalid_path_username_is_still_400(put_handler: ModuleType, lambda_context: Any) -> None:
    event = with_claims(load_event("put_invalid_username.json"), cognito_claims("alice"))
    status, _, _ = call(put_handler, event, lambda_context)
    assert status == 400


def test_the_claim_named_by_the_template_is_the_one_compared(
    put_handler: ModuleType, dynamodb: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from greeter import transport

    monkeypatch.setattr(transport, "USERNAME_CLAIM", "preferred_username")
    claims = {"preferred_username": "alice", "username": "bob"}
    status, _, _ = call(put_handler, with_claims(load_event("put_birthday.json"), claims), lambda_context)
    assert status == 204
    claims = {"preferred_username": "bob", "username": "alice"}
    status, _, _ = call(put_handler, with_claims(load_event("put_birthday.json"), claims), lambda_context)
    assert status == 403


def test_the_claim_name_comes_from_the_environment_the_template_sets() -> None:
    """JWT_USERNAME_CLAIM (JwtUsernameClaim); `username` when unset or empty, as the parameter's default."""
    from greeter.transport import username_claim

    assert username_claim({"JWT_USERNAME_CLAIM": "cognito:username"}) == "cognito:username"
    assert username_claim({"JWT_USERNAME_CLAIM": ""}) == "username"
    assert username_claim({}) == "username"


def test_without_the_authorizer_anyone_may_write_as_before(
    put_handler: ModuleType, dynamodb: Any, lambda_context: Any
) -> None:
    event = load_event("put_birthday.json")
    assert "authorizer" not in event["requestContext"]
    status, _, _ = call(put_handler, event, lambda_context)
    assert status == 204


def test_a_guarded_get_greets_only_the_tokens_user(
    put_handler: ModuleType, get_handler: ModuleType, lambda_context: Any
) -> None:
    call(put_handler, load_event("put_birthday.json"), lambda_context)
    get = load_event("get_greeting.json")
    status, _, body = call(get_handler, with_claims(get, cognito_claims("alice")), lambda_context)
    assert status == 200, body
    status, headers, body = call(get_handler, with_claims(get, cognito_claims("bob")), lambda_context)
    assert status == 403
    assert headers["content-type"] == "application/json"
    assert "message" in body


def test_a_public_get_greets_anyone(put_handler: ModuleType, get_handler: ModuleType, lambda_context: Any) -> None:
    call(put_handler, load_event("put_birthday.json"), lambda_context)
    status, _, _ = call(get_handler, load_event("get_greeting.json"), lambda_context)
    assert status == 200


def test_the_not_allowed_methods_answer_405_whatever_the_claims(get_handler: ModuleType, lambda_context: Any) -> None:
    event = with_claims(load_event("delete_method_not_allowed.json"), cognito_claims("bob"))
    status, headers, _ = call(get_handler, for_user(event, "alice"), lambda_context)
    assert status == 405
    assert headers["allow"] == "GET, PUT"
