"""The embedded store dies (the OOM killer, a stray `kill`): the local API says so at once and serves again.

The store is moto's server in a process of its own. When it exits without
being asked, the local API prints why on the console, starts a new one on the
same endpoint (the workers keep their configuration), creates the table
again, and says what became of the data: gone, or, with STORE_FILE, reloaded
from that file as it was at the last clean stop.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import requests

from tests.support.local_api import LocalApiProcess

pytestmark = pytest.mark.integration
TIMEOUT = 30
BODY = json.dumps({"dateOfBirth": "1990-05-10"})


def store_pid(api: LocalApiProcess) -> int:
    """The embedded store's process: the local API's child running `localapi.store`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == api.pid and b"localapi.store" in command:
            return int(entry.name)
    raise AssertionError("the local API has no store process")


def put(api: LocalApiProcess, name: str) -> int:
    headers = {"content-type": "application/json"}
    return requests.put(f"{api.url}/hello/{name}", data=BODY, headers=headers, timeout=TIMEOUT).status_code


def get(api: LocalApiProcess, name: str) -> int:
    return requests.get(f"{api.url}/hello/{name}", timeout=TIMEOUT).status_code


def test_a_killed_store_is_reported_and_replaced_with_an_empty_one() -> None:
    api = LocalApiProcess(args=("--no-reload", "--concurrency", "2"))
    try:
        assert put(api, "Before") == 204
        killed = store_pid(api)
        os.kill(killed, signal.SIGKILL)
        line = api.wait_for_line("embedded store")
        assert "SIGKILL" in line, line
        api.wait_for_line("store restarted")
        assert "lost" in "".join(api.output)
        assert store_pid(api) != killed
        assert get(api, "Before") == 404  # its data went with it
        assert put(api, "After") == 204
        assert get(api, "After") == 200
    finally:
        assert api.stop() == 0


def test_with_a_store_file_the_new_store_reloads_it(tmp_path: Path) -> None:
    store_file = tmp_path / "store.json"
    first = LocalApiProcess(args=("--no-reload", "--concurrency", "2", "--store-file", str(store_file)))
    try:
        assert put(first, "Saved") == 204
    finally:
        assert first.stop() == 0  # a clean stop writes the file
    api = LocalApiProcess(args=("--no-reload", "--concurrency", "2", "--store-file", str(store_file)))
    try:
        assert put(api, "Unsaved") == 204
        os.kill(store_pid(api), signal.SIGKILL)
        api.wait_for_line("store restarted")
        assert get(api, "Saved") == 200
        assert get(api, "Unsaved") == 404  # written after the last clean stop
    finally:
        assert api.stop() == 0
