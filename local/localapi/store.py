"""The embedded DynamoDB-compatible store for `make run`: moto's server, in memory, in its own process.

Its own process, so moto's work (most of a request's, here) runs beside the
HTTP server instead of sharing its interpreter lock, and a second core helps.
It lives as long as the server does: reloading the functions' code restarts
workers, never the store. With a store file (`--store-file`, `make run
STORE_FILE=...`) the items are loaded from it at start and written back on a
clean stop (Ctrl-C, SIGTERM), so data also survives restarts.

If the store process dies on its own (the OOM killer, a stray `kill`), the
local API says so on the console at once and starts a new one on the same
endpoint, so the workers need no change: the table is created again, empty,
or loaded from the store file as it was at the last clean stop. Whatever was
written since is lost, and the console says that too.

    python -m localapi.store [PORT]   moto on PORT (default: a free loopback port); prints the port,
                                      stops at end of stdin
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import boto3

from localapi.template import SamTemplate

LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}  # moto accepts any
log = logging.getLogger("localapi")


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
        self._lock = threading.RLock()
        self._stopping = False

    @property
    def table_name(self) -> str:
        return self._template.table().logical_id

    def start(self) -> EmbeddedDynamoDB:
        port = self._launch(0)
        self.endpoint_url = f"http://127.0.0.1:{port}"
        self._client = boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint_url,
            region_name=self._region,
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        self.loaded = self._fill()
        self._watch()
        return self

    def _launch(self, port: int) -> int:
        """Starts the store process on `port` (0: a free one) and returns the port it listens on."""
        self._process = subprocess.Popen(
            [sys.executable, "-m", "localapi.store", str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        )
        bound = self._process.stdout.readline().strip() if self._process.stdout else ""  # once bound: no clock
        if not bound.isdigit():
            self._end_process()
            raise RuntimeError("the embedded DynamoDB did not start")
        return int(bound)

    def _fill(self) -> int:
        """Creates the template's table, and loads the store file when there is one: the items loaded."""
        self._client.create_table(**self._template.create_table_request())
        if self._store_file is not None and self._store_file.exists():
            return self._load(self._store_file)
        return 0

    def _watch(self) -> None:
        watched = self._process
        threading.Thread(target=self._on_exit, args=(watched,), name="store-watch", daemon=True).start()

    def _on_exit(self, process: subprocess.Popen[str]) -> None:
        """Runs when the store process ends; unless we stopped it, says so and starts a new one on the same port."""
        code = process.wait()
        with self._lock:
            if self._stopping or process is not self._process:
                return
            how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with status {code}"
            log.error("the embedded store (pid %d) %s; starting a new one at %s", process.pid, how, self.endpoint_url)
            try:
                self._launch(int(self.endpoint_url.rsplit(":", 1)[1]))
                loaded = self._fill()
            except Exception as error:  # noqa: BLE001 - whatever it is, the console must say it
                log.error(
                    "the embedded store could not be restarted (%s): every request answers 503 until you "
                    "restart the local API",
                    error,
                )
                return
            if self._store_file is not None:
                kept = f"{loaded} item(s) reloaded from {self._store_file} (its last clean stop); later writes are lost"
            else:
                kept = "its table is empty: every item written before is lost"
            log.warning("store restarted at %s: %s", self.endpoint_url, kept)
            self._watch()

    def stop(self) -> int | None:
        """Stops the server; with a store file, writes every item to it first and returns how many."""
        with self._lock:
            self._stopping = True
            saved = None
            if self._store_file is not None and self._client is not None and self._process is not None:
                saved = self._save(self._store_file)
            self._end_process()
            return saved

    def _end_process(self) -> None:
        if self._process is not None:
            if self._process.stdin:
                self._process.stdin.close()  # its signal to stop
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

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


def serve(port: int = 0) -> None:
    """The store process: moto until the parent closes our stdin (or dies)."""
    from moto.server import ThreadedMotoServer

    if port:  # a restart, on the port the workers know; if another process took it, say so rather than hang
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as error:
                print(f"port {port}: {error.strerror}", flush=True)
                return

    # Ctrl-C (or a SIGTERM to the whole process group) is the local API's to handle: it saves the
    # store file through us, then closes our stdin.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's own access log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()  # waits on an Event set once the socket is bound
    print(server.get_host_and_port()[1], flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    serve(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
