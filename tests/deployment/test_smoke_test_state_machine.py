"""statemachines/smoke_test.asl.json, executed for real by moto with the real handlers behind its Lambda tasks.

Each test deploys the two API functions into moto (a published version and a
`live` alias each), creates the state machine from the definition with its
DefinitionSubstitutions applied as CloudFormation applies them, and runs it.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from greeter.domain import user_key
from greeter.handlers import get_greeting, put_birthday
from greeter.store import DynamoDBBirthdayStore
from tests.conftest import TABLE_NAME
from tests.deployment.conftest import GET_FUNCTION, PUT_FUNCTION, SmokeTestWorld
from tests.support.smoke_test import substituted_definition


def test_the_substitutions_name_a_valid_user_and_its_table_key(world: SmokeTestWorld) -> None:
    """One reserved user, spelled once in the template: its key is what the PUT handler stores."""
    assert world.values["SmokeTestUsername"].isascii()
    assert world.values["SmokeTestUsername"].isalpha()
    assert world.values["SmokeTestUserKey"] == user_key(world.values["SmokeTestUsername"])
    assert world.values["TableName"] == TABLE_NAME
    assert "${" not in substituted_definition(world.values)


def test_a_healthy_version_passes_and_leaves_no_item(world: SmokeTestWorld) -> None:
    execution = world.run()

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert world.invoked() == [f"{PUT_FUNCTION}:1", f"{GET_FUNCTION}:1"]
    assert world.stored_keys() == []
    assert execution.entered_states()[-2:] == ["DidSmokeTestPass", "SmokeTestPassed"]


def test_the_functions_receive_http_api_events_for_the_smoke_test_user(world: SmokeTestWorld) -> None:
    world.run()

    (_, put_event), (_, get_event) = world.runtime.invocations
    username = world.values["SmokeTestUsername"]
    assert put_event["version"] == get_event["version"] == "2.0"
    assert put_event["requestContext"]["http"]["method"] == "PUT"
    assert get_event["requestContext"]["http"]["method"] == "GET"
    assert put_event["pathParameters"] == get_event["pathParameters"] == {"username": username}
    assert put_event["rawPath"] == get_event["rawPath"] == f"/hello/{username}"
    assert put_event["requestContext"]["requestId"].startswith("smoke-")


def test_a_wrong_greeting_fails_with_a_cause_naming_it_and_is_cleaned_up(world: SmokeTestWorld) -> None:
    """A GET that greets the stored key instead of the name asked for (a plausible regression)."""

    def greets_the_key(event: dict[str, Any], context: Any) -> dict[str, Any]:
        response: dict[str, Any] = get_greeting.lambda_handler(event, context)
        response["body"] = response["body"].replace(world.values["SmokeTestUsername"], world.smoke_test_key)
        return response

    world.runtime.handlers[GET_FUNCTION] = greets_the_key

    execution = world.run()

    assert execution.status == "FAILED"
    assert execution.error == "SmokeTest.WrongGreeting"
    assert execution.cause is not None
    assert f"Hello, {world.smoke_test_key}!" in execution.cause
    assert f"not the greeting for {world.values['SmokeTestUsername']}" in execution.cause
    assert "DeleteSmokeTestItem" in execution.entered_states()
    assert world.stored_keys() == []


def test_a_failing_put_still_cleans_up(world: SmokeTestWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """The new PUT version cannot write (wrong table): 500, no GET, and the leftover item is deleted."""
    world.seed_smoke_test_item()
    monkeypatch.setattr(put_birthday, "store", DynamoDBBirthdayStore(boto3.client("dynamodb"), "NoSuchTable"))

    execution = world.run()

    assert execution.status == "FAILED"
    assert execution.error == "SmokeTest.PutFailed"
    assert execution.cause is not None
    assert "should answer 204" in execution.cause
    assert '\\"statusCode\\":500' in execution.cause or '"statusCode":500' in execution.cause
    assert world.invoked() == [f"{PUT_FUNCTION}:1"]
    assert "DeleteSmokeTestItem" in execution.entered_states()
    assert world.stored_keys() == []


def test_a_crashing_put_still_cleans_up(world: SmokeTestWorld) -> None:
    """An unhandled exception (a Lambda function error) is caught like a wrong answer."""
    world.seed_smoke_test_item()

    def crashes(event: dict[str, Any], context: Any) -> Any:
        raise RuntimeError("boom at import")

    world.runtime.handlers[PUT_FUNCTION] = crashes

    execution = world.run()

    assert execution.status == "FAILED"
    assert execution.error == "SmokeTest.PutFailed"
    assert execution.cause is not None
    assert "did not answer" in execution.cause
    assert "RuntimeError" in execution.cause
    assert world.stored_keys() == []


def test_a_get_target_that_does_not_exist_fails_and_cleans_up(world: SmokeTestWorld) -> None:
    missing = world.get_version_arn.rsplit(":", 1)[0] + ":42"

    execution = world.run(get_arn=missing)

    assert execution.status == "FAILED"
    assert execution.error == "SmokeTest.GetFailed"
    assert execution.cause is not None
    assert missing in execution.cause
    assert world.invoked() == [f"{PUT_FUNCTION}:1"]
    assert world.stored_keys() == []


def test_the_live_aliases_can_be_targets(world: SmokeTestWorld) -> None:
    """The synthetic canary runs against `live`, not a version."""
    put_alias = world.put_version_arn.rsplit(":", 1)[0] + ":live"
    get_alias = world.get_version_arn.rsplit(":", 1)[0] + ":live"

    execution = world.run(put_arn=put_alias, get_arn=get_alias)

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert world.stored_keys() == []


def test_every_execution_has_its_own_name(world: SmokeTestWorld) -> None:
    first, second = world.run(), world.run()

    assert first.arn != second.arn
