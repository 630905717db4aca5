"""The worker side: one process per execution environment, like the Lambda Python runtime.

    python -P runtime.py FD

Started by `localapi.workers` with the function's environment (`_HANDLER`,
`LAMBDA_TASK_ROOT`, `AWS_LAMBDA_FUNCTION_*` and the template's variables). It
imports the handler (the init phase), says it is ready, then answers one event
at a time over the socket FD: Lambda never runs two invocations in one
environment, and handlers may rely on that. Events and results cross as JSON,
as they do in Lambda, so a handler that returns something JSON cannot carry
fails here too. Only the standard library is imported before the handler.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import struct
import sys
import time
import traceback
from dataclasses import dataclass

HEADER = struct.Struct("!Q")
"""Every message is its length, 8 bytes big-endian, then that many bytes."""


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object the handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    aws_request_id: str
    deadline: float
    function_version: str = "$LATEST"
    invoked_function_arn: str = ""
    log_group_name: str = ""
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def send(channel: socket.socket, payload: bytes) -> None:
    channel.sendall(HEADER.pack(len(payload)) + payload)


def receive(channel: socket.socket) -> bytes | None:
    """The next message, or None when the server closed its end."""
    header = _exactly(channel, HEADER.size)
    if header is None:
        return None
    payload = _exactly(channel, HEADER.unpack(header)[0])
    if payload is None:
        return None
    return payload


def _exactly(channel: socket.socket, size: int) -> bytes | None:
    buffer = bytearray(size)
    view = memoryview(buffer)
    while view:
        count = channel.recv_into(view)
        if count == 0:
            return None
        view = view[count:]
    return bytes(buffer)


def _error(kind: str, error: BaseException) -> bytes:
    return json.dumps({"errorType": kind, "errorMessage": str(error)}).encode()


def main(fd: int) -> int:
    # Ctrl-C (or a SIGTERM to the process group) is the server's to handle: it lets requests in flight
    # finish, then closes our socket; a worker it must stop at once gets SIGKILL.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # whole lines, as Lambda logs them
    channel = socket.socket(fileno=fd)
    sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])
    module_name, _, attribute = os.environ["_HANDLER"].rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), attribute)
    except Exception as error:  # noqa: BLE001 - Lambda reports any init failure as Runtime.ImportModuleError
        traceback.print_exc()
        send(channel, _error("Runtime.ImportModuleError", error))
        return 1
    send(channel, b'{"ready": true}')

    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    region = os.environ.get("AWS_REGION", "us-east-1")
    while (message := receive(channel)) is not None:
        send(channel, b"")  # delivered: from here on the event is this environment's
        invocation = json.loads(message)
        context = LambdaContext(
            function_name=function_name,
            memory_limit_in_mb=int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]),
            aws_request_id=invocation["requestId"],
            deadline=time.monotonic() + float(os.environ["AWS_LAMBDA_FUNCTION_TIMEOUT"]),
            invoked_function_arn=f"arn:aws:lambda:{region}:123456789012:function:{function_name}",
            log_group_name=os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", ""),
        )
        try:
            result = handler(invocation["event"], context)
        except Exception as error:  # noqa: BLE001 - any handler error is a failed invocation, as in Lambda
            traceback.print_exc()
            send(channel, _error(type(error).__name__, error))
            continue
        try:
            answer = json.dumps({"result": result}).encode()
        except (TypeError, ValueError) as error:
            send(channel, _error("Runtime.MarshalError", error))
            continue
        send(channel, answer)
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
