"""A run that was killed (SIGKILL, a crash) leaves its network and containers; the next run removes them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from typing import Any

from samlocal.images import LABEL, Images
from samlocal.stack import remove_stale_runs


def test_the_next_run_removes_what_a_dead_run_left_and_nothing_of_a_live_one(docker_engine: tuple[Any, Images]) -> None:
    client, images = docker_engine
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    networks = {}
    for owner, pid in (("dead", int(dead.stdout)), ("live", os.getpid())):
        labels = {LABEL: "1", f"{LABEL}.pid": str(pid), f"{LABEL}.host": socket.gethostname()}
        network = client.networks.create(f"greeter-local-test-{owner}-{os.getpid()}", labels=labels)
        client.containers.create(images.dynamodb, command=images.dynamodb_command, network=network.name, labels=labels)
        networks[owner] = network
    try:
        removed = remove_stale_runs(client)
        assert networks["dead"].name in removed
        assert client.networks.list(names=[networks["dead"].name]) == []
        assert client.containers.list(all=True, filters={"network": networks["dead"].name}) == []
        assert networks["live"].name not in removed
        assert len(client.containers.list(all=True, filters={"network": networks["live"].name})) == 1
    finally:
        for network in networks.values():
            for container in client.containers.list(all=True, filters={"network": network.name}):
                container.remove(force=True)
            if client.networks.list(names=[network.name]):
                network.remove()
