"""The deployment roles cannot escalate: roles only under the boundary, never without it, never across environments.

Staging deploys without approval, so whatever a commit's template asks of the staging
role must stay inside staging. Each request below is decided as IAM decides it, against
the role's policies as pipeline.yaml resolves them (its DeployEnvironment tag filling in
`${aws:PrincipalTag/DeployEnvironment}`).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.cloudformation import ACCOUNT, Deployment
from tests.support.iam import Request, allowed, decide
from tests.support.pipeline import (
    HOSTED_ZONE,
    PIPELINE_STACK,
    deployed_pipeline,
    role_statements,
    role_tags,
)
from tests.support.sam import REGION

APPLICATION = "birthday-greeter"
DEPLOY_ROLES = {"staging": "StagingDeployRole", "prod": "ProdDeployRole"}
MANAGED_POLICY_LIMIT = 6144  # characters of a managed policy document, whitespace excluded


def boundary(environment: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:policy/{APPLICATION}-{environment}-boundary"


def role_arn(environment: str, name: str = "PutBirthdayFunctionRole-AbC") -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{APPLICATION}-{environment}-{name}"


@pytest.fixture(scope="module")
def pipeline(pipeline_template: dict[str, Any]) -> Deployment:
    return deployed_pipeline(pipeline_template)


def can(pipeline: Deployment, environment: str, request: Request) -> bool:
    role = DEPLOY_ROLES[environment]
    return allowed(role_statements(pipeline, role), request, role_tags(pipeline, role))


def denied_explicitly(pipeline: Deployment, environment: str, request: Request) -> bool:
    role = DEPLOY_ROLES[environment]
    return decide(role_statements(pipeline, role), request, role_tags(pipeline, role)) == "Deny"


@pytest.mark.parametrize("environment", DEPLOY_ROLES)
def test_each_role_is_tagged_with_its_environment_and_used_for_its_stack(
    pipeline: Deployment, pipeline_template: dict[str, Any], environment: str
) -> None:
    assert role_tags(pipeline, DEPLOY_ROLES[environment]) == {"DeployEnvironment": environment}
    stages = pipeline_template["Resources"]["Pipeline"]["Properties"]["Stages"]
    (deploy,) = [s for s in stages if s["Name"] == f"Deploy{environment.capitalize()}"]
    create = deploy["Actions"][0]["Configuration"]
    assert create["RoleArn"] == {"Fn::GetAtt": [DEPLOY_ROLES[environment], "Arn"]}
    assert create["StackName"] == {"Fn::Sub": f"${{ApplicationName}}-{environment}"}


@pytest.mark.parametrize("environment", DEPLOY_ROLES)
def test_a_role_is_created_only_under_its_environments_boundary(pipeline: Deployment, environment: str) -> None:
    other = next(e for e in DEPLOY_ROLES if e != environment)
    with_own = {"iam:PermissionsBoundary": boundary(environment)}
    assert can(pipeline, environment, Request("iam:CreateRole", role_arn(environment), with_own))
    assert not can(pipeline, environment, Request("iam:CreateRole", role_arn(environment)))
    assert not can(
        pipeline,
        environment,
        Request("iam:CreateRole", role_arn(environment), {"iam:PermissionsBoundary": boundary(other)}),
    )
    assert not can(
        pipeline, environment, Request("iam:CreateRole", role_arn(other), {"iam:PermissionsBoundary": boundary(other)})
    )


@pytest.mark.parametrize("environment", DEPLOY_ROLES)
@pytest.mark.parametrize("action", ["iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary"])
def test_a_roles_permissions_change_only_under_its_environments_boundary(
    pipeline: Deployment, environment: str, action: str
) -> None:
    assert can(
        pipeline,
        environment,
        Request(action, role_arn(environment), {"iam:PermissionsBoundary": boundary(environment)}),
    )
    assert not can(pipeline, environment, Request(action, role_arn(environment)))


@pytest.mark.parametrize("environment", DEPLOY_ROLES)
def test_only_sam_managed_policies_are_attached_and_only_under_the_boundary(
    pipeline: Deployment, environment: str
) -> None:
    lambda_basic = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    bounded = {"iam:PermissionsBoundary": boundary(environment)}
    assert can(
        pipeline,
        environment,
        Request("iam:AttachRolePolicy", role_arn(environment), {**bounded, "iam:PolicyARN": lambda_basic}),
    )
    assert not can(
        pipeline, environment, Request("iam:AttachRolePolicy", role_arn(environment), {"iam:PolicyARN": lambda_basic})
    )
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    assert not can(
        pipeline,
        environment,
        Request("iam:AttachRolePolicy", role_arn(environment), {**bounded, "iam:PolicyARN": admin}),
    )


@pytest.mark.parametrize("environment", DEPLOY_ROLES)
def test_the_boundary_is_never_removed_replaced_or_edited(pipeline: Deployment, environment: str) -> None:
    other = next(e for e in DEPLOY_ROLES if e != environment)
    assert denied_explicitly(pipeline, environment, Request("iam:DeleteRolePermissionsBoundary", role_arn(environment)))
    for replacement in (boundary(other), f"arn:aws:iam::{ACCOUNT}:policy/anything-else"):
        request = Request(
            "iam:PutRolePermissionsBoundary", role_arn(environment), {"iam:PermissionsBoundary": replacement}
        )
        assert denied_explicitly(pipeline, environment, request)
    for policy in (boundary("staging"), boundary("prod")):
        for action in (
            "iam:CreatePolicyVersion",
            "iam:SetDefaultPolicyVersion",
            "iam:DeletePolicyVersion",
            "iam:DeletePolicy",
        ):
            assert denied_explicitly(pipeline, environment, Request(action, policy)), (action, policy)


@pytest.mark.parametrize("environment", DEPLOY_ROLES)
def test_the_pipelines_own_roles_are_out_of_reach(pipeline: Deployment, environment: str) -> None:
    """Even a pipeline stack named <ApplicationName>-staging-... cannot have its roles retagged or widened."""
    own = f"arn:aws:iam::{ACCOUNT}:role/{PIPELINE_STACK}-{DEPLOY_ROLES[environment]}-1A2B3C4D"
    for action in ("iam:TagRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:UpdateAssumeRolePolicy"):
        assert denied_explicitly(pipeline, environment, Request(action, own)), action


@pytest.mark.parametrize("environment", DEPLOY_ROLES)
@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("iam:PassRole", "arn:aws:iam::{account}:role/{stack}-PutBirthdayFunctionRole-AbC"),
        ("lambda:CreateFunction", "arn:aws:lambda:{region}:{account}:function:{stack}-PutBirthdayFunction-AbC"),
        ("lambda:UpdateFunctionCode", "arn:aws:lambda:{region}:{account}:function:{stack}-PutBirthdayFunction-AbC"),
        ("dynamodb:UpdateTable", "arn:aws:dynamodb:{region}:{account}:table/{stack}-BirthdaysTable-AbC"),
        ("states:UpdateStateMachine", "arn:aws:states:{region}:{account}:stateMachine:{stack}-smoke-test"),
        ("codedeploy:CreateDeployment", "arn:aws:codedeploy:{region}:{account}:deploymentgroup:{stack}-App-AbC/G"),
        ("cloudwatch:DeleteAlarms", "arn:aws:cloudwatch:{region}:{account}:alarm:{stack}-Api5xx"),
    ],
)
def test_a_role_reaches_its_own_stack_and_never_the_other(
    pipeline: Deployment, environment: str, action: str, resource: str
) -> None:
    other = next(e for e in DEPLOY_ROLES if e != environment)
    context: dict[str, str | list[str]] = {"iam:PassedToService": "lambda.amazonaws.com"}
    for stack, expected in ((f"{APPLICATION}-{environment}", True), (f"{APPLICATION}-{other}", False)):
        arn = resource.format(region=REGION, account=ACCOUNT, stack=stack)
        assert can(pipeline, environment, Request(action, arn, context)) is expected, arn


@pytest.mark.parametrize("environment", DEPLOY_ROLES)
def test_route53_only_in_the_configured_zone_and_only_a_records(pipeline: Deployment, environment: str) -> None:
    zone = f"arn:aws:route53:::hostedzone/{HOSTED_ZONE}"
    alias = {"route53:ChangeResourceRecordSetsRecordTypes": ["A"]}
    assert can(pipeline, environment, Request("route53:ChangeResourceRecordSets", zone, alias))
    assert not can(
        pipeline,
        environment,
        Request("route53:ChangeResourceRecordSets", zone, {"route53:ChangeResourceRecordSetsRecordTypes": ["A", "NS"]}),
    )
    assert not can(
        pipeline, environment, Request("route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/ZOTHER", alias)
    )


def test_no_route53_rights_without_a_hosted_zone(pipeline_template: dict[str, Any]) -> None:
    without = deployed_pipeline(pipeline_template, HostedZoneId="")
    for role in DEPLOY_ROLES.values():
        actions = {
            a
            for s in role_statements(without, role)
            for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        }
        assert not {a for a in actions if a.startswith("route53:")}


def test_the_two_boundaries_are_one_policy_but_for_the_environment(pipeline_template: dict[str, Any]) -> None:
    """pipeline.yaml writes the boundary twice: Fn::ForEach would write it once, but checkov does not
    expand it and would check neither (docs/pipeline.md)."""
    resources = pipeline_template["Resources"]
    staging = json.dumps(resources["StagingPermissionsBoundary"]).replace("-staging", "-<environment>")
    prod = json.dumps(resources["ProdPermissionsBoundary"]).replace("-prod", "-<environment>")
    assert staging == prod
    assert staging.count("-<environment>") >= 8


@pytest.mark.parametrize(
    "policy",
    [
        "DeployApplicationResourcesPolicy",
        "DeployApplicationRolesPolicy",
        "DeployApplicationReleasePolicy",
        "StagingPermissionsBoundary",
        "ProdPermissionsBoundary",
    ],
)
def test_each_managed_policy_fits_iams_size_limit_with_the_longest_application_name(
    pipeline_template: dict[str, Any], policy: str
) -> None:
    longest = "a" + "b" * 30  # ApplicationName's AllowedPattern: at most 31 characters
    resolved = deployed_pipeline(pipeline_template, ApplicationName=longest)
    document = resolved.resolve(pipeline_template["Resources"][policy]["Properties"]["PolicyDocument"])
    assert len(json.dumps(document, separators=(",", ":"))) <= MANAGED_POLICY_LIMIT
