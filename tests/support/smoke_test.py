"""The smoke-test state machine as CloudFormation would create it, run by moto's ASL interpreter.

moto executes the definition for real (`execute_state_machine`); its Lambda
tasks reach moto's Lambda service, and `InProcessLambda` answers those
invocations with the real handlers in this process instead of a Docker
container, so the state machine talks to the code that would be deployed.
"""

from __future__ import annotations

import importlib
import io
import json
import re
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from moto.awslambda.models import LambdaFunction

from localapi.workers import LambdaContext
from tests.support.sam import sam_template, state_machine_definition

Handler = Callable[[dict[str, Any], Any], Any]
STATE_MACHINE_ID = "SmokeTestStateMachine"
STACK_NAME = "birthday-greeter-test"
"""The stack the moto world stands for: it names the state machine, as CloudFormation would."""
_SUBSTITUTION = re.compile(r"\$\{([^}]+)\}")


def resolve(
    value: Any, resource_names: dict[str, str], mappings: dict[str, Any], parameters: dict[str, str] | None = None
) -> str:
    """A DefinitionSubstitutions value: a literal, `Ref` to a resource or a parameter, or `Fn::FindInMap`."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Ref"}:
        name = value["Ref"]
        return resource_names[name] if name in resource_names else (parameters or {})[name]
    if isinstance(value, dict) and set(value) == {"Fn::FindInMap"}:
        mapping, key, attribute = value["Fn::FindInMap"]
        return str(mappings[mapping][key][attribute])
    raise ValueError(f"DefinitionSubstitutions value {value!r} is not resolved by this test")


def substitutions(resource_names: dict[str, str], parameters: dict[str, str] | None = None) -> dict[str, str]:
    """The state machine's DefinitionSubstitutions from template.yaml, with values resolved (parameters: their
    defaults, then `parameters`)."""
    document = sam_template()
    declared = document["Resources"][STATE_MACHINE_ID]["Properties"]["DefinitionSubstitutions"]
    values = {name: str(spec["Default"]) for name, spec in document["Parameters"].items() if "Default" in spec}
    values.update(parameters or {})
    mappings = document.get("Mappings", {})
    return {name: resolve(value, resource_names, mappings, values) for name, value in declared.items()}


def state_machine_name(stack_name: str = STACK_NAME) -> str:
    """The state machine's `Name` from template.yaml, for a stack of that name."""
    name = sam_template()["Resources"][STATE_MACHINE_ID]["Properties"]["Name"]
    resolved: str = name["Fn::Sub"].replace("${AWS::StackName}", stack_name)
    assert "${" not in resolved, resolved
    return resolved


def substituted_definition(values: dict[str, str]) -> str:
    """The definition text after CloudFormation replaced every `${key}` of DefinitionSubstitutions.

    CloudFormation substitutes inside strings anywhere in the document; a
    placeholder without a value would reach Step Functions unreplaced, so it is
    an error here.
    """
    text = json.dumps(state_machine_definition())
    missing = sorted(set(_SUBSTITUTION.findall(text)) - set(values))
    if missing:
        raise ValueError(f"placeholders without a DefinitionSubstitutions value: {missing}")
    return _SUBSTITUTION.sub(lambda match: values[match.group(1)], text)


def lambda_context(function_name: str, function_arn: str, request_id: str | None = None) -> LambdaContext:
    """The context the Lambda runtime passes: the local API's, with the functions' 6 s timeout."""
    return LambdaContext(
        function_name=function_name,
        memory_limit_in_mb=256,
        aws_request_id=request_id or str(uuid.uuid4()),
        deadline=time.monotonic() + 6,
        invoked_function_arn=function_arn,
    )


class InProcessLambda:
    """Answers moto's Lambda invocations with Python handlers, as the Lambda runtime would.

    A handler that raises becomes a function error (`FunctionError: Unhandled`)
    with the runtime's `errorType`/`errorMessage` payload.
    """

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}
        self.invocations: list[tuple[str, dict[str, Any]]] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        runtime = self

        def invoke(function: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
            return runtime.invoke(function, event if isinstance(event, dict) else {})

        monkeypatch.setattr(LambdaFunction, "_invoke_lambda", invoke)

    def invoke(self, function: LambdaFunction, event: dict[str, Any]) -> tuple[str, bool, str]:
        qualified = f"{function.function_name}:{function.version}"
        self.invocations.append((qualified, event))
        handler = self.handlers.get(function.function_name) or _import_handler(str(function.handler))
        context = lambda_context(function.function_name, function.function_arn)
        try:
            result = handler(event, context)
        except Exception as error:  # noqa: BLE001 - the runtime turns any exception into a function error
            payload = {"errorType": type(error).__name__, "errorMessage": str(error)}
            return json.dumps(payload), True, traceback.format_exc()
        return json.dumps(result), False, ""


def _import_handler(dotted: str) -> Handler:
    module_name, _, attribute = dotted.rpartition(".")
    handler: Handler = getattr(importlib.import_module(module_name), attribute)
    return handler


def zipped_placeholder() -> bytes:
    """Deployment package bytes for moto; the code that runs is InProcessLambda's."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("placeholder.py", "")
    return buffer.getvalue()


def lambda_role(iam_client: Any) -> str:
    """An execution role Lambda may assume (moto checks the trust policy)."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = iam_client.create_role(RoleName="greeter-function", AssumeRolePolicyDocument=json.dumps(trust))
    arn: str = role["Role"]["Arn"]
    return arn


def deploy_function(lambda_client: Any, role_arn: str, name: str, handler: str) -> str:
    """Creates the function, publishes a version and points `live` at it; returns the version ARN."""
    lambda_client.create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role_arn,
        Handler=handler,
        Code={"ZipFile": zipped_placeholder()},
    )
    version = lambda_client.publish_version(FunctionName=name)
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion=version["Version"])
    arn: str = version["FunctionArn"]
    return arn


@dataclass(frozen=True)
class Execution:
    arn: str
    status: str
    error: str | None
    cause: str | None
    events: list[dict[str, Any]]

    def entered_states(self) -> list[str]:
        return [
            event["stateEnteredEventDetails"]["name"] for event in self.events if "stateEnteredEventDetails" in event
        ]

    def succeeded_task_types(self) -> list[str]:
        return [event["type"] for event in self.events if event["type"] == "TaskSucceeded"]


def start(sfn: Any, state_machine_arn: str, execution_input: dict[str, str], name: str | None = None) -> str:
    """Starts an execution (under a unique name unless one is given); moto runs it in its own thread."""
    started = sfn.start_execution(
        stateMachineArn=state_machine_arn,
        name=name or f"smoke-{uuid.uuid4()}",
        input=json.dumps(execution_input),
    )
    arn: str = started["executionArn"]
    return arn


def wait_for(sfn: Any, execution_arn: str) -> Execution:
    """Waits for an execution to end; the bound only turns a hang into a failure, it is not a timing."""
    deadline = time.monotonic() + 60
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"execution {execution_arn} still running after 60 s")
        time.sleep(0.05)
    history = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    return Execution(
        arn=execution_arn,
        status=described["status"],
        error=described.get("error"),
        cause=described.get("cause"),
        events=history,
    )


def run_to_completion(
    sfn: Any, state_machine_arn: str, execution_input: dict[str, str], name: str | None = None
) -> Execution:
    """Starts an execution and waits for it to end."""
    return wait_for(sfn, start(sfn, state_machine_arn, execution_input, name))
