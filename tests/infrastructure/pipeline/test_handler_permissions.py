"""Each deployment role may make every call CloudFormation's resource handlers make for its stack.

CloudFormation creates, reads, updates and deletes a resource through its type's handlers,
with the deployment role's credentials, and a handler calls more than the API that names it
(the dashboard is tagged as it is created, a version's read asks for its provisioned
concurrency). Each type's provider schema lists those calls per handler, and cfn-lint bundles
the schemas, with AWS's programmatic Service Authorization Reference, which gives each action
its resource types. So for every resource template.yaml creates, translated with each
environment's samconfig.toml parameters and again with every optional feature on, each
permission of its create, read, update and delete handlers (and, since the stack's tags
reach every taggable resource, of its tagging) is decided as IAM would decide it for that
environment's role, explicit denies included: on the ARN of what it acts on, or on "*" when
the reference gives the action no resource type. The list handler is left out: CloudFormation
calls it to list resources of a type, never in a stack operation
(https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-develop.html).
NOT_GRANTED is the one list of handler permissions the roles deliberately lack, with why.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import quote

import pytest

from tests.infrastructure.template.test_deployment_template import parameter_overrides
from tests.support.authorization import action_resource_types, arn_pattern, handler_permissions
from tests.support.cloudformation import ACCOUNT, Deployment, physical_ids
from tests.support.iam import Request, allowed, applies, decide
from tests.support.pipeline import (
    HOSTED_ZONE,
    deployed_pipeline,
    read_yaml,
    role_boundary,
    role_statements,
    role_tags,
)
from tests.support.sam import LOG_DELIVERY_ACTIONS, REGION, translate

APPLICATION = "birthday-greeter"
DEPLOY_ROLES = {"staging": "StagingDeployRole", "prod": "ProdDeployRole"}
OPTIONAL_FEATURES = {
    "AlarmEmail": "alarms@example.com",
    "DomainName": "greeter.example.com",
    "CertificateArn": f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
    "HostedZoneId": HOSTED_ZONE,
    "CorsAllowedOrigins": "https://app.example.com",
    "JwtIssuer": "https://issuer.example.com",
    "JwtAudience": "greeter",
    "JwtProtectGet": "true",
    "ReservedConcurrency": "5",
    "SnapStart": "enabled",
}
"""Every optional feature of template.yaml on (CORS on also removes OptionsNotAllowedFunction,
so the parameters as samconfig.toml gives them are checked too)."""

_UNUSED = "only for a property template.yaml does not set:"
NOT_GRANTED: list[tuple[str, tuple[str, ...], str]] = [
    # (resource type, handler permissions (fnmatch patterns), why the roles lack them)
    ("AWS::ApiGatewayV2::Api", ("s3:GetObject",), f"{_UNUSED} BodyS3Location (SAM inlines the OpenAPI Body)"),
    (
        "AWS::ApiGatewayV2::Stage",
        ("logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents"),
        "reading the access log's events: the API writes it, a deployment never reads it",
    ),
    ("AWS::ApiGatewayV2::ApiMapping", ("apigateway:PUT",), "PUT takes no API mapping (the update handler PATCHes it)"),
    (
        "AWS::ApiGatewayV2::Stage",
        ("apigateway:TagResource", "apigateway:UntagResource"),
        "no such IAM actions: API Gateway tags with PUT and DELETE on /tags",
    ),
    (
        "AWS::ApiGatewayV2::DomainName",
        (
            "apigateway:AddCertificateToDomain",
            "apigateway:RemoveCertificateFromDomain",
            "s3:GetObject",
            "s3:GetObjectVersion",
        ),
        f"{_UNUSED} MutualTlsAuthentication and its truststore",
    ),
    (
        "AWS::CodeDeploy::DeploymentGroup",
        ("codedeploy:RegisterOnPremisesInstance",),
        "on-premises instances; a Lambda deployment has none",
    ),
    (
        "AWS::DynamoDB::Table",
        (
            *("dynamodb:*Item", "dynamodb:Query", "dynamodb:Scan", "dynamodb:*Import*", "s3:*"),
            *("logs:Create*", "logs:DescribeLogStreams", "logs:Put*"),
        ),
        f"{_UNUSED} ImportSourceSpecification (the table's items are the functions' business)",
    ),
    (
        "AWS::DynamoDB::Table",
        ("dynamodb:*TableReplica", "iam:CreateServiceLinkedRole"),
        "replicas: AWS::DynamoDB::GlobalTable's",
    ),
    (
        "AWS::DynamoDB::Table",
        ("dynamodb:[EUD][!e]*KinesisStreamingDestination", "kinesis:*"),
        f"{_UNUSED} KinesisStreamSpecification",
    ),
    ("AWS::DynamoDB::Table", ("dynamodb:UpdateContributorInsights",), f"{_UNUSED} ContributorInsightsSpecification"),
    (
        "AWS::DynamoDB::Table",
        ("dynamodb:PutResourcePolicy", "dynamodb:DeleteResourcePolicy"),
        f"{_UNUSED} ResourcePolicy",
    ),
    ("AWS::DynamoDB::Table", ("kms:*",), f"{_UNUSED} SSESpecification.KMSMasterKeyId (the AWS managed key encrypts)"),
    (
        "AWS::IAM::Role",
        ("iam:DeleteRolePermissionsBoundary",),
        "denied on purpose: a stack role's boundary is never removed",
    ),
    (
        "AWS::Lambda::Alias",
        ("lambda:PutProvisionedConcurrencyConfig", "lambda:DeleteProvisionedConcurrencyConfig"),
        f"{_UNUSED} ProvisionedConcurrencyConfig",
    ),
    (
        "AWS::Lambda::Version",
        (
            "lambda:PutProvisionedConcurrencyConfig",
            "lambda:PutRuntimeManagementConfig",
            "lambda:PutFunctionScalingConfig",
        ),
        f"{_UNUSED} ProvisionedConcurrencyConfig, RuntimePolicy, FunctionScalingConfig",
    ),
    (
        "AWS::Lambda::Function",
        ("ec2:*", "elasticfilesystem:*", "s3files:*", "lambda:GetLayerVersion", "lambda:PassCapacityProvider"),
        f"{_UNUSED} VpcConfig, FileSystemConfigs, Layers, CapacityProviderConfig",
    ),
    (
        "AWS::Lambda::Function",
        ("lambda:Put*Config", "lambda:DeleteFunctionCodeSigningConfig", "lambda:GetCodeSigningConfig"),
        f"{_UNUSED} RuntimeManagementConfig, RecursiveLoop, FunctionScalingConfig, CodeSigningConfigArn"
        " (their Gets are granted)",
    ),
    (
        "AWS::Lambda::Function",
        ("kms:[!D]*", "kms:DescribeKey"),
        f"{_UNUSED} KmsKeyArn (the packaged code is only decrypted)",
    ),
    (
        "AWS::Lambda::Function",
        ("lambda:AssociateRuntimeAlias",),
        "not in the Service Authorization Reference: no IAM action to grant",
    ),
    (
        "AWS::Logs::LogGroup",
        (
            "logs:PutDataProtectionPolicy",
            "logs:DeleteDataProtectionPolicy",
            "logs:PutIndexPolicy",
            "logs:DeleteIndexPolicy",
        ),
        f"{_UNUSED} DataProtectionPolicy, FieldIndexPolicies (their reads are granted)",
    ),
    (
        "AWS::Logs::LogGroup",
        (
            "logs:*KmsKey",
            "logs:DeleteResourcePolicy",
            "logs:PutBearerTokenAuthentication",
            "logs:PutLogGroupDeletionProtection",
        ),
        f"{_UNUSED} KmsKeyId, ResourcePolicyDocument, BearerTokenAuthenticationEnabled, DeletionProtectionEnabled",
    ),
    (
        "AWS::Logs::LogGroup",
        ("firehose:TagDeliveryStream", "s3:REST.PUT.OBJECT"),
        "log delivery to Firehose or S3, which no group has",
    ),
    ("AWS::SNS::Topic", ("iam:GetRole", "iam:PassRole"), f"{_UNUSED} DeliveryStatusLogging's roles"),
    ("AWS::SNS::Topic", ("sns:PutDataProtectionPolicy",), f"{_UNUSED} DataProtectionPolicy"),
    (
        "AWS::SNS::Subscription",
        ("iam:GetRole", "iam:PassRole"),
        f"{_UNUSED} SubscriptionRoleArn (Firehose subscriptions)",
    ),
    (
        "AWS::StepFunctions::StateMachine",
        ("kms:[!D]*", "kms:DescribeKey"),
        f"{_UNUSED} EncryptionConfiguration (the packaged definition is only decrypted)",
    ),
]
"""Every handler permission the deployment roles deliberately lack, and why this stack never
needs it. A deployment that failed for one of them would name it."""

SERVICE_SIDE: list[tuple[str, str, tuple[str, ...], str]] = [
    # (resource type, property, what the service calls with the caller's permissions, where AWS says so)
    (
        "AWS::StepFunctions::StateMachine",
        "LoggingConfiguration",
        tuple(sorted(LOG_DELIVERY_ACTIONS)),
        "https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html",
    ),
    (
        "AWS::ApiGatewayV2::Stage",
        "AccessLogSettings",
        (
            *sorted(LOG_DELIVERY_ACTIONS),
            "logs:CreateLogGroup",
            "logs:DescribeLogStreams",
            "logs:GetLogEvents",
            "logs:FilterLogEvents",
        ),
        "https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging.html",
    ),
]
"""Calls a resource's service makes with the deployment role's permissions when the property is
set (vended log delivery), which the provider schemas do not list."""

SHARED_BY_BOTH_ROLES: dict[str, str] = {
    # IAM resource type (service:type, fnmatch pattern): why both environments' roles reach it
    "apigateway:*": "HTTP API ids are random, so the region's HTTP APIs and domain names (docs/pipeline.md)",
    "route53:*": "the one hosted zone pipeline.yaml is given (HostedZoneId)",
    "codedeploy:deploymentconfig": "CodeDeploy's predefined configurations, which every account shares",
    "s3:object": "the one artifact store both environments deploy the same build from",
    "kms:key": "the one artifact store both environments deploy the same build from",
}

API_ID = "a1b2c3d4e5"
PASSED_TO = {
    "AWS::Lambda::Function": "lambda.amazonaws.com",
    "AWS::StepFunctions::StateMachine": "states.amazonaws.com",
    "AWS::Scheduler::Schedule": "scheduler.amazonaws.com",
    "AWS::CodeDeploy::DeploymentGroup": "codedeploy.amazonaws.com",
}
"""The service each type hands its role to (iam:PassedToService)."""


def not_granted(resource_type: str, action: str) -> str | None:
    for kind, patterns, reason in NOT_GRANTED:
        if kind == resource_type and any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns):
            return reason
    return None


# ------------------------------------------------------------------ the stacks as deployed


@cache
def _translated(environment: str, with_features: bool) -> str:
    parameters = {**parameter_overrides(environment), **(OPTIONAL_FEATURES if with_features else {})}
    return json.dumps([translate(parameters), parameters])


def stack(environment: str, with_features: bool) -> Deployment:
    """The environment's stack as CloudFormation resolves it, with the names a deployment gives."""
    template, parameters = json.loads(_translated(environment, with_features))
    name = f"{APPLICATION}-{environment}"
    ids = physical_ids(template, name)
    naming = Deployment(template, parameters, ids, stack_name=name)
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] in {"AWS::Lambda::Alias", "AWS::Lambda::Version"}:
            function = lambda_arn(naming.resolve(properties["FunctionName"]))
            qualifier = properties.get("Name", "1")
            ids[logical_id] = f"{function}:{qualifier}"
            ids[f"{logical_id}.Version"] = "1"
        elif resource["Type"] == "AWS::ApiGatewayV2::Api":
            ids[logical_id] = API_ID
        elif resource["Type"] == "AWS::ApiGatewayV2::DomainName":
            ids[logical_id] = naming.resolve(properties["DomainName"])
    return Deployment(template, parameters, ids, stack_name=name)


def lambda_arn(name_or_arn: str) -> str:
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name_or_arn}"


def apigateway(path: str) -> str:
    return f"arn:aws:apigateway:{REGION}::{path}"


def tags_of(arn: str) -> str:
    return apigateway(f"/tags/{quote(arn, safe='')}")


@dataclass(frozen=True)
class Resource:
    """One resource of a deployed stack, its properties resolved."""

    logical_id: str
    definition: dict[str, Any]
    properties: dict[str, Any]
    deployment: Deployment

    @property
    def ref(self) -> Any:
        return self.deployment.ref(self.logical_id)

    def packaged(self) -> dict[str, str]:
        """The code or definition `sam package` put in the artifact bucket, and the key encrypting it."""
        bucket = pipeline().get_att("ArtifactBucket", "Arn")
        return {
            "s3:object": f"{bucket}/{package_prefix()}/0f1e2d3c4b5a69788a9b",
            "kms:key": pipeline().get_att("ArtifactKey", "Arn"),
        }


def _api(r: Resource) -> dict[str, str]:
    api = f"/apis/{API_ID}"
    parts = {f"apigateway:{part}s": apigateway(f"{api}/{part}s") for part in ("route", "integration", "authorizer")}
    parts |= {
        f"apigateway:{part}": apigateway(f"{api}/{part}s/x1y2z3") for part in ("route", "integration", "authorizer")
    }
    return {
        "apigateway:apis": apigateway("/apis"),
        "apigateway:api": apigateway(api),
        **parts,
        "apigateway:cors": apigateway(f"{api}/cors"),
        "apigateway:tags": tags_of(apigateway(api)),
    }


def _stage(r: Resource) -> dict[str, str]:
    stages = f"/apis/{r.properties['ApiId']}/stages"
    stage = f"{stages}/{r.properties['StageName']}"
    return {
        "apigateway:stages": apigateway(stages),
        "apigateway:stage": apigateway(stage),
        "apigateway:accesslogsettings": apigateway(f"{stage}/accesslogsettings"),
        "apigateway:tags": tags_of(apigateway(stage)),
        "logs:log-group": r.properties["AccessLogSettings"]["DestinationArn"],
    }


def _domain_name(r: Resource) -> dict[str, str]:
    domain = f"/domainnames/{r.properties['DomainName']}"
    return {
        "apigateway:domainnames": apigateway("/domainnames"),
        "apigateway:domainname": apigateway(domain),
        "apigateway:tags": tags_of(apigateway(domain)),
    }


def _api_mapping(r: Resource) -> dict[str, str]:
    mappings = f"/domainnames/{r.properties['DomainName']}/apimappings"
    return {"apigateway:apimappings": apigateway(mappings), "apigateway:apimapping": apigateway(f"{mappings}/m1n2o3")}


def deployment_group(application: str, group: str, config: str) -> dict[str, str]:
    codedeploy = f"arn:aws:codedeploy:{REGION}:{ACCOUNT}"
    return {
        "codedeploy:application": f"{codedeploy}:application:{application}",
        "codedeploy:deploymentgroup": f"{codedeploy}:deploymentgroup:{application}/{group}",
        "codedeploy:deploymentconfig": f"{codedeploy}:deploymentconfig:{config}",
    }


def _alias(r: Resource) -> dict[str, str]:
    found = {"lambda:function": lambda_arn(r.properties["FunctionName"]), "lambda:function alias": r.ref}
    update = r.definition.get("UpdatePolicy", {}).get("CodeDeployLambdaAliasUpdate")
    if update:
        application, group = (r.deployment.resolve(update[key]) for key in ("ApplicationName", "DeploymentGroupName"))
        group_definition = r.deployment.template["Resources"][update["DeploymentGroupName"]["Ref"]]
        found |= deployment_group(
            application, group, r.deployment.resolve(group_definition)["Properties"]["DeploymentConfigName"]
        )
    return found


def _schedule(r: Resource) -> dict[str, str]:
    group = r.properties.get("GroupName", "default")
    return {
        "scheduler:schedule": f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/{group}/{r.properties['Name']}",
        "iam:role": r.properties["Target"]["RoleArn"],
    }


REGIONAL = f"{REGION}:{ACCOUNT}"
TARGETS: dict[str, Callable[[Resource], dict[str, str]]] = {
    "AWS::ApiGatewayV2::Api": _api,
    "AWS::ApiGatewayV2::Stage": _stage,
    "AWS::ApiGatewayV2::DomainName": _domain_name,
    "AWS::ApiGatewayV2::ApiMapping": _api_mapping,
    "AWS::CloudWatch::Alarm": lambda r: {
        "cloudwatch:alarm": f"arn:aws:cloudwatch:{REGIONAL}:alarm:{r.properties['AlarmName']}"
    },
    "AWS::CloudWatch::Dashboard": lambda r: {
        "cloudwatch:dashboard": f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/{r.properties['DashboardName']}"
    },
    "AWS::CodeDeploy::Application": lambda r: {
        "codedeploy:application": f"arn:aws:codedeploy:{REGIONAL}:application:{r.ref}"
    },
    "AWS::CodeDeploy::DeploymentGroup": lambda r: {
        **deployment_group(r.properties["ApplicationName"], r.ref, r.properties["DeploymentConfigName"]),
        "iam:role": r.properties["ServiceRoleArn"],
    },
    "AWS::DynamoDB::Table": lambda r: {"dynamodb:table": f"arn:aws:dynamodb:{REGIONAL}:table/{r.ref}"},
    "AWS::IAM::Role": lambda r: {"iam:role": r.deployment.get_att(r.logical_id, "Arn")},
    "AWS::Lambda::Function": lambda r: {
        "lambda:function": lambda_arn(r.ref),
        "iam:role": r.properties["Role"],
        **r.packaged(),
    },
    "AWS::Lambda::Version": lambda r: {
        "lambda:function": lambda_arn(r.properties["FunctionName"]),
        "lambda:function version": r.ref,
    },
    "AWS::Lambda::Alias": _alias,
    "AWS::Lambda::Permission": lambda r: {"lambda:function": lambda_arn(r.properties["FunctionName"])},
    "AWS::Logs::LogGroup": lambda r: {
        "logs:log-group": f"arn:aws:logs:{REGIONAL}:log-group:{r.properties['LogGroupName']}"
    },
    "AWS::Route53::RecordSet": lambda r: {
        "route53:hostedzone": f"arn:aws:route53:::hostedzone/{r.properties['HostedZoneId']}",
        "route53:change": "arn:aws:route53:::change/C0123456789ABCDEFGHIJ",
    },
    "AWS::SNS::Topic": lambda r: {"sns:topic": r.ref},
    "AWS::SNS::Subscription": lambda r: {"sns:topic": r.properties["TopicArn"]},
    "AWS::Scheduler::Schedule": _schedule,
    "AWS::StepFunctions::StateMachine": lambda r: {
        "states:statemachine": r.ref,
        "iam:role": r.properties["RoleArn"],
        **r.packaged(),
    },
}
"""What each type's handlers act on, by IAM resource type (service:type): the ARN of the resource,
and of what it uses (its role, its packaged code, its deployment group)."""


def targets(logical_id: str, deployment: Deployment) -> dict[str, str]:
    definition = deployment.template["Resources"][logical_id]
    assert definition["Type"] in TARGETS, (
        f"{definition['Type']} ({logical_id}): say in TARGETS what its handlers act on"
    )
    properties = deployment.resolve(definition.get("Properties", {}))
    return TARGETS[definition["Type"]](Resource(logical_id, definition, properties, deployment))


@cache
def package_prefix() -> str:
    """Where buildspec.yml's `sam package` puts the code and definitions in the artifact bucket."""
    prefix: str = read_yaml("buildspec.yml")["env"]["variables"]["PACKAGE_PREFIX"]
    return prefix


def contexts(kind: str, action: str, properties: dict[str, Any]) -> list[dict[str, str | list[str]]]:
    """The request context IAM sees for the call (what the roles' conditions test)."""
    if action == "iam:PassRole":
        return [{"iam:PassedToService": PASSED_TO[kind]}]
    if kind == "AWS::IAM::Role":
        bounded: dict[str, str | list[str]] = {"iam:PermissionsBoundary": properties["PermissionsBoundary"]}
        if action in {"iam:AttachRolePolicy", "iam:DetachRolePolicy"}:
            return [{**bounded, "iam:PolicyARN": arn} for arn in properties.get("ManagedPolicyArns", [])]
        return [bounded]
    if action == "route53:ChangeResourceRecordSets":
        return [{"route53:ChangeResourceRecordSetsRecordTypes": [properties["Type"]]}]
    return [{}]


# ------------------------------------------------------------------ the calls


@dataclass(frozen=True)
class Call:
    """One handler permission of one resource of an environment's stack."""

    environment: str
    kind: str
    logical_id: str
    handler: str
    action: str

    def __str__(self) -> str:
        return f"{self.environment}: {self.kind} {self.logical_id} ({self.handler}) {self.action}"


@dataclass(frozen=True)
class Decided:
    call: Call
    request: Request
    resource_types: tuple[str, ...]  # the IAM resource types the request's ARN is of ("*": none)
    allowed: bool


def handler_calls(environment: str) -> Iterator[tuple[Call, Deployment]]:
    """Every handler permission of every resource the environment's stack creates, with and
    without the optional features."""
    for with_features in (False, True):
        deployment = stack(environment, with_features)
        for logical_id, resource in deployment.template["Resources"].items():
            if "Condition" in resource and not deployment.condition(resource["Condition"]):
                continue
            permissions = dict(handler_permissions(resource["Type"]))
            for kind, needing, actions, _ in SERVICE_SIDE:
                if kind == resource["Type"] and needing in resource.get("Properties", {}):
                    permissions[f"{needing}, service side"] = actions
            for handler, actions in permissions.items():
                for action in actions:
                    yield Call(environment, resource["Type"], logical_id, handler, action), deployment


@cache
def pipeline() -> Deployment:
    return deployed_pipeline(read_yaml("pipeline.yaml"))


def role_allows(environment: str, request: Request) -> bool:
    role = DEPLOY_ROLES[environment]
    return allowed(
        role_statements(pipeline(), role), request, role_tags(pipeline(), role), role_boundary(pipeline(), role)
    )


def requests(call: Call, deployment: Deployment) -> list[Request]:
    """The requests IAM decides for the call: on each ARN of a resource type the action takes,
    or on "*" when it takes none. An action the reference does not know, or whose resource
    the stack does not say, is an AssertionError naming what to add."""
    types = action_resource_types(call.action)
    assert types is not None, (
        f"{call}: not an IAM action in the Service Authorization Reference; list it in NOT_GRANTED"
    )
    if not types:
        resources = ["*"]
    else:
        known = targets(call.logical_id, deployment)
        resources = [known[kind] for kind in types if kind in known]
        assert resources, f"{call}: acts on {types}, and TARGETS gives {call.kind} none of them"
    properties = deployment.resolve(deployment.template["Resources"][call.logical_id].get("Properties", {}))
    return [
        Request(call.action, resource, context)
        for resource in resources
        for context in contexts(call.kind, call.action, properties)
    ]


def should_grant(environment: str, request: Request) -> str:
    """Where the missing permission belongs: the statement that denies it, or those that grant
    other actions of the same service on the same resource, or those of the service."""
    role = DEPLOY_ROLES[environment]
    statements, tags = role_statements(pipeline(), role), role_tags(pipeline(), role)
    denying = [s["Sid"] for s in statements if s["Effect"] == "Deny" and applies(s, request, tags)]
    if denying:
        return f"denied by {denying}"
    service = request.action.split(":", 1)[0]
    on_it = [
        s
        for s in statements
        if s["Effect"] == "Allow"
        and (request.resource == "*" or "*" not in _as_list(s["Resource"]))
        and applies({**s, "Action": f"{service}:*"}, request, tags)
    ]
    plain = [s for s in on_it if "Condition" not in s] or on_it
    if plain:
        return f"add it to {[s['Sid'] for s in plain]}"
    of_service = [s["Sid"] for s in statements if any(a.startswith(f"{service}:") for a in _as_list(s["Action"]))]
    return f"no statement grants {service} actions on it (statements of {service}: {of_service})"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@cache
def decided(environment: str) -> tuple[Decided, ...]:
    found: dict[tuple[str, str, str, str], Decided] = {}
    for call, deployment in handler_calls(environment):
        if not_granted(call.kind, call.action):
            continue
        for request in requests(call, deployment):
            key = (call.kind, call.action, request.resource, json.dumps(request.context, sort_keys=True))
            if key not in found:
                kinds = tuple(k for k, arn in targets(call.logical_id, deployment).items() if arn == request.resource)
                found[key] = Decided(call, request, kinds, role_allows(environment, request))
    return tuple(found.values())


# ------------------------------------------------------------------ the tests


@pytest.mark.parametrize("environment", DEPLOY_ROLES)
def test_the_role_may_make_every_call_of_every_handler_of_its_stack(environment: str) -> None:
    refused = [
        f"{d.call} on {d.request.resource} {d.request.context or ''}-> {should_grant(environment, d.request)}"
        for d in decided(environment)
        if not d.allowed
    ]
    assert not refused, "\n".join(refused)
    assert len(decided(environment)) > 300


@pytest.mark.parametrize("environment", DEPLOY_ROLES)
def test_the_other_environments_role_may_make_none_of_those_calls(environment: str) -> None:
    """Only "*" and what both stacks share by design (SHARED_BY_BOTH_ROLES) are in reach of both."""
    other = next(e for e in DEPLOY_ROLES if e != environment)
    shared = list(SHARED_BY_BOTH_ROLES)
    crossing = []
    for d in decided(environment):
        if d.request.resource == "*":
            continue
        if any(fnmatch.fnmatchcase(k, pattern) for k in d.resource_types for pattern in shared):
            continue
        if role_allows(other, d.request):
            crossing.append(f"{d.call}: {d.request.resource}")
    assert not crossing, "\n".join(crossing)


def test_every_arn_asked_about_has_the_format_the_reference_gives_its_resource_type() -> None:
    checked = 0
    for environment in DEPLOY_ROLES:
        for with_features in (False, True):
            deployment = stack(environment, with_features)
            for logical_id, resource in deployment.template["Resources"].items():
                if "Condition" in resource and not deployment.condition(resource["Condition"]):
                    continue
                for kind, arn in targets(logical_id, deployment).items():
                    assert arn_pattern(kind).fullmatch(arn), (logical_id, kind, arn, arn_pattern(kind).pattern)
                    checked += 1
    assert checked > 100


def test_each_permission_not_granted_is_a_handler_permission_of_the_stack_that_the_roles_lack() -> None:
    """NOT_GRANTED stays true: each entry matches a handler permission of a resource the stack
    creates, and where IAM can decide it, the role does not have it."""
    calls = [(call, deployment) for environment in DEPLOY_ROLES for call, deployment in handler_calls(environment)]
    for kind, pattern, reason in [(kind, p, reason) for kind, patterns, reason in NOT_GRANTED for p in patterns]:
        matching = [
            (call, deployment)
            for call, deployment in calls
            if call.kind == kind and fnmatch.fnmatchcase(call.action.lower(), pattern.lower())
        ]
        assert matching, f"{kind} {pattern}: no handler permission of the stack matches ({reason})"
        for call, deployment in matching:
            types = action_resource_types(call.action)
            known = targets(call.logical_id, deployment)
            if types is None or (types and not any(t in known for t in types)):
                continue
            decisions = [role_allows(call.environment, r) for r in requests(call, deployment)]
            assert not all(decisions), f"{call} is granted after all: remove it from NOT_GRANTED"


def test_the_role_grants_no_action_that_no_handler_of_the_stack_calls() -> None:
    """Least privilege, the other way round: every action the deployment roles allow is a
    handler permission of a resource type the stack creates (or starts the SAM transform)."""
    called = {
        action.lower()
        for environment in DEPLOY_ROLES
        for call, _ in handler_calls(environment)
        for action in [call.action]
    }
    called.add("cloudformation:createchangeset")
    granted = {
        action.lower()
        for environment, role in DEPLOY_ROLES.items()
        for statement in role_statements(pipeline(), role)
        if statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"])
    }
    assert granted - called == set()


def test_a_role_under_a_permissions_boundary_is_decided_under_it() -> None:
    """role_boundary: the boundary a role of pipeline.yaml carries is part of what it may do."""
    template = read_yaml("pipeline.yaml")
    template["Resources"]["StagingDeployRole"]["Properties"]["PermissionsBoundary"] = {
        "Ref": "StagingPermissionsBoundary"
    }
    bounded = deployed_pipeline(template)
    boundary = role_boundary(bounded, "StagingDeployRole")
    assert boundary is not None
    assert (
        decide(
            boundary, Request("dynamodb:GetItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{APPLICATION}-staging-T")
        )
        == "Allow"
    )
    assert role_boundary(pipeline(), "StagingDeployRole") is None
