"""One process per function, like one warm Lambda container each.

A worker has the function's own environment from template.yaml, imports its
handler once (the cold start), then answers one event at a time: Lambda never
runs two invocations in one container, and the handlers may rely on that.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, cast

from localapi.template import Function

_SPAWN = multiprocessing.get_context("spawn")


class InvocationFailedError(Exception):
    """The handler raised, timed out or its process died: API Gateway answers 500."""


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


def _serve(connection: Connection, function: Function, environment: dict[str, str]) -> None:
    """Runs in the worker process: import the handler, then answer events until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle; it stops us
    os.environ.clear()
    os.environ.update(environment)
    sys.path.insert(0, str(function.code_uri))
    module_name, _, attribute = function.handler.rpartition(".")
    handler = getattr(importlib.import_module(module_name), attribute)
    arn = f"arn:aws:lambda:{environment['AWS_REGION']}:123456789012:function:{function.logical_id}"
    connection.send(("ready", None))
    while True:
        try:
            message = connection.recv()
        except EOFError:  # the server went away
            return
        if message is None:
            return
        event, request_id = message
        context = LambdaContext(
            function_name=function.logical_id,
            memory_limit_in_mb=function.memory_mb,
            aws_request_id=request_id,
            deadline=time.monotonic() + function.timeout_seconds,
            invoked_function_arn=arn,
            log_group_name=f"/aws/lambda/{function.logical_id}",
        )
        try:
            connection.send(("ok", handler(event, context)))
        except Exception:  # noqa: BLE001 - any handler error is a failed invocation, as in Lambda
            traceback.print_exc()
            connection.send(("error", None))


class FunctionWorker:
    """The server's handle on one worker process; restarts it after a crash or timeout."""

    def __init__(self, function: Function, environment: dict[str, str]) -> None:
        self.function = function
        self._environment = {
            **environment,
            **function.environment,  # already resolved against `environment` (see __main__)
            "AWS_LAMBDA_FUNCTION_NAME": function.logical_id,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_SAM_LOCAL": "true",  # what sam local sets; Powertools' Tracer stands down on it
        }
        self._lock = threading.Lock()
        self._process: Any = None
        self._connection: Connection | None = None

    def start(self) -> None:
        parent, child = _SPAWN.Pipe()
        self._process = _SPAWN.Process(
            target=_serve, args=(child, self.function, self._environment), name=self.function.logical_id, daemon=True
        )
        self._process.start()
        child.close()
        self._connection = parent
        status, _ = parent.recv()  # blocks until the handler module is imported; no clock involved
        if status != "ready":
            raise RuntimeError(f"{self.function.logical_id} did not start")

    def stop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(OSError):
                self._connection.send(None)
        if self._process is not None:
            self._process.join(timeout=5)
            if self._process.is_alive():
                self._process.kill()
        self._process = self._connection = None

    def invoke(self, event: dict[str, Any], request_id: str) -> Any:
        """One invocation at a time, bounded by the function's timeout from the template."""
        with self._lock:
            if self._connection is None:
                self.start()
            connection = cast(Connection, self._connection)
            try:
                connection.send((event, request_id))
                if not connection.poll(self.function.timeout_seconds):
                    raise InvocationFailedError(f"{self.function.logical_id} timed out")
                status, result = connection.recv()
            except (EOFError, OSError) as error:
                self._restart()
                raise InvocationFailedError(f"{self.function.logical_id} died") from error
            except InvocationFailedError:
                self._restart()
                raise
            if status != "ok":
                raise InvocationFailedError(f"{self.function.logical_id} raised")
            return result

    def _restart(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join()
        self._process = self._connection = None
