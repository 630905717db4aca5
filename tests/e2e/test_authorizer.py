"""Who may write (SPEC.md), over HTTP: with the JWT authorizer on, the gateway refuses a missing or bad token,
and the function refuses a valid token used for someone else.

Only run when the target has the authorizer on (the stack's JwtIssuer and
JwtAudience, or JWT=on). The cases that need a valid token need a TOKENS
file, as `make loadtest` takes it; without one they are skipped, and say so.
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.e2e.conftest import IMPOSSIBLE_DATE, UNKNOWN_USER, Api, Clock, Target, Writer, expect, expect_greeting

UNAUTHORIZED = {"message": "Unauthorized"}


@pytest.fixture(autouse=True)
def authorizer_on(target: Target) -> None:
    if not target.jwt:
        pytest.skip("no JWT authorizer on this target (JwtIssuer and JwtAudience empty)")


def expect_the_gateways_401(answer_status: int, body: object, case: str, described: str) -> None:
    assert answer_status == 401, f"{case}: expected 401, got: {described}"
    assert body == UNAUTHORIZED, f"{case}: expected {UNAUTHORIZED}, got: {described}"


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer not.a.jwt", "Basic dXNlcjpwYXNz", "Bearer eyJhbGciOiJub25lIn0.eyJ1c2VybmFtZSI6ImEifQ."],
    ids=["no token", "empty bearer", "not a JWT", "basic auth", "alg none"],
)
def test_a_put_without_a_valid_token_is_the_gateways_401(api: Api, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    answer = api.send("PUT", f"/hello/{UNKNOWN_USER}", {"dateOfBirth": IMPOSSIBLE_DATE}, headers=headers)
    expect_the_gateways_401(
        answer.status, answer.json() if answer.body else None, f"PUT with {authorization}", answer.describe()
    )


def test_get_needs_a_token_only_when_protect_get_is_on(api: Api, target: Target) -> None:
    answer = api.send("GET", f"/hello/{UNKNOWN_USER}")
    if target.protect_get:
        expect_the_gateways_401(
            answer.status, answer.json() if answer.body else None, "GET without a token", answer.describe()
        )
    else:
        expect(answer, 404, "GET of an unknown user without a token (GET is public)")


def test_a_valid_token_used_for_another_user_is_the_functions_403(api: Api, writer: Writer) -> None:
    user, other = writer.user("plain"), writer.other_user()
    answer = api.send("PUT", f"/hello/{other}", {"dateOfBirth": IMPOSSIBLE_DATE}, headers=writer.headers(user))
    expect(answer, 403, f"PUT /hello/{other} with {user}'s token")
    assert answer.headers.get("content-type", "").startswith("application/json"), answer.describe()
    assert isinstance(answer.json().get("requestId"), str), answer.describe()


@pytest.mark.writes
def test_a_users_own_token_writes_their_record_in_any_case(api: Api, writer: Writer, target: Target) -> None:
    user, born = writer.user("plain"), date(1990, 5, 10)
    answer = api.send("PUT", f"/hello/{user.upper()}", {"dateOfBirth": born.isoformat()}, headers=writer.headers(user))
    expect(answer, 204, f"PUT /hello/{user.upper()} with {user}'s own token")
    clock = Clock()
    greeting = api.send("GET", f"/hello/{user}", headers=writer.read_headers(user))
    expect_greeting(greeting, user, born, clock, f"GET of {user} after their own PUT")
