"""`python -m loadtest.fleet` (make loadtest-fleet): what it asks ECS and S3 for, against moto.

Deploying the stack, pushing the image and a run on real Fargate need an AWS account: they are
not tested here (docs/load-testing.md lists them as unverified). What is tested: the commands the
tasks get (the same the image test runs in containers), the RunTask requests as botocore
validates them and moto places them (the master on Fargate, the workers on Fargate Spot in
batches of ten, both in the fleet's subnets and security groups), the master's address, stopping
a run, emptying the bucket, and the arguments it refuses.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import boto3
import moto
import pytest

from loadtest.fleet import (
    Fleet,
    Load,
    Run,
    batches,
    duration_seconds,
    empty_bucket,
    main,
    master_command,
    region_of,
    worker_command,
)
from tests.tooling.loadtest.test_make_loadtest import loadtest_arguments


def test_the_master_runs_python_m_loadtest_for_remote_workers_and_uploads_its_report() -> None:
    load = Load(mode="check", duration="5m", rate=500, users=99, seed="7")
    command = master_command(load, "https://api.example", 20, 5557, "s3://b/runs/r/report", tokens_url="s3://b/t.json")
    assert command == [
        *("check", "--duration", "5m", "--rate", "500", "--seed", "7"),
        *("--host", "https://api.example", "--remote-workers", "20", "--bind", "0.0.0.0:5557"),
        *("--worker-wait", "600", "--out", "/scratch/report", "--upload", "s3://b/runs/r/report"),
        *("--tokens", "s3://b/t.json"),
    ]
    assert Load(users=10, spawn_rate=5).arguments() == [
        *("run", "--duration", "60s", "--users", "10", "--spawn-rate", "5")
    ]


def test_a_worker_gets_the_masters_address_and_the_run_tokens() -> None:
    assert worker_command("10.87.0.12", 5557) == ["worker", "--master", "10.87.0.12:5557", "--master-silence", "30"]
    assert worker_command("10.87.0.12", 5557, "s3://b/t.json")[-2:] == ["--tokens", "s3://b/t.json"]


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("30s", 30), ("5m", 300), ("1h30m", 5400), ("2h", 7200)])
def test_durations_read_as_locust_reads_them(text: str, seconds: int) -> None:
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "5 minutes", "m5"])
def test_anything_else_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        duration_seconds(text)


def test_the_region_comes_from_an_execute_api_url() -> None:
    assert region_of("https://abc123.execute-api.eu-central-1.amazonaws.com") == "eu-central-1"
    assert region_of("https://greeter.example.com") is None


def test_run_task_starts_ten_tasks_at_most_per_call() -> None:
    assert batches(23) == [10, 10, 3]
    assert batches(10) == [10]
    assert batches(1) == [1]


REGION = "eu-west-1"


@pytest.fixture
def fleet() -> Iterator[tuple[Fleet, Any]]:
    """The fleet's ECS and network pieces in moto, as the stack's outputs name them."""
    with moto.mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.87.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # as fleet.yaml's VPC
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.87.{n}.0/24")["Subnet"]["SubnetId"] for n in (0, 16)]
        groups = [ec2.create_security_group(GroupName=n, Description=n, VpcId=vpc)["GroupId"] for n in ("m", "w")]
        ecs = boto3.client("ecs", region_name=REGION)
        ecs.create_cluster(clusterName="fleet", capacityProviders=["FARGATE", "FARGATE_SPOT"])
        definitions = {}
        for role in ("master", "worker"):
            definitions[role] = ecs.register_task_definition(
                family=f"fleet-{role}",
                networkMode="awsvpc",
                requiresCompatibilities=["FARGATE"],
                cpu="1024",
                memory="2048",
                containerDefinitions=[{"name": role, "image": "fleet:0123", "essential": True, "memory": 2048}],
            )["taskDefinition"]["taskDefinitionArn"]
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="fleet-reports", CreateBucketConfiguration={"LocationConstraint": REGION})
        yield (
            Fleet.from_outputs(
                {
                    "Cluster": "fleet",
                    "MasterTaskDefinition": definitions["master"],
                    "WorkerTaskDefinition": definitions["worker"],
                    "Subnets": ",".join(subnets),
                    "MasterSecurityGroup": groups[0],
                    "WorkerSecurityGroup": groups[1],
                    "MasterPort": "5557",
                    "ReportsBucket": "fleet-reports",
                    "RepositoryUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fleet",
                    "LogGroup": "/ecs/fleet",
                }
            ),
            ecs,
        )


def test_a_run_starts_the_master_on_fargate_then_the_workers_on_spot(fleet: tuple[Fleet, Any]) -> None:
    outputs, ecs = fleet
    run = Run("20260101T000000Z-abc123", outputs, ecs)
    run.start_master(["run", "--remote-workers", "23"])
    address = run.master_address(wait=False)
    assert ipaddress.ip_address(address).is_private
    run.start_workers(23, worker_command(address, 5557), spot=True)
    assert len(run.workers) == 23

    (master,) = run.describe([run.master])
    assert master["launchType"] == "FARGATE"
    (override,) = master["overrides"]["containerOverrides"]
    assert override == {"name": "master", "command": ["run", "--remote-workers", "23"]}
    assert {"key": "run", "value": run.run_id} in ecs.list_tags_for_resource(resourceArn=run.master)["tags"]
    workers = run.describe(run.workers)
    assert {task["capacityProviderName"] for task in workers} == {"FARGATE_SPOT"}
    assert {tuple(task["overrides"]["containerOverrides"][0]["command"][:3]) for task in workers} == {
        ("worker", "--master", f"{address}:5557")
    }
    assert run.prefix == "s3://fleet-reports/runs/20260101T000000Z-abc123"

    run.stop("test over")
    assert {task["lastStatus"] for task in run.describe([run.master, *run.workers])} == {"STOPPED"}


def test_on_demand_workers_run_on_fargate(fleet: tuple[Fleet, Any]) -> None:
    outputs, ecs = fleet
    run = Run("r", outputs, ecs)
    run.start_workers(2, worker_command("10.87.0.5", 5557), spot=False)
    assert {task["capacityProviderName"] for task in run.describe(run.workers)} == {"FARGATE"}


def test_the_network_is_the_fleets_with_public_addresses_for_outbound_only(fleet: tuple[Fleet, Any]) -> None:
    outputs, _ = fleet
    master = outputs.master_request(["run"], "r")["networkConfiguration"]["awsvpcConfiguration"]
    worker = outputs.worker_request(["worker"], 3, "r", spot=True)["networkConfiguration"]["awsvpcConfiguration"]
    assert master == {
        "subnets": outputs.subnets,
        "securityGroups": [outputs.master_security_group],
        "assignPublicIp": "ENABLED",
    }
    assert worker["securityGroups"] == [outputs.worker_security_group]


def test_emptying_the_bucket_deletes_every_report(fleet: tuple[Fleet, Any]) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    for index in range(1005):  # more than one page and one DeleteObjects call
        s3.put_object(Bucket="fleet-reports", Key=f"runs/r/report/{index}.csv", Body=b"x")
    assert empty_bucket(s3, "fleet-reports") == 1005
    assert s3.list_objects_v2(Bucket="fleet-reports")["KeyCount"] == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--region", REGION, "--host", "https://x", "--stack", "s"], "give HOST=url or STACK=name"),
        (["run", "--region", REGION], "give HOST=url or STACK=name"),
    ],
)
def test_refuses_a_run_it_cannot_start(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_make_loadtest_fleet_passes_the_target_the_workers_and_the_stacks_parameters() -> None:
    arguments = loadtest_arguments(
        *("loadtest-fleet", "STACK=birthday-greeter-dev", "WORKERS=12", "MODE=check", "RATE=1000", "DURATION=5m"),
        "FLEET_PARAMETERS=MasterMemory=8192 WorkerCpu=1024",
    )
    assert arguments == [
        *("run", "--stack", "birthday-greeter-dev", "--fleet-stack", "greeter-loadtest", "--workers", "12"),
        *("--mode", "check", "--duration", "5m", "--rate", "1000"),
        *("--parameter", "MasterMemory=8192", "--parameter", "WorkerCpu=1024"),
    ]


def test_a_malformed_stack_parameter_is_refused() -> None:
    with pytest.raises(SystemExit):
        main(["run", "--host", "https://x", "--parameter", "no-equals-sign"])


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        (["--workers", "0"], "argument --workers: must be 1 or more"),
        (["--duration", "0s"], "argument --duration: must be 1s or more"),
        (["--duration", "5 minutes"], "argument --duration: not a duration"),
        (["--rate", "inf"], "argument --rate: must be a finite number"),
        (["--users", "abc"], "argument --users: not a whole number"),
        (["--put-ratio", "2"], "argument --put-ratio: must be from 0 to 1"),
        (["--user-rate", "-1"], "argument --user-rate: must be 0 or more"),
    ],
)
def test_a_knob_the_master_would_refuse_is_refused_before_anything_is_deployed(
    argument: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A DURATION the master could not read used to surface after its tasks started, leaving them running."""
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--region", REGION, "--host", "https://x", *argument])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


@pytest.fixture
def no_aws_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """No credentials and no region anywhere boto3 looks (and no instance metadata: nothing leaves the machine)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_DEFAULT_REGION", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.usefixtures("no_aws_configuration")
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--host", "https://abc.execute-api.eu-west-1.amazonaws.com"], "no AWS credentials"),
        (["run", "--region", REGION, "--host", "https://x"], "no AWS credentials"),
        (["delete"], "no region"),
        (["delete", "--region", REGION], "no AWS credentials"),
    ],
)
def test_without_aws_configuration_it_stops_in_one_line_before_docker_or_aws(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run built the image (pulling its base and wheels) before it found there were no credentials."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}"), err
    assert err.count("\n") == 1, err


def test_without_a_docker_engine_it_stops_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """It was docker's DockerException, a traceback; nothing in AWS is touched before the image is built."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    assert main(["run", "--region", REGION, "--host", "https://x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no Docker engine answers"), err
    assert err.count("\n") == 1, err
