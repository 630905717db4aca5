"""pipeline.yaml and template.yaml agree: the Verify stages read outputs the stack has, and each
environment's deployment role may create every resource the SAM transform generates for its
stack, and none of the other environment's."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.cloudformation import ACCOUNT, Deployment
from tests.support.iam import Request, allowed
from tests.support.pipeline import deployed_pipeline, role_statements, role_tags
from tests.support.sam import REGION, sam_template, translate

APPLICATION = "birthday-greeter"

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


ENVIRONMENTS = ("staging", "prod")
DEPLOY_ROLES = {"staging": "StagingDeployRole", "prod": "ProdDeployRole"}


@pytest.fixture(scope="module")
def pipeline(pipeline_template: dict[str, Any]) -> Deployment:
    return deployed_pipeline(pipeline_template)


def role_can(pipeline: Deployment, environment: str, action: str, arn: str) -> bool:
    """Whether the environment's deployment role may call `action` on `arn` while creating its stack's resources
    (every role carrying the environment's boundary, as template.yaml gives it)."""
    role = DEPLOY_ROLES[environment]
    boundary = f"arn:aws:iam::{ACCOUNT}:policy/{APPLICATION}-{environment}-boundary"
    context: dict[str, str | list[str]] = {"iam:PermissionsBoundary": boundary}
    request = Request(action, arn, context)
    return allowed(role_statements(pipeline, role), request, role_tags(pipeline, role))


def test_verify_stages_read_outputs_the_stack_has(pipeline_template: dict[str, Any]) -> None:
    outputs = set(sam_template()["Outputs"])
    text = str(pipeline_template["Resources"]["Pipeline"])
    referenced = set(re.findall(r"#\{(?:StagingStack|ProdStack)\.(\w+)\}", text))
    assert referenced == {"SmokeTestStateMachineArn", "PutBirthdayLiveAliasArn", "GetGreetingLiveAliasArn"}
    assert referenced <= outputs


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_deployment_role_may_create_every_generated_resource_type(pipeline: Deployment, environment: str) -> None:
    generated = {resource["Type"] for resource in translate({"Environment": environment})["Resources"].values()}
    unknown = generated - set(CREATE_ACTIONS)
    assert not unknown, f"add the create action of {unknown} here and to the deployment roles"
    statements = role_statements(pipeline, DEPLOY_ROLES[environment])
    listed = {
        action
        for statement in statements
        if statement["Effect"] == "Allow"
        for action in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
    }
    missing = {kind: CREATE_ACTIONS[kind] for kind in generated if CREATE_ACTIONS[kind] not in listed}
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
    "AWS::StepFunctions::StateMachine": (f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:", "StateMachineName"),
}


def _named_arns(environment: str) -> list[tuple[str, str]]:
    """(create action, ARN) for every resource whose name template.yaml or CloudFormation derive from the stack."""
    stack = f"{APPLICATION}-{environment}"

    def name_of(value: Any) -> str:
        text = value["Fn::Sub"] if isinstance(value, dict) else value
        return str(text).replace("${AWS::StackName}", stack).replace("${AWS::Region}", REGION)

    arns: list[tuple[str, str]] = []
    for logical_id, resource in translate({"Environment": environment})["Resources"].items():
        if resource["Type"] not in NAMED_ARNS:
            continue
        prefix, name_property = NAMED_ARNS[resource["Type"]]
        props = resource.get("Properties", {})
        name = name_of(props[name_property]) if name_property in props else f"{stack}-{logical_id}-ABC123"
        arns.append((CREATE_ACTIONS[resource["Type"]], prefix + name))
    return arns


@pytest.mark.parametrize(
    ("environment", "action_and_arn"),
    [(environment, pair) for environment in ENVIRONMENTS for pair in _named_arns(environment)],
    ids=lambda value: value if isinstance(value, str) else value[1].rsplit(":", 1)[-1],
)
def test_the_deployment_role_reaches_each_named_resource_of_its_stack_only(
    pipeline: Deployment, environment: str, action_and_arn: tuple[str, str]
) -> None:
    action, arn = action_and_arn
    other = next(e for e in ENVIRONMENTS if e != environment)
    assert role_can(pipeline, environment, action, arn), f"{action} on {arn}"
    assert not role_can(pipeline, other, action, arn), f"the {other} role may {action} on {arn}"
