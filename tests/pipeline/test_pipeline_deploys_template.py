"""pipeline.yaml and template.yaml agree: the Verify stages read outputs the stack has, and the
CloudFormation deployment role may create every resource the SAM transform generates."""

from __future__ import annotations

import fnmatch
import re
from typing import Any

import pytest

from tests.support.sam import REGION, sam_template, translate

ACCOUNT = "123456789012"
APPLICATION = "birthday-greeter"
STACK = f"{APPLICATION}-staging"

# What CloudFormation calls to create each resource type, and the ARN it acts on
# (names CloudFormation generates are `<stack>-<LogicalId>-<suffix>`).
CREATE_ACTIONS: dict[str, str] = {
    "AWS::ApiGatewayV2::Api": "apigateway:POST",
    "AWS::ApiGatewayV2::Stage": "apigateway:POST",
    "AWS::ApiGatewayV2::DomainName": "apigateway:POST",
    "AWS::ApiGatewayV2::ApiMapping": "apigateway:POST",
    "AWS::CloudWatch::Alarm": "cloudwatch:PutMetricAlarm",
    "AWS::CloudWatch::Dashboard": "cloudwatch:PutDashboard",
    "AWS::CodeDeploy::Application": "codedeploy:CreateApplication",
    "AWS::CodeDeploy::DeploymentGroup": "codedeploy:CreateDeploymentGroup",
    "AWS::DynamoDB::Table": "dynamodb:CreateTable",
    "AWS::IAM::Role": "iam:CreateRole",
    "AWS::Lambda::Alias": "lambda:CreateAlias",
    "AWS::Lambda::Function": "lambda:CreateFunction",
    "AWS::Lambda::Permission": "lambda:AddPermission",
    "AWS::Lambda::Version": "lambda:PublishVersion",
    "AWS::Logs::LogGroup": "logs:CreateLogGroup",
    "AWS::Route53::RecordSet": "route53:ChangeResourceRecordSets",
    "AWS::SNS::Subscription": "sns:Subscribe",
    "AWS::SNS::Topic": "sns:CreateTopic",
    "AWS::Scheduler::Schedule": "scheduler:CreateSchedule",
    "AWS::StepFunctions::StateMachine": "states:CreateStateMachine",
}


def _render(value: Any) -> list[str]:
    """A `!Sub` ARN of pipeline.yaml with the pipeline's own pseudo parameters filled in."""
    if isinstance(value, list):
        return [arn for item in value for arn in _render(item)]
    text = value["Fn::Sub"] if isinstance(value, dict) else value
    for name, replacement in {
        "AWS::Partition": "aws",
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "ApplicationName": APPLICATION,
    }.items():
        text = text.replace("${" + name + "}", replacement)
    assert "${" not in text, text
    return [text]


@pytest.fixture(scope="module")
def deploy_statements(pipeline_template: dict[str, Any]) -> list[dict[str, Any]]:
    role = pipeline_template["Resources"]["CloudFormationDeployRole"]["Properties"]
    statements = [statement for policy in role["Policies"] for statement in policy["PolicyDocument"]["Statement"]]
    return [statement for statement in statements if statement["Effect"] == "Allow"]


def allowed(statements: list[dict[str, Any]], action: str, arn: str | None = None) -> bool:
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if action not in actions:
            continue
        if arn is None or any(fnmatch.fnmatchcase(arn, pattern) for pattern in _render(statement["Resource"])):
            return True
    return False


def test_verify_stages_read_outputs_the_stack_has(pipeline_template: dict[str, Any]) -> None:
    outputs = set(sam_template()["Outputs"])
    text = str(pipeline_template["Resources"]["Pipeline"])
    referenced = set(re.findall(r"#\{(?:StagingStack|ProdStack)\.(\w+)\}", text))
    assert referenced == {"SmokeTestStateMachineArn", "PutBirthdayLiveAliasArn", "GetGreetingLiveAliasArn"}
    assert referenced <= outputs


def test_the_deployment_role_may_create_every_generated_resource_type(deploy_statements: list[dict[str, Any]]) -> None:
    generated = {resource["Type"] for resource in translate({"Environment": "staging"})["Resources"].values()}
    unknown = generated - set(CREATE_ACTIONS)
    assert not unknown, f"add the create action of {unknown} here and to the deployment role"
    missing = {kind: CREATE_ACTIONS[kind] for kind in generated if not allowed(deploy_statements, CREATE_ACTIONS[kind])}
    assert missing == {}


# Where each stack-named resource kind lives, and the property that names it; without
# that property CloudFormation generates `<stack>-<LogicalId>-<suffix>`.
NAMED_ARNS: dict[str, tuple[str, str]] = {
    "AWS::Lambda::Function": (f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:", "FunctionName"),
    "AWS::CloudWatch::Alarm": (f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:", "AlarmName"),
    "AWS::CloudWatch::Dashboard": (f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/", "DashboardName"),
    "AWS::Logs::LogGroup": (f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:", "LogGroupName"),
    "AWS::SNS::Topic": (f"arn:aws:sns:{REGION}:{ACCOUNT}:", "TopicName"),
    "AWS::Scheduler::Schedule": (f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/", "Name"),
    "AWS::IAM::Role": (f"arn:aws:iam::{ACCOUNT}:role/", "RoleName"),
}


def _named_arns() -> list[tuple[str, str]]:
    """(create action, ARN) for every resource whose name template.yaml or CloudFormation derive from the stack."""

    def name_of(value: Any) -> str:
        text = value["Fn::Sub"] if isinstance(value, dict) else value
        return str(text).replace("${AWS::StackName}", STACK).replace("${AWS::Region}", REGION)

    arns: list[tuple[str, str]] = []
    for logical_id, resource in translate({"Environment": "staging"})["Resources"].items():
        if resource["Type"] not in NAMED_ARNS:
            continue
        prefix, name_property = NAMED_ARNS[resource["Type"]]
        props = resource.get("Properties", {})
        name = name_of(props[name_property]) if name_property in props else f"{STACK}-{logical_id}-ABC123"
        arns.append((CREATE_ACTIONS[resource["Type"]], prefix + name))
    return arns


@pytest.mark.parametrize("action_and_arn", _named_arns(), ids=lambda pair: pair[1].rsplit(":", 1)[-1])
def test_the_deployment_role_reaches_each_named_resource(
    deploy_statements: list[dict[str, Any]], action_and_arn: tuple[str, str]
) -> None:
    action, arn = action_and_arn
    assert allowed(deploy_statements, action, arn), f"{action} on {arn}"
