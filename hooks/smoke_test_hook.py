"""CodeDeploy pre-traffic hook: smoke-test the new version, then tell CodeDeploy how it went.

The smoke test itself is the Step Functions state machine in
statemachines/smoke_test.asl.json (it PUTs, GETs, checks and cleans up); this
hook only starts it synchronously against the targets in its environment and
reports `Succeeded` or `Failed`. Whatever happens, it reports: a hook that
never answers holds the deployment for an hour before CodeDeploy gives up.
Its timeout (template.yaml) leaves room for the whole smoke test and the report.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_codedeploy.client import CodeDeployClient
    from mypy_boto3_codedeploy.literals import LifecycleEventStatusType
    from mypy_boto3_stepfunctions.client import SFNClient

SUCCEEDED: LifecycleEventStatusType = "Succeeded"
FAILED: LifecycleEventStatusType = "Failed"

SMOKE_TEST_CONFIG = Config(
    # StartSyncExecution answers when the execution ends (the state machine times out at 120 s).
    read_timeout=130,
    connect_timeout=5,
    # A retry would run the whole smoke test again past the hook's timeout.
    retries={"mode": "standard", "total_max_attempts": 1},
)
REPORT_CONFIG = Config(connect_timeout=5, read_timeout=10, retries={"mode": "standard", "total_max_attempts": 3})

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)


@dataclass(frozen=True)
class SmokeTest:
    """Which state machine to run, against which put and get targets (version or alias ARNs)."""

    state_machine_arn: str
    put_function_arn: str
    get_function_arn: str

    @classmethod
    def from_environment(cls) -> SmokeTest:
        return cls(
            state_machine_arn=os.environ["SMOKE_TEST_STATE_MACHINE_ARN"],
            put_function_arn=os.environ["PUT_FUNCTION_ARN"],
            get_function_arn=os.environ["GET_FUNCTION_ARN"],
        )

    def execution_input(self) -> str:
        return json.dumps({"putFunctionArn": self.put_function_arn, "getFunctionArn": self.get_function_arn})


def run_smoke_test(sfn: SFNClient, smoke_test: SmokeTest, execution_name: str) -> LifecycleEventStatusType:
    """`Succeeded` only when the execution succeeded; its error and cause go to the log otherwise."""
    try:
        result = sfn.start_sync_execution(
            stateMachineArn=smoke_test.state_machine_arn,
            name=execution_name,
            input=smoke_test.execution_input(),
        )
    except (ClientError, BotoCoreError) as error:
        logger.error("the smoke test could not be started: %s", error, extra={"reason": str(error)})
        return FAILED
    outcome = {"execution": result.get("executionArn"), "status": result["status"]}
    if result["status"] == "SUCCEEDED":
        logger.info("smoke test passed", extra=outcome)
        return SUCCEEDED
    failure = {"error": result.get("error"), "cause": result.get("cause")}
    logger.error(
        "smoke test %s: %s: %s", result["status"], failure["error"], failure["cause"], extra={**outcome, **failure}
    )
    return FAILED


def report(codedeploy: CodeDeployClient, event: dict[str, Any], status: LifecycleEventStatusType) -> None:
    codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"],
        lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status=status,
    )
    logger.info("reported to CodeDeploy", extra={"deploymentId": event["DeploymentId"], "status": status})


sfn_client: SFNClient = boto3.client("stepfunctions", config=SMOKE_TEST_CONFIG)
codedeploy_client: CodeDeployClient = boto3.client("codedeploy", config=REPORT_CONFIG)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    # Unique per invocation, and findable from the deployment: d-XXXXXXXXX-<request id>.
    execution_name = f"{event['DeploymentId']}-{context.aws_request_id}"
    try:
        smoke_test = SmokeTest.from_environment()
    except KeyError as missing:
        logger.error("the hook is misconfigured: %s is not set", missing)
        status = FAILED
    else:
        status = run_smoke_test(sfn_client, smoke_test, execution_name)
    report(codedeploy_client, event, status)
    return {"status": status}
