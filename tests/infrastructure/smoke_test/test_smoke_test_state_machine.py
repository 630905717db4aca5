"""statemachines/smoke_test.asl.json, executed for real by moto with the real handlers behind its Lambda tasks.

Each test deploys the two API functions into moto (a published version and a
`live` alias each), creates the state machine from the definition with its
DefinitionSubstitutions applied as CloudFormation applies them, and runs it.
"""

from __future__ import annotations

import fnmatch
import json
import sys
import threading
from datetime import date
from typing import Any

import boto3
import pytest

from greeter import domain
from greeter.domain import SMOKE_TEST_KEY_PREFIX, days_until_birthday, greeting, user_key, utc_now
from greeter.handlers import get_greeting, put_birthday
from greeter.store import DynamoDBBirthdayStore
from tests.conftest import TABLE_NAME
from tests.infrastructure.smoke_test.conftest import GET_FUNCTION, PUT_FUNCTION, SmokeTestWorld
from tests.support.events import for_user, load_event, with_body
from tests.support.sam import REGION, sam_template
from tests.support.smoke_test import STACK_NAME, Handler, start, substituted_definition, wait_for

MOTO_ACCOUNT = "123456789012"
BORN = date(1990, 5, 10)


def caller_put(username: str, date_of_birth: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A PUT as API Gateway hands it over for an HTTP caller (who may send any header)."""
    event = for_user(with_body(load_event("put_birthday.json"), json.dumps({"dateOfBirth": date_of_birth})), username)
    event["headers"].update(headers or {})
    return event


def caller_get(username: str) -> dict[str, Any]:
    return for_user(load_event("get_greeting.json"), username)


def delete_condition_pattern() -> str:
    """The state machine role's DeleteItem condition, rendered for the moto world's stack, region and account."""
    statements = sam_template()["Resources"]["SmokeTestStateMachine"]["Properties"]["Policies"][0]["Statement"]
    (delete,) = [s for s in statements if s["Action"] == "dynamodb:DeleteItem"]
    (value,) = delete["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    text, variables = value["Fn::Sub"]
    assert variables == {"KeyPrefix": {"Fn::FindInMap": ["SmokeTest", "Run", "KeyPrefix"]}}
    for name, replacement in {
        "KeyPrefix": SMOKE_TEST_KEY_PREFIX,
        "AWS::Partition": "aws",
        "AWS::Region": REGION,
        "AWS::AccountId": MOTO_ACCOUNT,
        "AWS::StackName": STACK_NAME,
    }.items():
        text = text.replace("${" + name + "}", replacement)
    assert "${" not in text, text
    rendered: str = text
    return rendered


def test_the_substitutions_name_a_valid_user_and_the_domains_key_prefix(world: SmokeTestWorld) -> None:
    """The user passes the username rule; the key prefix is the one greeter.domain reserves for runs."""
    assert world.username.isascii()
    assert world.username.isalpha()
    assert world.values["SmokeTestKeyPrefix"] == SMOKE_TEST_KEY_PREFIX
    assert world.values["TableName"] == TABLE_NAME
    assert "${" not in substituted_definition(world.values)


def test_the_smoke_test_user_is_zoned_so_a_run_proves_the_tz_database_ships(world: SmokeTestWorld) -> None:
    """The run's PUT names a zone other than UTC, and the item the GET reads keeps it."""
    seen: list[dict[str, Any] | None] = []

    def looks_then_greets(event: dict[str, Any], context: Any) -> Any:
        (key,) = world.stored_keys()
        seen.append(world.stored_item(key))
        return get_greeting.lambda_handler(event, context)

    world.runtime.handlers[GET_FUNCTION] = looks_then_greets
    execution = world.run()

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    zone = world.values["SmokeTestTimeZone"]
    assert zone != domain.DEFAULT_TIME_ZONE
    assert domain.parse_time_zone(zone) == zone
    (_, put_event), _ = world.runtime.invocations
    assert json.loads(put_event["body"])["timeZone"] == zone
    (item,) = seen
    assert item is not None
    assert item["timeZone"] == {"S": zone}


def test_a_package_without_its_tz_database_fails_the_smoke_test(
    world: SmokeTestWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build that lost `tzdata` answers the zoned PUT 500: the run fails before traffic moves."""
    monkeypatch.setitem(sys.modules, "tzdata", None)  # `import tzdata` now fails, as in such a package
    domain.time_zone_names.cache_clear()
    domain._zone.cache_clear()
    try:
        execution = world.run()
    finally:
        domain.time_zone_names.cache_clear()
        domain._zone.cache_clear()

    assert execution.status == "FAILED"
    assert execution.error == "SmokeTest.PutFailed"
    assert execution.cause is not None
    assert "should answer 204" in execution.cause
    assert world.stored_keys() == []


def test_a_healthy_version_passes_and_leaves_no_item(world: SmokeTestWorld) -> None:
    execution = world.run()

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert world.invoked() == [f"{PUT_FUNCTION}:1", f"{GET_FUNCTION}:1"]
    assert world.stored_keys() == []
    assert execution.entered_states()[-2:] == ["DidSmokeTestPass", "SmokeTestPassed"]


def test_the_functions_receive_http_api_events_naming_the_run(world: SmokeTestWorld) -> None:
    execution = world.run()

    (_, put_event), (_, get_event) = world.runtime.invocations
    assert put_event["version"] == get_event["version"] == "2.0"
    assert put_event["requestContext"]["http"]["method"] == "PUT"
    assert get_event["requestContext"]["http"]["method"] == "GET"
    assert put_event["pathParameters"] == get_event["pathParameters"] == {"username": world.username}
    assert put_event["rawPath"] == get_event["rawPath"] == f"/hello/{world.username}"
    assert put_event["requestContext"]["requestId"].startswith("smoke-")
    assert put_event["smokeTestRun"] == get_event["smokeTestRun"] == execution.arn


def test_a_run_keeps_its_item_under_its_own_key_which_only_its_state_machine_may_delete(
    world: SmokeTestWorld,
) -> None:
    """Seen while the GET runs: the one item is `smoke-test#<execution ARN>`, inside the role's DeleteItem condition."""
    seen: list[list[str]] = []

    def looks_then_greets(event: dict[str, Any], context: Any) -> Any:
        seen.append(world.stored_keys())
        return get_greeting.lambda_handler(event, context)

    world.runtime.handlers[GET_FUNCTION] = looks_then_greets

    execution = world.run()

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert seen == [[SMOKE_TEST_KEY_PREFIX + execution.arn]]
    (key,) = seen[0]
    assert fnmatch.fnmatchcase(key, delete_condition_pattern())
    assert not fnmatch.fnmatchcase(user_key(world.username), delete_condition_pattern())
    assert world.stored_keys() == []


def test_a_real_user_with_the_smoke_test_users_name_keeps_their_data(
    world: SmokeTestWorld, lambda_context: Any
) -> None:
    """The nearest name there is, the smoke-test user's own: the person's item is untouched by a run."""
    username = world.username
    assert put_birthday.lambda_handler(caller_put(username, BORN.isoformat()), lambda_context)["statusCode"] == 204
    before = world.stored_item(user_key(username))
    day_before = utc_now().date()

    execution = world.run()

    assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
    assert world.stored_keys() == [user_key(username)]
    assert world.stored_item(user_key(username)) == before
    answer = get_greeting.lambda_handler(caller_get(username), lambda_context)
    assert answer["statusCode"] == 200
    greetings = {greeting(username, days_until_birthday(BORN, day)) for day in (day_before, utc_now().date())}
    assert json.loads(answer["body"])["message"] in greetings


def test_an_api_caller_cannot_name_a_run(world: SmokeTestWorld, lambda_context: Any) -> None:
    """A header is not the event's field, and a smoke-test key is not a username."""
    execution = world.run()
    put = caller_put(world.username, BORN.isoformat(), headers={"smoketestrun": execution.arn})

    assert put_birthday.lambda_handler(put, lambda_context)["statusCode"] == 204
    assert world.stored_keys() == [user_key(world.username)]
    for event in (caller_put(SMOKE_TEST_KEY_PREFIX + "x", "2000-01-01"), caller_get(SMOKE_TEST_KEY_PREFIX + "x")):
        handler = put_birthday if event["requestContext"]["http"]["method"] == "PUT" else get_greeting
        assert handler.lambda_handler(event, lambda_context)["statusCode"] == 400


def test_two_interleaved_runs_both_succeed(world: SmokeTestWorld) -> None:
    """A PUTs; B runs from start to end (PUT, GET, delete); only then does A GET. One shared key failed A."""
    a_has_put = threading.Event()
    b_has_ended = threading.Event()
    answered: list[tuple[str, str]] = []

    def recorded(handler: Handler, method: str) -> Handler:
        def wrapped(event: dict[str, Any], context: Any) -> Any:
            run = event["requestContext"]["requestId"]
            if (run, method) == ("run-a", "GET") and not b_has_ended.wait(timeout=60):
                raise TimeoutError("run B never ended")
            result = handler(event, context)
            answered.append((run, method))
            if (run, method) == ("run-a", "PUT"):
                a_has_put.set()
            return result

        return wrapped

    world.runtime.handlers[PUT_FUNCTION] = recorded(put_birthday.lambda_handler, "PUT")
    world.runtime.handlers[GET_FUNCTION] = recorded(get_greeting.lambda_handler, "GET")

    run_a = start(world.sfn, world.state_machine_arn, world.targets(), name="run-a")
    assert a_has_put.wait(timeout=60), "run A never PUT"
    run_b = wait_for(world.sfn, start(world.sfn, world.state_machine_arn, world.targets(), name="run-b"))
    b_has_ended.set()
    run_a_result = wait_for(world.sfn, run_a)

    assert answered == [("run-a", "PUT"), ("run-b", "PUT"), ("run-b", "GET"), ("run-a", "GET")]
    assert "DeleteSmokeTestItem" in run_b.entered_states()
    assert run_b.status == "SUCCEEDED", (run_b.error, run_b.cause)
    assert run_a_result.status == "SUCCEEDED", (run_a_result.error, run_a_result.cause)
    assert world.stored_keys() == []


def test_a_wrong_greeting_fails_with_a_cause_naming_it_and_is_cleaned_up(world: SmokeTestWorld) -> None:
    """A GET that greets the lower-cased key instead of the name asked for (a plausible regression)."""

    def greets_the_key(event: dict[str, Any], context: Any) -> dict[str, Any]:
        response: dict[str, Any] = get_greeting.lambda_handler(event, context)
        response["body"] = response["body"].replace(world.username, user_key(world.username))
        return response

    world.runtime.handlers[GET_FUNCTION] = greets_the_key

    execution = world.run()

    assert execution.status == "FAILED"
    assert execution.error == "SmokeTest.WrongGreeting"
    assert execution.cause is not None
    assert f"Hello, {user_key(world.username)}!" in execution.cause
    assert f"not the greeting for {world.username}" in execution.cause
    assert "DeleteSmokeTestItem" in execution.entered_states()
    assert world.stored_keys() == []


def test_a_failing_put_still_cleans_up(world: SmokeTestWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """The new PUT version cannot write (wrong table): 500, no GET, and the clean-up still runs."""
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
    """An unhandled exception after the write (a Lambda function error) is caught like a wrong answer."""

    def writes_then_crashes(event: dict[str, Any], context: Any) -> Any:
        put_birthday.lambda_handler(event, context)
        raise RuntimeError("boom after the write")

    world.runtime.handlers[PUT_FUNCTION] = writes_then_crashes

    execution = world.run()

    assert execution.status == "FAILED"
    assert execution.error == "SmokeTest.PutFailed"
    assert execution.cause is not None
    assert "did not answer" in execution.cause
    assert "RuntimeError" in execution.cause
    assert "DeleteSmokeTestItem" in execution.entered_states()
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


def test_every_execution_has_its_own_name_and_key(world: SmokeTestWorld) -> None:
    first, second = world.run(), world.run()

    assert first.arn != second.arn
    keys = {event["smokeTestRun"] for _, event in world.runtime.invocations}
    assert keys == {first.arn, second.arn}
