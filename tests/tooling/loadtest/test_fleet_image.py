"""The fleet's image on a Docker engine, run as the fleet runs it, against the local API.

The image builds on the project's debootstrap stand-in (no registry) from the wheels `make
loadtest-image` downloaded (this test never downloads; it builds when the image of the current
sources is missing). A master container and two worker containers, with the launcher's own
commands (loadtest.fleet), read-only root file systems and the fleet's user, run a short load
test against the local API; the master uploads its report to S3 (moto's server here) and the
launcher's fetch brings it back. Containers share the host's network, so everything they reach
is on 127.0.0.1. Skipped without an engine or the stand-in base, unless GREETER_REQUIRE_SAM_LOCAL=1.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from loadtest import report, s3
from loadtest.__main__ import free_port
from loadtest.fleet import Load, master_command, worker_command
from loadtest.image import CONTAINER_USER, local_image
from samlocal.images import LABEL
from tests.support.local_api import LocalApiProcess
from tests.support.moto_server import moto_endpoint
from tests.support.sam_local import on_docker
from tests.tooling.loadtest.test_distributed import assert_every_workers_requests_counted

pytestmark = pytest.mark.integration
WAIT_SECONDS = 300  # bounds a hung container; a healthy run takes seconds
BUCKET = "fleet-reports"


@pytest.fixture(scope="module")
def image() -> tuple[Any, str]:
    return on_docker("the fleet image test needs a Docker engine with the stand-in base", local_image)


@pytest.fixture
def reports_bucket() -> Iterator[str]:
    """moto's S3 on a free loopback port, with the fleet's reports bucket."""
    with moto_endpoint() as endpoint:
        boto3.client("s3", endpoint_url=endpoint).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        yield endpoint


def test_the_image_runs_as_the_fleets_user_on_a_read_only_root(image: tuple[Any, str]) -> None:
    client, name = image
    config = client.images.get(name).attrs["Config"]
    assert config["User"] == f"{CONTAINER_USER}:{CONTAINER_USER}"
    assert config["Entrypoint"] == ["python3.13", "-m", "loadtest"]
    assert "/scratch" in config["Volumes"]
    assert LABEL in config["Labels"]


def test_a_master_and_two_worker_containers_run_and_count_every_workers_requests(
    image: tuple[Any, str], local_api: LocalApiProcess, reports_bucket: str, tmp_path: Path
) -> None:
    client, name = image
    port = free_port()
    report_url = f"s3://{BUCKET}/runs/test/report"
    load = Load(mode="run", duration="4s", users=4, spawn_rate=4)
    env = {
        "AWS_ENDPOINT_URL_S3": reports_bucket,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    run_name = f"greeter-loadtest-test-{uuid.uuid4().hex[:8]}"
    containers = []

    def start(role: str, command: list[str]) -> Any:
        container = client.containers.run(
            name,
            command,
            name=f"{run_name}-{role}",
            network_mode="host",
            read_only=True,  # as the task definitions' ReadonlyRootFilesystem
            environment=env,
            labels={LABEL: "1"},
            detach=True,
        )
        containers.append(container)
        return container

    try:
        master = start("master", master_command(load, local_api.url, 2, port, report_url, bind_host="127.0.0.1"))
        workers = [start(f"worker-{index}", worker_command("127.0.0.1", port)) for index in range(2)]
        outcome = master.wait(timeout=WAIT_SECONDS)
        logs = master.logs().decode(errors="replace")
        assert outcome["StatusCode"] == 0, logs
        assert [worker.wait(timeout=WAIT_SECONDS)["StatusCode"] for worker in workers] == [0, 0]
    finally:
        for container in containers:
            container.remove(force=True, v=True)

    assert f"uploaded: 11 files to {report_url}" in logs
    fetched = s3.fetch_directory(report_url, tmp_path, boto3.client("s3", endpoint_url=reports_bucket))
    assert {path.name for path in fetched} >= {"summary.txt", "latency.png", "report.html", "locust_samples.csv"}
    summary = report.summarize(tmp_path / "locust")
    assert_every_workers_requests_counted(summary, 2)
    assert (tmp_path / "summary.txt").read_text(encoding="utf-8") == report.render(summary)
