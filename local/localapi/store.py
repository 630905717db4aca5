"""The embedded DynamoDB-compatible store for `make run`: moto's server, in memory, in its own process.

Its own process, so moto's work (most of a request's, here) runs beside the
HTTP server instead of sharing its interpreter lock, and a second core helps.
It lives as long as the server does: reloading the functions' code restarts
workers, never the store. With a store file (`--store-file`, `make run
STORE_FILE=...`) the items are loaded from it at start and written back on a
clean stop (Ctrl-C, SIGTERM), so data also survives restarts.

    python -m localapi.store     moto on a free loopback port; prints the port, stops at end of stdin
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import boto3

from localapi.template import SamTemplate

LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}  # moto accepts any


class EmbeddedDynamoDB:
    """Starts moto on a free loopback port and creates the template's table in it."""

    def __init__(self, template: SamTemplate, region: str, store_file: Path | None = None) -> None:
        self._template = template
        self._region = region
        self._store_file = store_file
        self._process: subprocess.Popen[str] | None = None
        self._client: Any = None
        self.endpoint_url = ""
        self.loaded = 0

    @property
    def table_name(self) -> str:
        return self._template.table().logical_id

    def start(self) -> EmbeddedDynamoDB:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "localapi.store"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        )
        port = self._process.stdout.readline().strip() if self._process.stdout else ""  # once bound: no clock
        if not port.isdigit():
            self.stop()
            raise RuntimeError("the embedded DynamoDB did not start")
        self.endpoint_url = f"http://127.0.0.1:{port}"
        self._client = boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint_url,
            region_name=self._region,
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        self._client.create_table(**self._template.create_table_request())
        if self._store_file is not None and self._store_file.exists():
            self.loaded = self._load(self._store_file)
        return self

    def stop(self) -> int | None:
        """Stops the server; with a store file, writes every item to it first and returns how many."""
        saved = None
        if self._store_file is not None and self._client is not None:
            saved = self._save(self._store_file)
        if self._process is not None:
            if self._process.stdin:
                self._process.stdin.close()  # its signal to stop
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        return saved

    def _load(self, path: Path) -> int:
        document = json.loads(path.read_text(encoding="utf-8"))
        items = document.get("Items", [])
        for item in items:
            self._client.put_item(TableName=self.table_name, Item=item)
        return len(items)

    def _save(self, path: Path) -> int:
        items: list[dict[str, Any]] = []
        for page in self._client.get_paginator("scan").paginate(TableName=self.table_name, ConsistentRead=True):
            items.extend(page["Items"])
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, encoding="utf-8") as staged:
            json.dump({"TableName": self.table_name, "Items": items}, staged, indent=1, sort_keys=True)
        os.replace(staged.name, path)  # a crash while writing leaves the previous file whole
        return len(items)


def serve() -> None:
    """The store process: moto until the parent closes our stdin (or dies)."""
    import signal

    from moto.server import ThreadedMotoServer

    # Ctrl-C (or a SIGTERM to the whole process group) is the local API's to handle: it saves the
    # store file through us, then closes our stdin.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's own access log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()  # waits on an Event set once the socket is bound
    print(server.get_host_and_port()[1], flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    serve()
