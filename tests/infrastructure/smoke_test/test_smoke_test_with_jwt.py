"""The smoke test with the JWT authorizer on: it invokes the functions, not the API, so it needs no token.

Its events carry what API Gateway would hand the functions behind the
authorizer: the verified claim that names the user, under the template's
JwtUsernameClaim (a DefinitionSubstitution). The functions compare it with
the path whenever an event carries claims, so the smoke test passes with the
authorizer on or off, and fails when the claim it sends is not the one the
functions read.
"""

from __future__ import annotations

from collections.abc import Iterator

import moto
import pytest

from greeter import transport
from localapi.template import SamTemplate
from tests.infrastructure.smoke_test.conftest import SmokeTestWorld
from tests.support.smoke_test import InProcessLambda


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> InProcessLambda:
    running = InProcessLambda()
    running.install(monkeypatch)
    return running


@pytest.fixture
def moto_world() -> Iterator[None]:
    with moto.mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield


def test_the_events_carry_the_users_claim_where_api_gateway_puts_it(world: SmokeTestWorld) -> None:
    execution = world.run()

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    for _, event in world.runtime.invocations:
        assert event["requestContext"]["authorizer"] == {
            "jwt": {"claims": {"username": world.username}, "scopes": None}
        }


@pytest.mark.usefixtures("moto_world")
@pytest.mark.parametrize("claim", ["cognito:username", "preferred_username"])
def test_the_claim_is_the_one_the_template_names_and_the_run_passes(
    template: SamTemplate, runtime: InProcessLambda, monkeypatch: pytest.MonkeyPatch, claim: str
) -> None:
    """JwtUsernameClaim reaches both the functions (JWT_USERNAME_CLAIM) and the smoke test's events."""
    monkeypatch.setattr(transport, "USERNAME_CLAIM", claim)
    world = SmokeTestWorld(template, runtime, {"JwtUsernameClaim": claim})

    execution = world.run()

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    (_, put_event), _ = world.runtime.invocations
    assert put_event["requestContext"]["authorizer"]["jwt"]["claims"] == {claim: world.username}
    assert world.stored_keys() == []


@pytest.mark.usefixtures("moto_world")
def test_a_claim_the_functions_do_not_read_fails_the_run_with_the_403(
    template: SamTemplate, runtime: InProcessLambda, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim is what the PUT is judged by: sent under another name, the version is refused, and cleaned up."""
    monkeypatch.setattr(transport, "USERNAME_CLAIM", "preferred_username")
    world = SmokeTestWorld(template, runtime, {"JwtUsernameClaim": "username"})

    execution = world.run()

    assert execution.status == "FAILED"
    assert execution.error == "SmokeTest.PutFailed"
    assert '"statusCode":403' in (execution.cause or "").replace(" ", "")
    assert world.stored_keys() == []
