"""`python -m loadtest.fleet run|delete`: what `make loadtest-fleet` and `make loadtest-fleet-delete` run.

run     deploys (or updates) the fleet stack (loadtest/fleet.yaml) in the target's region, builds
        the image for the fleet's CPU architecture and pushes it to the stack's repository (once
        per content), starts a master and N workers as Fargate tasks (workers on Fargate Spot
        unless --on-demand), waits for the master to end, fetches its report from S3 into
        reports/<run id>/ and prints the summary. Exit code: the master's (python -m loadtest's).
delete  stops the fleet's tasks, empties its bucket and deletes the stack (its repository's
        images go with it).

Runs on the load tester's machine with its AWS credentials and a Docker engine; nothing here
runs in the fleet. The tasks share nothing but the master's address (its private IP, given to
each worker when it starts), the run's token file and the report prefix in S3.
"""

from __future__ import annotations

import argparse
import base64
import re
import secrets
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import boto3
from botocore.exceptions import ClientError, WaiterError

from loadtest import s3
from loadtest.knobs import count, duration_seconds, non_negative, positive, run_time, share
from loadtest.stack import StackLookupError, api_url

LOADTEST = Path(__file__).resolve().parent
TEMPLATE = LOADTEST / "fleet.yaml"
REPORTS = LOADTEST.parent / "reports"
DEFAULT_STACK = "greeter-loadtest"
RUN_TASK_BATCH = 10  # ECS RunTask starts at most 10 tasks per call
STARTED_BY = "greeter-loadtest"
POLL_SECONDS = 10.0
START_MARGIN_SECONDS = 15 * 60  # image pulls, Spot capacity, the master's wait for its workers
WORKER_WAIT_SECONDS = 600  # how long the master waits for its workers to connect
MASTER_SILENCE_SECONDS = 30
_EXECUTE_API = re.compile(r"https://[^./]+\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:/|$)")


class FleetError(Exception):
    """Something the load tester must act on; the text says what."""


def region_of(url: str) -> str | None:
    """The region of an API Gateway execute-api URL, or None for any other URL."""
    found = _EXECUTE_API.match(url)
    return found["region"] if found else None


@dataclass(frozen=True)
class Load:
    """What the master runs: `python -m loadtest run|check` with these knobs."""

    mode: str = "run"
    duration: str = "60s"
    users: int | None = None
    spawn_rate: float | None = None
    user_rate: float | None = None
    rate: float | None = None
    put_ratio: float | None = None
    seed: str | None = None

    def arguments(self) -> list[str]:
        knobs: list[tuple[str, object]] = [("--duration", self.duration)]
        if self.mode == "check":
            knobs.append(("--rate", self.rate))
        else:
            knobs += [("--users", self.users), ("--spawn-rate", self.spawn_rate), ("--user-rate", self.user_rate)]
        knobs += [("--put-ratio", self.put_ratio), ("--seed", self.seed)]
        return [self.mode, *(part for flag, value in knobs if value is not None for part in (flag, f"{value}"))]


def master_command(
    load: Load,
    host: str,
    workers: int,
    port: int,
    report_url: str,
    *,
    tokens_url: str | None = None,
    bind_host: str = "0.0.0.0",  # noqa: S104 - the task's own interface, reachable from the workers' group only
) -> list[str]:
    """The master container's arguments (after the image's `python -m loadtest`)."""
    return [
        *load.arguments(),
        *("--host", host, "--remote-workers", str(workers), "--bind", f"{bind_host}:{port}"),
        *("--worker-wait", str(WORKER_WAIT_SECONDS), "--out", "/scratch/report", "--upload", report_url),
        *(["--tokens", tokens_url] if tokens_url else []),
    ]


def worker_command(master: str, port: int, tokens_url: str | None = None) -> list[str]:
    """A worker container's arguments: the master's address, and the run's token file if any."""
    return [
        *("worker", "--master", f"{master}:{port}", "--master-silence", str(MASTER_SILENCE_SECONDS)),
        *(["--tokens", tokens_url] if tokens_url else []),
    ]


def batches(count: int, size: int = RUN_TASK_BATCH) -> list[int]:
    """`count` tasks in RunTask calls of at most `size`."""
    return [min(size, count - start) for start in range(0, count, size)]


@dataclass(frozen=True)
class Fleet:
    """The fleet stack's outputs: where and how to start its tasks."""

    cluster: str
    master_task_definition: str
    worker_task_definition: str
    subnets: list[str]
    master_security_group: str
    worker_security_group: str
    master_port: int
    bucket: str
    repository_uri: str
    log_group: str

    @classmethod
    def from_outputs(cls, outputs: dict[str, str]) -> Fleet:
        return cls(
            cluster=outputs["Cluster"],
            master_task_definition=outputs["MasterTaskDefinition"],
            worker_task_definition=outputs["WorkerTaskDefinition"],
            subnets=outputs["Subnets"].split(","),
            master_security_group=outputs["MasterSecurityGroup"],
            worker_security_group=outputs["WorkerSecurityGroup"],
            master_port=int(outputs["MasterPort"]),
            bucket=outputs["ReportsBucket"],
            repository_uri=outputs["RepositoryUri"],
            log_group=outputs["LogGroup"],
        )

    def _network(self, security_group: str) -> dict[str, Any]:
        # A public address for outbound connections (the API, ECR, S3, logs) without a NAT gateway;
        # the security groups admit nothing from outside the fleet.
        return {
            "awsvpcConfiguration": {
                "subnets": self.subnets,
                "securityGroups": [security_group],
                "assignPublicIp": "ENABLED",
            }
        }

    def master_request(self, command: list[str], run_id: str) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "taskDefinition": self.master_task_definition,
            "count": 1,
            "launchType": "FARGATE",  # on demand: a reclaimed master would lose the whole run
            "networkConfiguration": self._network(self.master_security_group),
            "overrides": {"containerOverrides": [{"name": "master", "command": command}]},
            "startedBy": STARTED_BY,
            "tags": [{"key": "run", "value": run_id}, {"key": "role", "value": "master"}],
        }

    def worker_request(self, command: list[str], count: int, run_id: str, spot: bool) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "taskDefinition": self.worker_task_definition,
            "count": count,
            "capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT" if spot else "FARGATE", "weight": 1}],
            "networkConfiguration": self._network(self.worker_security_group),
            "overrides": {"containerOverrides": [{"name": "worker", "command": command}]},
            "startedBy": STARTED_BY,
            "tags": [{"key": "run", "value": run_id}, {"key": "role", "value": "worker"}],
        }


def private_ip(task: dict[str, Any]) -> str:
    """The task's address in the fleet's VPC, from its network interface attachment."""
    for attachment in task.get("attachments", []):
        for detail in attachment.get("details", []):
            if detail.get("name") == "privateIPv4Address" and detail.get("value"):
                return str(detail["value"])
    raise FleetError(f"task {task.get('taskArn')} has no private address yet")


@dataclass
class Run:
    """One run's tasks, so that whatever happens they can all be stopped."""

    run_id: str
    fleet: Fleet
    ecs: Any
    master: str = ""
    workers: list[str] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        return f"s3://{self.fleet.bucket}/runs/{self.run_id}"

    def _started(self, response: dict[str, Any], what: str) -> list[str]:
        failures = response.get("failures", [])
        arns = [task["taskArn"] for task in response.get("tasks", [])]
        if failures:
            reasons = ", ".join(f"{failure.get('reason')} ({failure.get('arn', '-')})" for failure in failures)
            raise FleetError(f"ECS could not start every {what}: {reasons}")
        return arns

    def start_master(self, command: list[str]) -> str:
        response = self.ecs.run_task(**self.fleet.master_request(command, self.run_id))
        self.master = self._started(response, "master")[0]
        return self.master

    def master_address(self, wait: bool = True) -> str:
        if wait:
            self.ecs.get_waiter("tasks_running").wait(
                cluster=self.fleet.cluster, tasks=[self.master], WaiterConfig={"Delay": 6, "MaxAttempts": 100}
            )
        return private_ip(self.describe([self.master])[0])

    def start_workers(self, count: int, command: list[str], spot: bool) -> list[str]:
        for size in batches(count):
            response = self.ecs.run_task(**self.fleet.worker_request(command, size, self.run_id, spot))
            self.workers += self._started(response, "worker")
        return self.workers

    def describe(self, arns: list[str]) -> list[dict[str, Any]]:
        tasks: list[dict[str, Any]] = []
        for start in range(0, len(arns), 100):  # DescribeTasks takes 100 at most
            tasks += self.ecs.describe_tasks(cluster=self.fleet.cluster, tasks=arns[start : start + 100])["tasks"]
        return tasks

    def stop(self, reason: str) -> None:
        """Stops every task of the run that has not stopped yet."""
        arns = [arn for arn in [self.master, *self.workers] if arn]
        for task in self.describe(arns) if arns else []:
            if task.get("lastStatus") != "STOPPED":
                self.ecs.stop_task(cluster=self.fleet.cluster, task=task["taskArn"], reason=reason[:255])


# ---------------------------------------------------------------------------- the stack
def stack_outputs(cloudformation: Any, name: str) -> dict[str, str] | None:
    try:
        stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def deploy(cloudformation: Any, name: str, parameters: dict[str, str]) -> dict[str, str]:
    """Creates or updates the fleet stack with these parameters; its outputs once it is complete."""
    request = {
        "StackName": name,
        "TemplateBody": TEMPLATE.read_text(encoding="utf-8"),
        "Parameters": [{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
        "Capabilities": ["CAPABILITY_IAM"],
        "Tags": [{"Key": "Service", "Value": "birthday-greeter-loadtest"}],
    }
    if stack_outputs(cloudformation, name) is None:
        print(f"creating the fleet stack {name} (a few minutes, once)", flush=True)
        cloudformation.create_stack(**request)
        waiter = "stack_create_complete"
    else:
        try:
            cloudformation.update_stack(**request)
        except ClientError as error:
            if "No updates are to be performed" not in str(error):
                raise
            waiter = ""
        else:
            print(f"updating the fleet stack {name}", flush=True)
            waiter = "stack_update_complete"
    if waiter:
        try:
            cloudformation.get_waiter(waiter).wait(StackName=name, WaiterConfig={"Delay": 10, "MaxAttempts": 180})
        except WaiterError as error:
            raise FleetError(f"the fleet stack {name} did not deploy ({error}); see its events") from error
    outputs = stack_outputs(cloudformation, name)
    if outputs is None:
        raise FleetError(f"the fleet stack {name} is gone")
    return outputs


def empty_bucket(s3_client: Any, bucket: str) -> int:
    """Deletes every object of the (unversioned) bucket; how many."""
    deleted = 0
    for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            s3_client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            deleted += len(keys)
    return deleted


def delete(session: Any, name: str) -> int:
    cloudformation = session.client("cloudformation")
    outputs = stack_outputs(cloudformation, name)
    if outputs is None:
        print(f"no fleet stack {name} in {session.region_name}: nothing to delete")
        return 0
    fleet = Fleet.from_outputs(outputs)
    ecs = session.client("ecs")
    running = ecs.list_tasks(cluster=fleet.cluster, desiredStatus="RUNNING").get("taskArns", [])
    for arn in running:
        ecs.stop_task(cluster=fleet.cluster, task=arn, reason="make loadtest-fleet-delete")
    deleted = empty_bucket(session.client("s3"), fleet.bucket)
    print(f"stopped {len(running)} task(s), deleted {deleted} report file(s); deleting the stack {name}", flush=True)
    cloudformation.delete_stack(StackName=name)
    cloudformation.get_waiter("stack_delete_complete").wait(
        StackName=name, WaiterConfig={"Delay": 10, "MaxAttempts": 180}
    )
    print(f"deleted {name}")
    return 0


# ---------------------------------------------------------------------------- the image
def push_image(client: Any, ecr: Any, local: str, repository_uri: str, image_tag: str) -> str:
    """Pushes the local image as repository_uri:image_tag, unless the repository already has that tag."""
    repository = repository_uri.split("/", 1)[1]
    try:
        ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": image_tag}])
    except ClientError as error:
        if error.response["Error"]["Code"] != "ImageNotFoundException":
            raise
    else:
        return f"{repository_uri}:{image_tag}"
    token = ecr.get_authorization_token()["authorizationData"][0]
    username, password = base64.b64decode(token["authorizationToken"]).decode().split(":", 1)
    client.images.get(local).tag(repository_uri, tag=image_tag)
    print(f"pushing {repository_uri}:{image_tag}", flush=True)
    for chunk in client.images.push(
        repository_uri,
        tag=image_tag,
        auth_config={"username": username, "password": password},
        stream=True,
        decode=True,
    ):
        if "error" in chunk:
            raise FleetError(f"pushing the image failed: {chunk['error']}")
    return f"{repository_uri}:{image_tag}"


def image_for(client: Any, base: str, architecture: str) -> tuple[str, str]:
    """The local image for the fleet (built from the hashed lock on `base`) and its tag."""
    import docker.errors  # noqa: PLC0415 - docker and the build tools only when a run needs them

    from loadtest import image  # noqa: PLC0415

    target = image.ARCHITECTURES[architecture]
    try:
        client.images.get(base)
    except docker.errors.ImageNotFound:
        print(f"pulling {base} for {target.docker}", flush=True)
        client.images.pull(base, platform=target.docker)
    name = image.build_image(client, base, "greeter-loadtest/fleet", target, fetch=True)
    return name, name.rsplit(":", 1)[1]


# ---------------------------------------------------------------------------- a run
def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def wait_for_master(run: Run, deadline: float) -> dict[str, Any]:
    """The master task once it has stopped; FleetError after `deadline` (time.monotonic())."""
    last = ""
    while True:
        master = run.describe([run.master])[0]
        workers = run.describe(run.workers) if run.workers else []
        running = sum(task.get("lastStatus") == "RUNNING" for task in workers)
        status = f"master {master.get('lastStatus')}, workers running {running}/{len(run.workers)}"
        if status != last:
            print(f"{datetime.now(UTC):%H:%M:%S} {status}", flush=True)
            last = status
        if master.get("lastStatus") == "STOPPED":
            return master
        if time.monotonic() > deadline:
            raise FleetError("the master did not stop in time; its tasks are being stopped")
        time.sleep(POLL_SECONDS)


def _interrupted(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def aws_session(region: str | None) -> Any:
    """A session with a region and credentials, or a FleetError saying which is missing (before any call)."""
    session = boto3.session.Session(region_name=region)
    if not session.region_name:
        raise FleetError("no region: give REGION=, or configure one for your AWS credentials")
    if session.get_credentials() is None:
        raise FleetError("no AWS credentials: configure them (aws configure, AWS_PROFILE=...) and run again")
    return session


def run(args: argparse.Namespace) -> int:
    if bool(args.host) == bool(args.stack):
        raise FleetError("give HOST=url or STACK=name (one of them)")
    session = aws_session(args.region or (region_of(args.host) if args.host else None))
    try:
        host = args.host.rstrip("/") if args.host else api_url(args.stack, session.client("cloudformation"))
    except StackLookupError as error:
        raise FleetError(str(error)) from None
    import docker  # noqa: PLC0415 - the engine only once the target is known

    try:
        client = docker.from_env()
    except docker.errors.DockerException as error:
        raise FleetError(f"no Docker engine answers (the image is built here): {error}") from None
    local, image_tag = image_for(client, args.base, args.architecture)
    parameters = {**dict(args.parameter), "ImageTag": image_tag, "CpuArchitecture": args.architecture}
    fleet = Fleet.from_outputs(deploy(session.client("cloudformation"), args.fleet_stack, parameters))
    push_image(client, session.client("ecr"), local, fleet.repository_uri, image_tag)

    run = Run(new_run_id(), fleet, session.client("ecs"))
    tokens_url = None
    if args.tokens:
        tokens_url = f"{run.prefix}/tokens.json"
        bucket, key = s3.split(tokens_url)
        session.client("s3").upload_file(str(args.tokens), bucket, key)
    load = Load(
        *(args.mode, args.duration, args.users, args.spawn_rate, args.user_rate, args.rate, args.put_ratio, args.seed)
    )
    report_url = f"{run.prefix}/report"
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        run.start_master(master_command(load, host, args.workers, fleet.master_port, report_url, tokens_url=tokens_url))
        print(f"run {run.run_id}: master {run.master.rsplit('/', 1)[-1]} starting", flush=True)
        address = run.master_address()
        run.start_workers(args.workers, worker_command(address, fleet.master_port, tokens_url), spot=not args.on_demand)
        print(f"run {run.run_id}: master at {address}, {args.workers} workers starting", flush=True)
        deadline = time.monotonic() + duration_seconds(args.duration) + START_MARGIN_SECONDS
        master = wait_for_master(run, deadline)
    except (KeyboardInterrupt, FleetError) as error:
        run.stop(f"loadtest.fleet: {error or 'interrupted'}")
        raise FleetError(f"run {run.run_id} stopped: {error or 'interrupted'}") from None
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    run.stop("the master has stopped")  # workers stop by themselves when their master quits; this is in case
    container = master["containers"][0]
    code = container.get("exitCode")
    out = REPORTS / run.run_id
    fetched = s3.fetch_directory(report_url, out, session.client("s3"))
    if (out / "summary.txt").exists():
        print("\n" + (out / "summary.txt").read_text(encoding="utf-8"))
    print(f"report: {report_url}/ ({len(fetched)} files), fetched into {out}")
    print(f"logs: {fleet.log_group}, streams master/master/{run.master.rsplit('/', 1)[-1]} and worker/worker/...")
    if code is None:
        print(f"error: the master stopped without an exit code: {master.get('stoppedReason')}", file=sys.stderr)
        return 2
    return int(code)


def _parameter(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.isalnum():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.fleet", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    go = commands.add_parser("run", help="deploy the fleet if need be, run a load test, fetch its report")
    go.add_argument("--host", help="base URL of the API under test")
    go.add_argument("--stack", help="the application stack whose ApiUrl output is the target")
    go.add_argument("--workers", type=count, default=2, help="worker tasks (default 2)")
    go.add_argument("--mode", choices=["run", "check"], default="run")
    go.add_argument("--duration", type=run_time, default="60s")
    go.add_argument("--users", type=count)
    go.add_argument("--spawn-rate", type=positive)
    go.add_argument("--user-rate", type=non_negative)
    go.add_argument("--rate", type=positive, help="check: requests per second in total")
    go.add_argument("--put-ratio", type=share)
    go.add_argument("--seed")
    go.add_argument("--tokens", type=Path, help="token file (uploaded to the run's prefix in the fleet's bucket)")
    go.add_argument("--architecture", choices=["X86_64", "ARM64"], default="X86_64")
    go.add_argument("--on-demand", action="store_true", help="workers on Fargate, not Fargate Spot")
    go.add_argument("--base", default="", help="base image (default: the image module's FLEET_BASE)")
    go.add_argument(
        "--parameter",
        type=_parameter,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a parameter of loadtest/fleet.yaml (WorkerCpu=1024, MasterMemory=8192, ...); repeatable",
    )
    for command in (go, commands.add_parser("delete", help="stop the fleet's tasks, empty its bucket, delete it")):
        command.add_argument("--region", help="the region (default: the target's, or your AWS configuration's)")
        command.add_argument("--fleet-stack", default=DEFAULT_STACK, help=f"default {DEFAULT_STACK}")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    try:
        if args.command == "delete":
            return delete(aws_session(args.region), args.fleet_stack)
        if not args.base:
            from loadtest.image import FLEET_BASE  # noqa: PLC0415

            args.base = FLEET_BASE
        return run(args)
    except FleetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
