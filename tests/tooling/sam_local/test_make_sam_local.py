"""`make sam-local` as a developer runs it: HOST and PORT, PARAMETER_OVERRIDES in sam's syntax, Ctrl-C."""

from __future__ import annotations

import socket
from typing import Any

import requests

from samlocal.images import Images
from tests.support.sam_local import SamLocalProcess

TIMEOUT = 120  # a bound for a hung request only: the request below is a cold start


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        return int(listener.getsockname()[1])


def test_make_sam_local_serves_at_host_port_with_parameter_overrides_and_ctrl_c_removes_everything(
    docker_engine: tuple[Any, Images],
) -> None:
    client, _ = docker_engine
    port = free_port()
    overrides = "LogLevel=DEBUG FunctionMemorySize=256"
    process = SamLocalProcess(
        ["make", "sam-local", "HOST=127.0.0.1", f"PORT={port}", f"PARAMETER_OVERRIDES={overrides}"]
    )
    try:
        assert process.url == f"http://127.0.0.1:{port}"
        response = requests.get(f"{process.url}/hello/Nobody", timeout=TIMEOUT)
        assert response.status_code == 404, response.text
        # The GET function's warm container is the one SAM started with the overridden parameters.
        functions = [
            container
            for container in client.containers.list(filters={"network": process.network})
            if container.labels.get("sam.cli.function.name") == "GetGreetingFunction"
        ]
        assert len(functions) == 1
        environment = dict(variable.split("=", 1) for variable in functions[0].attrs["Config"]["Env"])
        assert environment["POWERTOOLS_LOG_LEVEL"] == "DEBUG"  # LogLevel=DEBUG
        assert environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"  # FunctionMemorySize=256
        assert functions[0].attrs["HostConfig"]["Memory"] == 256 * 1024 * 1024
    finally:
        process.interrupt()  # Ctrl-C: SIGINT to make and everything under it
    assert "SAM local API stopped" in process.text
    assert client.containers.list(all=True, filters={"network": process.network}) == []
    assert client.networks.list(names=[process.network]) == []
