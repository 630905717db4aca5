"""moto as a server on a free loopback port, for code under test that runs in a process of its own."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from moto.server import ThreadedMotoServer


@contextlib.contextmanager
def moto_endpoint() -> Iterator[str]:
    """The server's URL (every service moto has), for `AWS_ENDPOINT_URL_<SERVICE>` or `endpoint_url=`."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
