"""One `sam local` run: its own Docker network, DynamoDB container and table, all removed when the run ends.

Each run gets a network of its own (`greeter-local-<run>`), so runs side by
side (a developer's `make sam-local` and the tests) never share a table. The
DynamoDB container answers on that network as `dynamodb-local`, the host name
local/env.json gives the functions, and is published on 127.0.0.1 only, for
creating the table from template.yaml's own key schema. SAM's own function
containers join the network (`--docker-network`); whatever is on it when the
run ends is removed with it.

The functions run from the template as `sam local` reads it, with these
changes (`local_template`). The host's architecture: arm64 functions on an
x86_64 host run under qemu and cold-start in about 9 s, past the 6 s timeout;
the code and its dependencies are pure Python, so x86_64 runs the same code.
What the parameter overrides decide, decided here as CloudFormation would: a
resource whose Condition is false is left out (SAM CLI serves every resource
whatever its Condition), and the HTTP API's CorsConfiguration is written
resolved, so SAM CLI's own CORS emulation reads it (it reads no `!If`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import boto3
import botocore.config
import botocore.exceptions
import docker.errors

from localapi.store import LOCAL_CREDENTIALS
from localapi.template import PROJECT_ROOT, TEMPLATE_PATH, SamTemplate, TemplateError, parse_parameter_overrides
from samlocal.images import ARCHITECTURE, DYNAMODB_PORT, LABEL, WORK_DIR, Images

ENV_VARS_PATH = PROJECT_ROOT / "local" / "env.json"
SAM = Path(sys.executable).parent / "sam"  # the venv's SAM CLI (requirements/dev.txt)
READY_ATTEMPTS = 240  # DynamoDB readiness: at most 240 polls, 0.5 s apart
START_TIMEOUT_SECONDS = 600  # only a hung SAM gets there: it usually listens in seconds
STOP_WAIT_SECONDS = 30  # for SAM to stop its containers after Ctrl-C, before it is killed
_RUNNING_ON = "Running on http://"


class StartError(RuntimeError):
    """Something this run needs did not start; the message says what."""


def dynamodb_host_and_port() -> tuple[str, int]:
    """Where local/env.json tells the functions the store is: the DynamoDB container's name on the network."""
    endpoints = {variables["AWS_ENDPOINT_URL_DYNAMODB"] for variables in json.loads(ENV_VARS_PATH.read_text()).values()}
    if len(endpoints) != 1:
        raise StartError(f"{ENV_VARS_PATH.name} must give every function one DynamoDB endpoint, not {endpoints}")
    parts = urlsplit(endpoints.pop())
    if parts.hostname is None or parts.port is None:
        raise StartError(f"{ENV_VARS_PATH.name}: the DynamoDB endpoint needs a host and a port")
    return parts.hostname, parts.port


def read_template(parameter_overrides: str = "") -> SamTemplate:
    """template.yaml resolved with the run's overrides; StartError for any `sam` would refuse too."""
    try:
        template = SamTemplate(TEMPLATE_PATH, parse_parameter_overrides(parameter_overrides))
        template.http_api_cors()  # resolves the template: a bad override fails here, before Docker
    except TemplateError as error:
        raise StartError(str(error)) from None
    return template


def unguarded_routes(template: SamTemplate) -> str | None:
    """A warning when the overrides turn the JWT authorizer on: `sam local` does not emulate it."""
    authorizer = template.jwt_authorizer()
    if authorizer is None:
        return None
    return (
        f"warning: sam local does not emulate HTTP API JWT authorizers (aws/aws-sam-cli#6550): "
        f"{', '.join(sorted(authorizer.guarded_routes))} answer here without a token; make run checks tokens"
    )


def local_template(architecture: str = ARCHITECTURE, parameter_overrides: str = "") -> dict[str, Any]:
    """template.yaml for local runs: the functions on `architecture`, code paths absolute, resources whose
    Condition is false left out, the HTTP API's CorsConfiguration resolved; nothing else changes."""
    template = read_template(parameter_overrides)
    document: dict[str, Any] = template.document
    existing = template.resolved["Resources"]
    document["Resources"] = {name: resource for name, resource in document["Resources"].items() if name in existing}
    for resource in document["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::HttpApi" and "CorsConfiguration" in resource.get("Properties", {}):
            cors = template.http_api_cors()
            if cors is None:
                del resource["Properties"]["CorsConfiguration"]
            else:
                resource["Properties"]["CorsConfiguration"] = cors
    sections = [document.get("Globals", {}).get("Function", {})]
    sections += [
        resource.get("Properties", {})
        for resource in document["Resources"].values()
        if resource.get("Type") == "AWS::Serverless::Function"
    ]
    for properties in sections:
        if "Architectures" in properties:
            properties["Architectures"] = [architecture]
        if isinstance(properties.get("CodeUri"), str):
            properties["CodeUri"] = str((TEMPLATE_PATH.parent / properties["CodeUri"]).resolve())
    return document


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_network_and_containers(client: Any, network: Any) -> list[str]:
    """Every container on `network` (SAM's included), then the network; the names removed."""
    removed = []
    for container in client.containers.list(all=True, filters={"network": network.name}):
        container.remove(force=True)
        removed.append(container.name)
    network.remove()
    return [*removed, network.name]


def remove_stale_runs(client: Any) -> list[str]:
    """What runs on this host left behind when they were killed (their process is gone)."""
    removed = []
    for network in client.networks.list(filters={"label": f"{LABEL}.host={socket.gethostname()}"}):
        if not _alive(int(network.attrs["Labels"][f"{LABEL}.pid"])):
            removed += remove_network_and_containers(client, network)
    return removed


@dataclass
class LocalStack:
    """The network, the DynamoDB container with the table, and the local template of one run."""

    client: Any
    images: Images
    region: str
    parameter_overrides: str = ""
    log: Callable[[str], None] = print

    def __post_init__(self) -> None:
        self.run_id = uuid.uuid4().hex[:8]
        self.name = f"greeter-local-{self.run_id}"
        self.run_dir = WORK_DIR / self.name
        self.template_path = self.run_dir / "template.json"
        self.network: Any = None
        self.dynamodb_url = ""

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> LocalStack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> LocalStack:
        stale = remove_stale_runs(self.client)
        if stale:
            self.log(f"removed what earlier runs left behind: {', '.join(stale)}")
        labels = {LABEL: "1", f"{LABEL}.run": self.run_id, f"{LABEL}.pid": str(os.getpid())}
        labels[f"{LABEL}.host"] = socket.gethostname()
        self.network = self.client.networks.create(self.name, driver="bridge", labels=labels)
        alias, port = dynamodb_host_and_port()
        if port != DYNAMODB_PORT:
            raise StartError(f"{ENV_VARS_PATH.name} names port {port}; the DynamoDB images listen on {DYNAMODB_PORT}")
        container = self.client.containers.run(
            self.images.dynamodb,
            command=self.images.dynamodb_command,
            name=f"{self.name}-dynamodb",
            detach=True,
            labels=labels,
            network=self.name,
            networking_config={self.name: self.client.api.create_endpoint_config(aliases=[alias])},
            ports={f"{DYNAMODB_PORT}/tcp": ("127.0.0.1", None)},
        )
        container.reload()
        host_port = container.attrs["NetworkSettings"]["Ports"][f"{DYNAMODB_PORT}/tcp"][0]["HostPort"]
        self.dynamodb_url = f"http://127.0.0.1:{host_port}"
        self._create_table(container)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.template_path.write_text(
            json.dumps(local_template(parameter_overrides=self.parameter_overrides), indent=1)
        )
        return self

    def stop(self) -> list[str]:
        """Removes everything this run started; safe to call twice, or after a failed start."""
        removed = []
        if self.network is not None:
            with contextlib.suppress(docker.errors.NotFound):  # removed already
                removed = remove_network_and_containers(self.client, self.network)
            self.network = None
        shutil.rmtree(self.run_dir, ignore_errors=True)
        return removed

    def _create_table(self, container: Any) -> None:
        """Waits for the store to answer (bounded), then creates the table as template.yaml declares it."""
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=self.dynamodb_url,
            region_name=self.region,
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=botocore.config.Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1}),
        )
        for _ in range(READY_ATTEMPTS):
            try:
                dynamodb.list_tables()
                break
            except botocore.exceptions.HTTPClientError:  # refused, closed or timed out: not up yet
                container.reload()
                if container.status == "exited":
                    logs = container.logs(tail=20).decode(errors="replace")
                    raise StartError(f"{self.images.dynamodb} exited:\n{logs}") from None
                time.sleep(0.5)
        else:
            raise StartError(f"{self.images.dynamodb} did not answer at {self.dynamodb_url}")
        table = read_template(self.parameter_overrides).create_table_request()
        dynamodb.create_table(**table)
        dynamodb.get_waiter("table_exists").wait(
            TableName=table["TableName"], WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )

    # ------------------------------------------------------------ sam local
    def sam_arguments(self) -> list[str]:
        """What `sam local invoke` and `sam local start-api` both get for this run."""
        arguments = ["--template", str(self.template_path), "--env-vars", str(ENV_VARS_PATH)]
        arguments += ["--docker-network", self.name, "--skip-pull-image", "--invoke-image", self.images.functions]
        arguments += ["--region", self.region]
        if self.parameter_overrides.strip():
            arguments += ["--parameter-overrides", self.parameter_overrides]
        return arguments

    def sam_environment(self) -> dict[str, str]:
        """Local credentials only: nothing of the developer's AWS profile reaches the containers, nor AWS itself.

        SAM asks STS for the account id on every start (GetCallerIdentity, with
        retries: 5 s offline, and a call to AWS). It goes to the local store
        instead: moto answers it; DynamoDB Local, which has no STS, should
        refuse it (not tried here: no registry has given us its image), and SAM
        then uses its default account id.
        """
        environment = {
            name: value
            for name, value in os.environ.items()
            if name not in {"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_DYNAMODB"}
        }
        environment.update(LOCAL_CREDENTIALS)
        environment.update({"AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region, "SAM_CLI_TELEMETRY": "0"})
        environment["AWS_ENDPOINT_URL_STS"] = self.dynamodb_url
        return environment


@dataclass(frozen=True)
class Invocation:
    event: Path
    function_id: str
    response: dict[str, Any]


def function_for(event_path: Path, template: SamTemplate) -> str:
    """The function API Gateway would invoke with this event: the one whose route is its routeKey."""
    route_key = json.loads(event_path.read_text())["routeKey"]
    for route in template.routes():
        if route.route_key == route_key:
            return route.function_id
    raise StartError(f"{event_path.name}: no route {route_key!r} in {TEMPLATE_PATH.name}")


def invoke(stack: LocalStack, events: list[Path], stderr: TextIO | None = None) -> Iterator[Invocation]:
    """`sam local invoke` once per event, in order, against the same table; each function's answer."""
    template = read_template(stack.parameter_overrides)
    for event in events:
        function_id = function_for(event, template)
        completed = subprocess.run(
            [str(SAM), "local", "invoke", function_id, "--event", str(event), *stack.sam_arguments()],
            env=stack.sam_environment(),
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            check=False,
        )
        lines = completed.stdout.strip().splitlines()
        if completed.returncode != 0 or not lines:
            raise StartError(f"sam local invoke {function_id} --event {event.name} failed ({completed.returncode})")
        yield Invocation(event, function_id, json.loads(lines[-1]))


class SamApi:
    """`sam local start-api` for one stack, in its own session: only this object signals it."""

    def __init__(self, stack: LocalStack, host: str, port: int, output: TextIO) -> None:
        self.stack = stack
        self.host = host
        self.port = port
        self.output = output
        self.url = ""
        self._ready = threading.Event()
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> str:
        """Starts SAM and returns its URL once SAM says it listens (no clock: it reads SAM's output)."""
        # LAZY warm containers: each function's container starts on its first request
        # (a cold start) and then stays, as a Lambda execution environment does.
        command = [str(SAM), "local", "start-api", *self.stack.sam_arguments(), "--warm-containers", "LAZY"]
        command += ["--host", self.host, "--port", str(self.port)]
        self._process = subprocess.Popen(
            command,
            env=self.stack.sam_environment(),
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._relay, args=(self._process.stdout,), daemon=True).start()
        if not self._ready.wait(timeout=START_TIMEOUT_SECONDS):
            raise StartError(f"sam local start-api did not listen within {START_TIMEOUT_SECONDS} s")
        if not self.url:
            raise StartError(f"sam local start-api exited ({self._process.wait()}) before it listened")
        return self.url

    def _relay(self, lines: Iterator[str]) -> None:
        for line in lines:
            self.output.write(line)
            self.output.flush()
            if not self.url and _RUNNING_ON in line:
                self.url = "http://" + line.split(_RUNNING_ON, 1)[1].split()[0]
                self._ready.set()
        self._ready.set()

    def wait(self) -> int:
        if self._process is None:
            raise StartError("sam local start-api was never started")
        return self._process.wait()

    def stop(self) -> None:
        """Ctrl-C for SAM (it then removes its warm containers); killed if it has not exited in time."""
        if self._process is None or self._process.poll() is not None:
            return
        os.killpg(self._process.pid, signal.SIGINT)
        try:
            self._process.wait(timeout=STOP_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
