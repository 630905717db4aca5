"""Every role the application stack creates carries its environment's permissions boundary, and the
boundary pipeline.yaml creates lets each of them do its job there, and nothing in another environment.

The roles come from translating template.yaml with each environment's samconfig.toml
values; their policies are resolved with the names a deployment of that stack would give
its resources, and each action on each resource is decided, as IAM would, against the
role's own policies and against the boundary.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from tests.infrastructure.template.test_deployment_template import parameter_overrides
from tests.support.cloudformation import ACCOUNT, Deployment, physical_ids
from tests.support.iam import Request, decide
from tests.support.pipeline import deployed_pipeline, read_yaml
from tests.support.sam import REGION, translate

ENVIRONMENTS = {"staging": "staging", "prod": "prod"}  # samconfig environment: Environment
SAM_MANAGED_POLICY_USES = {
    # What each AWS managed policy SAM attaches is used for at run time, by role kind.
    "service-role/AWSLambdaBasicExecutionRole": [
        ("logs:CreateLogStream", "{log_group}"),
        ("logs:PutLogEvents", "{log_group}"),
    ],
    "AWSXrayWriteOnlyAccess": [
        ("xray:PutTraceSegments", "*"),
        ("xray:PutTelemetryRecords", "*"),
        ("xray:GetSamplingRules", "*"),
    ],
}


@cache
def _stack(config_env: str) -> str:
    return json.dumps(translate(parameter_overrides(config_env)))


def stack(config_env: str) -> tuple[dict[str, Any], Deployment]:
    template: dict[str, Any] = json.loads(_stack(config_env))
    name = f"birthday-greeter-{ENVIRONMENTS.get(config_env, 'dev')}"
    deployment = Deployment(template, parameter_overrides(config_env), physical_ids(template, name), stack_name=name)
    return template, deployment


def roles(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role"}


def boundary_statements(environment: str) -> list[dict[str, Any]]:
    pipeline = deployed_pipeline(read_yaml("pipeline.yaml"))
    policy = pipeline.template["Resources"][f"{environment.capitalize()}PermissionsBoundary"]
    statements: list[dict[str, Any]] = pipeline.resolve(policy["Properties"]["PolicyDocument"])["Statement"]
    return statements


def concrete(resource: str) -> str:
    """A resource a request could name, for an ARN pattern a policy writes (`fn:*` is `fn:live`);
    `*` stays `*`: the actions IAM scopes to no resource."""
    if resource == "*":
        return resource
    return resource.replace(":*", ":live").replace("*", "x")


def uses(role_name: str, template: dict[str, Any], deployment: Deployment) -> list[Request]:
    """Every request the role makes at run time: each action on each resource of its own policies,
    what the managed policies it carries are used for, and CodeDeploy's work for its role."""
    role = template["Resources"][role_name]
    requests = []
    for policy in role["Properties"].get("Policies", []):
        for statement in deployment.resolve(policy["PolicyDocument"])["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            context: dict[str, str | list[str]] = {}
            if "ForAllValues:StringLike" in statement.get("Condition", {}):
                (pattern,) = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
                context = {"dynamodb:LeadingKeys": [concrete(pattern)]}
            requests += [Request(a, concrete(r), context) for a in actions for r in resources]
    functions = {
        name: r
        for name, r in template["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"]["Role"] == {"Fn::GetAtt": [role_name, "Arn"]}
    }
    for function in functions.values():
        log_group = deployment.resolve(function["Properties"]["LoggingConfig"]["LogGroup"])
        group_arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{log_group}:log-stream:2026/11/27/[$LATEST]0f1e"
        for arn in role["Properties"].get("ManagedPolicyArns", []):
            for action, resource in SAM_MANAGED_POLICY_USES.get(arn.split(":policy/", 1)[1], []):
                requests.append(Request(action, resource.format(log_group=group_arn)))
    if role_name == "CodeDeployRole":
        for name, group in template["Resources"].items():
            if group["Type"] != "AWS::CodeDeploy::DeploymentGroup":
                continue
            function = name.removesuffix("DeploymentGroup")
            alias = deployment.resolve({"Fn::Sub": f"${{{function}.Arn}}:live"})
            requests += [Request(a, alias) for a in ("lambda:GetAlias", "lambda:UpdateAlias")]
            requests += [Request("cloudwatch:DescribeAlarms", "*")]
        requests += [
            Request("lambda:InvokeFunction", deployment.resolve({"Fn::GetAtt": [hook, "Arn"]}))
            for hook in ("PutBirthdaySmokeTestHook", "GetGreetingSmokeTestHook")
        ]
    return requests


@pytest.mark.parametrize("config_env", ENVIRONMENTS)
def test_every_role_of_the_stack_carries_its_environments_boundary(config_env: str) -> None:
    template, deployment = stack(config_env)
    expected = f"arn:aws:iam::{ACCOUNT}:policy/birthday-greeter-{ENVIRONMENTS[config_env]}-boundary"
    assert set(roles(template)) == {
        "PutBirthdayFunctionRole",
        "GetGreetingFunctionRole",
        "OptionsNotAllowedFunctionRole",
        "PutBirthdaySmokeTestHookRole",
        "GetGreetingSmokeTestHookRole",
        "SmokeTestStateMachineRole",
        "SmokeTestStateMachineSyntheticCanaryRole",
        "CodeDeployRole",
    }
    for name, role in roles(template).items():
        assert deployment.resolve(role["Properties"]).get("PermissionsBoundary") == expected, name


def test_dev_deployed_with_your_own_credentials_has_no_boundary() -> None:
    template, deployment = stack("default")
    for name, role in roles(template).items():
        assert "PermissionsBoundary" not in deployment.resolve(role["Properties"]), name


def test_codedeploy_shifts_traffic_with_the_stacks_own_bounded_role() -> None:
    """SAM's DeploymentPreference.Role: SAM then creates no CodeDeployServiceRole of its own."""
    template, _ = stack("prod")
    assert "CodeDeployServiceRole" not in template["Resources"]
    groups = [r for r in template["Resources"].values() if r["Type"] == "AWS::CodeDeploy::DeploymentGroup"]
    assert len(groups) == 2
    for group in groups:
        assert group["Properties"]["ServiceRoleArn"] == {"Fn::GetAtt": ["CodeDeployRole", "Arn"]}
    role = template["Resources"]["CodeDeployRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "codedeploy.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    assert role["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSCodeDeployRoleForLambda"}
    ]


@pytest.mark.parametrize("config_env", ENVIRONMENTS)
def test_the_boundary_lets_every_role_do_its_job_and_nothing_in_the_other_environment(config_env: str) -> None:
    template, deployment = stack(config_env)
    environment = ENVIRONMENTS[config_env]
    other = next(e for e in ENVIRONMENTS.values() if e != environment)
    own, others = boundary_statements(environment), boundary_statements(other)
    checked = 0
    for name in roles(template):
        for request in uses(name, template, deployment):
            assert decide(own, request) == "Allow", f"{name}: {request}"
            if request.resource != "*":
                assert decide(others, request) != "Allow", f"the {other} boundary lets {name}: {request}"
            checked += 1
    assert checked > 30


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("dynamodb:Scan", "table/birthday-greeter-staging-BirthdaysTable-x"),
        ("dynamodb:DeleteTable", "table/birthday-greeter-staging-BirthdaysTable-x"),
        ("dynamodb:GetItem", "table/birthday-greeter-prod-BirthdaysTable-x"),
        ("lambda:UpdateFunctionCode", "function:birthday-greeter-staging-PutBirthdayFunction-x"),
        ("lambda:InvokeFunction", "function:birthday-greeter-prod-PutBirthdayFunction-x"),
        ("iam:CreateRole", "role/birthday-greeter-staging-x"),
        ("iam:PassRole", "role/birthday-greeter-staging-x"),
        ("states:StartExecution", "stateMachine:birthday-greeter-prod-smoke-test"),
        ("sts:AssumeRole", "role/birthday-greeter-prod-x"),
    ],
)
def test_the_staging_boundary_refuses_what_no_staging_role_needs(action: str, resource: str) -> None:
    service = action.split(":", 1)[0]
    arn = (
        f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"
        if service not in {"iam", "sts"}
        else f"arn:aws:iam::{ACCOUNT}:{resource}"
    )
    assert decide(boundary_statements("staging"), Request(action, arn)) != "Allow"
