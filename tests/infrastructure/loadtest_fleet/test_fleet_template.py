"""loadtest/fleet.yaml, the load-test fleet's stack, as CloudFormation would deploy it.

It is the load tester's own stack: never part of template.yaml or pipeline.yaml. Its roles may
do what a run needs and nothing else (decided as IAM would, on the resolved policies); nothing
outside the fleet may open a connection to a task; the tasks run as nobody on a read-only root
and log to a group that expires its events. cfn-lint and checkov check it too (`make test`).
"""

from __future__ import annotations

from typing import Any

import pytest

from loadtest.fleet import Fleet
from tests.support.cloudformation import ACCOUNT, Deployment
from tests.support.iam import Request, allowed
from tests.support.paths import ROOT
from tests.support.pipeline import read_yaml
from tests.support.sam import REGION

STACK = "greeter-loadtest"
BUCKET = f"arn:aws:s3:::{STACK}-reportsbucket-1a2b3c"
REPOSITORY = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{STACK}-repository-9z8y"
LOG_GROUP = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/{STACK}:*"
RUN = "runs/20260101T000000Z-abc123"


@pytest.fixture(scope="module")
def fleet() -> Deployment:
    return Deployment(
        read_yaml("loadtest/fleet.yaml"),
        {"ImageTag": "0123456789ab"},
        physical_ids={
            "ReportsBucket.Arn": BUCKET,
            "Repository.Arn": REPOSITORY,
            "LogGroup": f"/ecs/{STACK}",
            "Repository.RepositoryUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{STACK}-repository-9z8y",
        },
        stack_name=STACK,
    )


def resources(fleet: Deployment, kind: str) -> dict[str, dict[str, Any]]:
    return {
        name: fleet.resolve(resource.get("Properties", {}))
        for name, resource in fleet.template["Resources"].items()
        if resource["Type"] == kind
    }


def statements(fleet: Deployment, role: str) -> list[dict[str, Any]]:
    properties = resources(fleet, "AWS::IAM::Role")[role]
    return [statement for policy in properties["Policies"] for statement in policy["PolicyDocument"]["Statement"]]


@pytest.mark.parametrize(
    ("role", "action", "resource", "expected"),
    [
        ("MasterRole", "s3:PutObject", f"{BUCKET}/{RUN}/report/summary.txt", True),
        ("MasterRole", "s3:GetObject", f"{BUCKET}/{RUN}/tokens.json", True),
        ("MasterRole", "s3:PutObject", f"{BUCKET}/{RUN}/tokens.json", False),  # never rewrites a token file
        ("MasterRole", "s3:GetObject", f"{BUCKET}/{RUN}/report/summary.txt", False),
        ("MasterRole", "s3:DeleteObject", f"{BUCKET}/{RUN}/report/summary.txt", False),
        ("MasterRole", "s3:PutObject", "arn:aws:s3:::another-bucket/runs/x/report/summary.txt", False),
        ("MasterRole", "s3:ListBucket", BUCKET, False),
        ("WorkerRole", "s3:GetObject", f"{BUCKET}/{RUN}/tokens.json", True),
        ("WorkerRole", "s3:PutObject", f"{BUCKET}/{RUN}/report/summary.txt", False),
        ("WorkerRole", "s3:GetObject", f"{BUCKET}/{RUN}/report/summary.txt", False),
        ("ExecutionRole", "ecr:GetAuthorizationToken", "*", True),
        ("ExecutionRole", "ecr:BatchGetImage", REPOSITORY, True),
        ("ExecutionRole", "ecr:BatchGetImage", f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/other", False),
        ("ExecutionRole", "ecr:PutImage", REPOSITORY, False),
        ("ExecutionRole", "logs:PutLogEvents", f"{LOG_GROUP[:-1]}log-stream:master/master/1", True),
        ("ExecutionRole", "logs:PutLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/other:log-stream:x", False),
        ("ExecutionRole", "logs:DeleteLogGroup", LOG_GROUP, False),
        ("ExecutionRole", "s3:GetObject", f"{BUCKET}/{RUN}/tokens.json", False),
    ],
)
def test_each_role_may_do_what_a_run_needs_and_nothing_else(
    fleet: Deployment, role: str, action: str, resource: str, expected: bool
) -> None:
    assert allowed(statements(fleet, role), Request(action, resource)) is expected


def test_only_ecs_tasks_of_this_account_assume_the_roles(fleet: Deployment) -> None:
    for properties in resources(fleet, "AWS::IAM::Role").values():
        (trust,) = properties["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
        assert "ManagedPolicyArns" not in properties


def test_nothing_outside_the_fleet_can_connect_to_a_task(fleet: Deployment) -> None:
    groups = resources(fleet, "AWS::EC2::SecurityGroup")
    assert "SecurityGroupIngress" not in groups["WorkerSecurityGroup"]
    (ingress,) = groups["MasterSecurityGroup"]["SecurityGroupIngress"]
    assert ingress["SourceSecurityGroupId"] == "WorkerSecurityGroup-physical-id"
    assert (ingress["FromPort"], ingress["ToPort"]) == ("5557", "5557")
    assert not resources(fleet, "AWS::EC2::SecurityGroupIngress")
    for subnet in resources(fleet, "AWS::EC2::Subnet").values():
        assert subnet["MapPublicIpOnLaunch"] is False


def test_the_tasks_reach_only_https_the_api_and_the_master(fleet: Deployment) -> None:
    groups = resources(fleet, "AWS::EC2::SecurityGroup")
    for group in groups.values():
        assert {(rule["FromPort"], rule["ToPort"]) for rule in group["SecurityGroupEgress"]} == {
            ("443", "443"),
            (443, 443),
        }
    (to_master,) = resources(fleet, "AWS::EC2::SecurityGroupEgress").values()
    assert to_master["DestinationSecurityGroupId"] == "MasterSecurityGroup-physical-id"
    assert to_master["GroupId"] == "WorkerSecurityGroup-physical-id"


def test_tasks_run_as_nobody_on_a_read_only_root_and_log_with_retention(fleet: Deployment) -> None:
    definitions = resources(fleet, "AWS::ECS::TaskDefinition")
    assert set(definitions) == {"MasterTaskDefinition", "WorkerTaskDefinition"}
    for definition in definitions.values():
        assert definition["RequiresCompatibilities"] == ["FARGATE"]
        (container,) = definition["ContainerDefinitions"]
        assert container["ReadonlyRootFilesystem"] is True
        assert container["User"] == "65534"
        assert container["Image"].endswith(":0123456789ab")
        assert container["MountPoints"] == [{"SourceVolume": "scratch", "ContainerPath": "/scratch"}]
        assert container["LogConfiguration"]["Options"]["awslogs-group"] == f"/ecs/{STACK}"
    (log_group,) = resources(fleet, "AWS::Logs::LogGroup").values()
    assert log_group["RetentionInDays"] == "30"
    (bucket,) = resources(fleet, "AWS::S3::Bucket").values()
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == "30"


def test_workers_may_run_on_fargate_spot(fleet: Deployment) -> None:
    (cluster,) = resources(fleet, "AWS::ECS::Cluster").values()
    assert cluster["CapacityProviders"] == ["FARGATE", "FARGATE_SPOT"]


def test_the_launcher_reads_every_output_it_needs(fleet: Deployment) -> None:
    outputs = {name: str(fleet.resolve(output["Value"])) for name, output in fleet.template["Outputs"].items()}
    launched = Fleet.from_outputs(outputs)
    assert launched.subnets == ["SubnetA-physical-id", "SubnetB-physical-id"]
    assert launched.master_port == 5557


@pytest.mark.parametrize("application", ["template.yaml", "pipeline.yaml", "buildspec.yml", "samconfig.toml"])
def test_the_fleet_is_never_part_of_the_application(application: str) -> None:
    text = (ROOT / application).read_text(encoding="utf-8")
    assert "fleet" not in text.lower()
    assert "loadtest" not in text.lower()
