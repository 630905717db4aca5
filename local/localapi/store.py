"""The embedded DynamoDB-compatible store for `make run`: moto's server, in memory."""

from __future__ import annotations

from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from localapi.template import SamTemplate

LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}  # moto accepts any


class EmbeddedDynamoDB:
    """Starts moto on a free loopback port and creates the template's table in it."""

    def __init__(self, template: SamTemplate, region: str) -> None:
        self._template = template
        self._region = region
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.endpoint_url = ""

    def start(self) -> EmbeddedDynamoDB:
        self._server.start()  # waits on an Event set once the socket is bound, not on a clock
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        client: Any = boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint_url,
            region_name=self._region,
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        client.create_table(**self._template.create_table_request())
        return self

    def stop(self) -> None:
        self._server.stop()
