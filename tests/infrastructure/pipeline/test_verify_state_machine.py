"""The Verify stages' state machine, executed for real in moto.

moto cannot serve StartSyncExecution, so the one Task state is split in two Pass
states: the first evaluates the Task's own Parameters (so the request it would send is
checked), the second returns a StartSyncExecution response. Every other state runs
exactly as pipeline.yaml defines it.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import moto
import pytest

SMOKE_TEST_ARN = "arn:aws:states:eu-west-1:123456789012:stateMachine:SmokeTestStateMachine-AbC123"
PUT_ALIAS_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:birthday-greeter-staging-PutBirthday-X:live"
GET_ALIAS_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:birthday-greeter-staging-GetGreeting-X:live"
PIPELINE_INPUT = {
    "smokeTestStateMachineArn": SMOKE_TEST_ARN,
    "putFunctionArn": PUT_ALIAS_ARN,
    "getFunctionArn": GET_ALIAS_ARN,
}
ROLE_ARN = "arn:aws:iam::123456789012:role/verify-deployment"


def smoke_test_response(status: str, **details: str) -> dict[str, Any]:
    """A StartSyncExecution response as the SDK integration returns it."""
    return {
        "ExecutionArn": f"{SMOKE_TEST_ARN.replace(':stateMachine:', ':express:')}:run:1",
        "StateMachineArn": SMOKE_TEST_ARN,
        "Name": "run",
        "Status": status,
        **details,
    }


def with_canned_smoke_test(definition: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(definition)
    states = changed["States"]
    task = states.pop("RunSmokeTest")
    # Nothing else in the Task (no Catch, Retry or ResultSelector) that the split would drop.
    assert set(task) == {"Type", "Resource", "TimeoutSeconds", "Parameters", "ResultPath", "Next"}
    states["RunSmokeTest"] = {
        "Type": "Pass",
        "Parameters": task["Parameters"],
        "ResultPath": "$.startSyncExecutionRequest",
        "Next": "SmokeTestResponse",
    }
    states["SmokeTestResponse"] = {
        "Type": "Pass",
        "Result": response,
        "ResultPath": task["ResultPath"],
        "Next": task["Next"],
    }
    return changed


@pytest.fixture
def definition(pipeline_template: dict[str, Any]) -> dict[str, Any]:
    machine = pipeline_template["Resources"]["VerifyDeploymentStateMachine"]["Properties"]
    assert "DefinitionSubstitutions" not in machine, "the definition is used as written"
    result: dict[str, Any] = machine["Definition"]
    return result


@pytest.fixture
def stepfunctions() -> Iterator[Any]:
    with moto.mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield boto3.client("stepfunctions", region_name="eu-west-1")


def run(stepfunctions: Any, definition: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    machine = stepfunctions.create_state_machine(
        name=f"verify-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(with_canned_smoke_test(definition, response)),
        roleArn=ROLE_ARN,
        type="STANDARD",
    )
    execution = stepfunctions.start_execution(
        stateMachineArn=machine["stateMachineArn"],
        name=f"staging-{uuid.uuid4()}",
        input=json.dumps(PIPELINE_INPUT),
    )
    for _ in range(200):
        described: dict[str, Any] = stepfunctions.describe_execution(executionArn=execution["executionArn"])
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise AssertionError("the execution did not finish")


def test_passes_when_the_smoke_test_succeeds(stepfunctions: Any, definition: dict[str, Any]) -> None:
    described = run(stepfunctions, definition, smoke_test_response("SUCCEEDED", Output="{}"))
    assert described["status"] == "SUCCEEDED"


def test_starts_the_smoke_test_with_its_own_input_under_this_executions_name(
    stepfunctions: Any, definition: dict[str, Any]
) -> None:
    described = run(stepfunctions, definition, smoke_test_response("SUCCEEDED", Output="{}"))
    request = json.loads(described["output"])["startSyncExecutionRequest"]
    assert request["StateMachineArn"] == SMOKE_TEST_ARN
    assert request["Name"] == described["name"]
    # The SDK integration takes the API's shape: Input is a JSON string, and holds
    # exactly the smoke test's input contract.
    assert json.loads(request["Input"]) == {"putFunctionArn": PUT_ALIAS_ARN, "getFunctionArn": GET_ALIAS_ARN}


def test_fails_with_the_smoke_tests_error_and_cause(stepfunctions: Any, definition: dict[str, Any]) -> None:
    response = smoke_test_response(
        "FAILED", Error="GreetingMismatch", Cause="GET returned 'Hello, other!' for smoke-test user"
    )
    described = run(stepfunctions, definition, response)
    assert described["status"] == "FAILED"
    assert described["error"] == "SmokeTestFailed"
    cause = json.loads(described["cause"])
    assert cause["Status"] == "FAILED"
    assert cause["Error"] == "GreetingMismatch"
    assert cause["Cause"] == "GET returned 'Hello, other!' for smoke-test user"
    assert cause["ExecutionArn"] == response["ExecutionArn"]


@pytest.mark.parametrize("status", ["TIMED_OUT", "ABORTED"])
def test_fails_when_the_smoke_test_did_not_succeed_for_any_reason(
    stepfunctions: Any, definition: dict[str, Any], status: str
) -> None:
    described = run(stepfunctions, definition, smoke_test_response(status))
    assert described["status"] == "FAILED"
    assert described["error"] == "SmokeTestFailed"
    assert json.loads(described["cause"])["Status"] == status
