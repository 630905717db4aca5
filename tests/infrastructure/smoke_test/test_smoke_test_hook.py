"""The pre-traffic hook: it runs the smoke test against the new version and always reports to CodeDeploy.

CodeDeploy is a botocore Stubber (moto has no PutLifecycleEventHookExecutionStatus):
each test states the one report it expects, and `assert_no_pending_responses`
fails a test whose hook reported nothing. Step Functions is either the moto
world (the real state machine and handlers, started synchronously) or a
Stubber for the calls that cannot succeed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from greeter.handlers import put_birthday
from greeter.store import DynamoDBBirthdayStore
from hooks import smoke_test_hook
from localapi.workers import LambdaContext
from tests.infrastructure.smoke_test.conftest import PUT_FUNCTION, SmokeTestWorld
from tests.support.smoke_test import lambda_context, run_to_completion

DEPLOYMENT_ID = "d-ABCDEFGHI"
HOOK_EXECUTION_ID = "hook-execution-1"
STATE_MACHINE_ARN = "arn:aws:states:eu-west-1:123456789012:stateMachine:SmokeTestStateMachine"
HOOK_EVENT = {"DeploymentId": DEPLOYMENT_ID, "LifecycleEventHookExecutionId": HOOK_EXECUTION_ID}


class SyncExecutions:
    """StartSyncExecution over moto (which only has StartExecution): start, wait, answer the same shape."""

    def __init__(self, world: SmokeTestWorld) -> None:
        self.world = world
        self.started: list[dict[str, str]] = []

    def start_sync_execution(self, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:  # noqa: N803 - botocore's parameter names
        self.started.append({"stateMachineArn": stateMachineArn, "name": name, "input": input})
        execution = run_to_completion(self.world.sfn, stateMachineArn, json.loads(input), name)
        answer = {"executionArn": execution.arn, "status": execution.status}
        return {**answer, "error": execution.error, "cause": execution.cause} if execution.error else answer


@pytest.fixture
def codedeploy(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    client = boto3.client("codedeploy")
    monkeypatch.setattr(smoke_test_hook, "codedeploy_client", client)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def configured_hook(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The hook's environment as the template sets it, and a Step Functions client to stub."""
    monkeypatch.setenv("SMOKE_TEST_STATE_MACHINE_ARN", STATE_MACHINE_ARN)
    monkeypatch.setenv("PUT_FUNCTION_ARN", "arn:aws:lambda:eu-west-1:123456789012:function:put:2")
    monkeypatch.setenv("GET_FUNCTION_ARN", "arn:aws:lambda:eu-west-1:123456789012:function:get:live")
    sfn = boto3.client("stepfunctions")
    monkeypatch.setattr(smoke_test_hook, "sfn_client", sfn)
    return sfn


def expect_report(codedeploy: Stubber, status: str) -> None:
    codedeploy.add_response(
        "put_lifecycle_event_hook_execution_status",
        {"lifecycleEventHookExecutionId": HOOK_EXECUTION_ID},
        {"deploymentId": DEPLOYMENT_ID, "lifecycleEventHookExecutionId": HOOK_EXECUTION_ID, "status": status},
    )


def hook_context() -> LambdaContext:
    return lambda_context("CodeDeployHook_greeter-PutBirthday", "arn:aws:lambda:eu-west-1:123456789012:function:hook")


@pytest.fixture
def smoke_test_targets(world: SmokeTestWorld, monkeypatch: pytest.MonkeyPatch) -> SyncExecutions:
    """The hook's environment as the template sets it for PutBirthday: new put version, live get alias."""
    monkeypatch.setenv("SMOKE_TEST_STATE_MACHINE_ARN", world.state_machine_arn)
    monkeypatch.setenv("PUT_FUNCTION_ARN", world.put_version_arn)
    monkeypatch.setenv("GET_FUNCTION_ARN", world.get_version_arn.rsplit(":", 1)[0] + ":live")
    executions = SyncExecutions(world)
    monkeypatch.setattr(smoke_test_hook, "sfn_client", executions)
    return executions


def test_a_healthy_new_version_is_reported_succeeded(
    world: SmokeTestWorld, smoke_test_targets: SyncExecutions, codedeploy: Stubber
) -> None:
    expect_report(codedeploy, "Succeeded")

    result = smoke_test_hook.lambda_handler(HOOK_EVENT, hook_context())

    assert result == {"status": "Succeeded"}
    (started,) = smoke_test_targets.started
    assert json.loads(started["input"]) == {
        "putFunctionArn": world.put_version_arn,
        "getFunctionArn": world.get_version_arn.rsplit(":", 1)[0] + ":live",
    }
    assert world.stored_keys() == []


def test_a_broken_new_version_is_reported_failed_and_cleaned_up(
    world: SmokeTestWorld, smoke_test_targets: SyncExecutions, codedeploy: Stubber
) -> None:
    """The new PUT version writes, then crashes: the hook reports Failed and the run's item is gone."""

    def writes_then_crashes(event: dict[str, Any], context: Any) -> Any:
        put_birthday.lambda_handler(event, context)
        raise RuntimeError("boom after the write")

    world.runtime.handlers[PUT_FUNCTION] = writes_then_crashes
    expect_report(codedeploy, "Failed")

    result = smoke_test_hook.lambda_handler(HOOK_EVENT, hook_context())

    assert result == {"status": "Failed"}
    assert world.stored_keys() == []


def test_the_failure_is_logged_with_the_state_machine_cause(
    world: SmokeTestWorld,
    smoke_test_targets: SyncExecutions,
    codedeploy: Stubber,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(put_birthday, "store", DynamoDBBirthdayStore(boto3.client("dynamodb"), "NoSuchTable"))
    expect_report(codedeploy, "Failed")

    smoke_test_hook.lambda_handler(HOOK_EVENT, hook_context())

    (record,) = [record for record in caplog.records if record.getMessage().startswith("smoke test FAILED: ")]
    assert record.__dict__["error"] == "SmokeTest.PutFailed"
    assert "should answer 204" in record.__dict__["cause"]
    assert "SmokeTest.PutFailed" in record.getMessage()


def test_each_run_has_a_unique_execution_name_tied_to_the_deployment(
    world: SmokeTestWorld, smoke_test_targets: SyncExecutions, codedeploy: Stubber
) -> None:
    expect_report(codedeploy, "Succeeded")
    expect_report(codedeploy, "Succeeded")

    smoke_test_hook.lambda_handler(HOOK_EVENT, hook_context())
    smoke_test_hook.lambda_handler(HOOK_EVENT, hook_context())

    first, second = (started["name"] for started in smoke_test_targets.started)
    assert first != second
    assert first.startswith(f"{DEPLOYMENT_ID}-")
    assert len(first) <= 80


@pytest.mark.parametrize(
    ("error_code", "message"),
    [
        ("AccessDeniedException", "not authorized to perform: states:StartSyncExecution"),
        ("StateMachineDoesNotExist", "State Machine Does Not Exist"),
    ],
)
def test_a_smoke_test_that_cannot_start_is_reported_failed(
    codedeploy: Stubber, monkeypatch: pytest.MonkeyPatch, error_code: str, message: str
) -> None:
    sfn = configured_hook(monkeypatch)
    expect_report(codedeploy, "Failed")

    with Stubber(sfn) as stepfunctions:
        stepfunctions.add_client_error("start_sync_execution", service_error_code=error_code, service_message=message)
        result = smoke_test_hook.lambda_handler(HOOK_EVENT, hook_context())
        stepfunctions.assert_no_pending_responses()

    assert result == {"status": "Failed"}


@pytest.mark.parametrize("status", ["FAILED", "TIMED_OUT"])
def test_only_a_succeeded_execution_counts_as_success(
    codedeploy: Stubber, monkeypatch: pytest.MonkeyPatch, status: str
) -> None:
    sfn = configured_hook(monkeypatch)
    expect_report(codedeploy, "Failed")

    with Stubber(sfn) as stepfunctions:
        stepfunctions.add_response(
            "start_sync_execution",
            {
                "executionArn": f"{STATE_MACHINE_ARN.replace('stateMachine', 'express')}:run:1",
                "startDate": "2026-11-27T12:00:00Z",
                "stopDate": "2026-11-27T12:00:01Z",
                "status": status,
            },
        )
        result = smoke_test_hook.lambda_handler(HOOK_EVENT, hook_context())

    assert result == {"status": "Failed"}


def test_a_misconfigured_hook_still_reports_failed(codedeploy: Stubber, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without its targets the hook cannot test anything, and must not leave CodeDeploy waiting."""
    monkeypatch.delenv("SMOKE_TEST_STATE_MACHINE_ARN", raising=False)
    expect_report(codedeploy, "Failed")

    assert smoke_test_hook.lambda_handler(HOOK_EVENT, hook_context()) == {"status": "Failed"}
