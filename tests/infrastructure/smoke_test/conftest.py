"""The deployment tests' world: moto with the table, the two API functions and the smoke-test state machine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import moto
import pytest

from localapi.template import SamTemplate
from tests.conftest import TABLE_NAME
from tests.support.smoke_test import (
    Execution,
    InProcessLambda,
    deploy_function,
    lambda_role,
    run_to_completion,
    state_machine_name,
    substituted_definition,
    substitutions,
)

PUT_FUNCTION = "PutBirthdayFunction"
GET_FUNCTION = "GetGreetingFunction"
STATE_MACHINE_ROLE = "arn:aws:iam::123456789012:role/greeter-smoke-test"


class SmokeTestWorld:
    """moto with the table, both functions (version + live alias) and the smoke-test state machine."""

    def __init__(
        self, template: SamTemplate, runtime: InProcessLambda, parameters: dict[str, str] | None = None
    ) -> None:
        self.runtime = runtime
        self.dynamodb = boto3.client("dynamodb")
        self.lambda_client = boto3.client("lambda")
        self.sfn = boto3.client("stepfunctions")
        self.dynamodb.create_table(**template.create_table_request(TABLE_NAME))
        handlers = {function.logical_id: function.handler for function in template.api_functions()}
        role = lambda_role(boto3.client("iam"))
        self.put_version_arn = deploy_function(self.lambda_client, role, PUT_FUNCTION, handlers[PUT_FUNCTION])
        self.get_version_arn = deploy_function(self.lambda_client, role, GET_FUNCTION, handlers[GET_FUNCTION])
        self.values = substitutions({"BirthdaysTable": TABLE_NAME}, parameters)
        self.state_machine_arn = self.sfn.create_state_machine(
            name=state_machine_name(),
            definition=substituted_definition(self.values),
            roleArn=STATE_MACHINE_ROLE,
            type="EXPRESS",
        )["stateMachineArn"]

    @property
    def username(self) -> str:
        return self.values["SmokeTestUsername"]

    def targets(self, put_arn: str | None = None, get_arn: str | None = None) -> dict[str, str]:
        return {"putFunctionArn": put_arn or self.put_version_arn, "getFunctionArn": get_arn or self.get_version_arn}

    def run(self, put_arn: str | None = None, get_arn: str | None = None) -> Execution:
        return run_to_completion(self.sfn, self.state_machine_arn, self.targets(put_arn, get_arn))

    def stored_keys(self) -> list[str]:
        return sorted(item["username"]["S"] for item in self.dynamodb.scan(TableName=TABLE_NAME)["Items"])

    def stored_item(self, key: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self.dynamodb.get_item(TableName=TABLE_NAME, Key={"username": {"S": key}}).get(
            "Item"
        )
        return item

    def invoked(self) -> list[str]:
        return [qualified for qualified, _ in self.runtime.invocations]

    def events_of(self, execution_arn: str) -> list[dict[str, Any]]:
        """The events the functions received from one execution."""
        return [event for _, event in self.runtime.invocations if event.get("smokeTestRun") == execution_arn]


@pytest.fixture
def world(template: SamTemplate, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmokeTestWorld]:
    runtime = InProcessLambda()
    runtime.install(monkeypatch)
    with moto.mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield SmokeTestWorld(template, runtime)
