"""Workers as Lambda treats execution environments: a pool per function, one event each at a time.

A request takes an idle worker of its function, or starts a new one (a cold
start, logged) while the function has fewer than its concurrency limit;
above the limit it is throttled, as Lambda throttles a synchronous invoke. A
worker that died while idle never sees the event: the event goes to a fresh
worker instead. A worker that fails or hangs while starting, or while
answering, is killed and its request fails within the function's timeout;
the next request gets a new worker. Everything here runs on the server's
event loop: a hung function holds its own workers, never a thread another
route needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

from localapi.runtime import HEADER, LambdaContext
from localapi.template import Function

__all__ = ["FunctionPool", "InvocationFailedError", "LambdaContext", "ThrottledError"]

RUNTIME = Path(__file__).with_name("runtime.py")
STOP_GRACE_SECONDS = 5
log = logging.getLogger("localapi")


class InvocationFailedError(Exception):
    """The function could not answer (init failed, it raised, timed out or died): API Gateway answers 500."""


class ThrottledError(Exception):
    """Every worker the function may have is busy: Lambda throttles, API Gateway answers 429."""


class _NotDeliveredError(Exception):
    """The worker was gone before it took the event; the event is still the caller's to deliver."""


class Worker:
    """One worker process: one execution environment, one event at a time."""

    def __init__(
        self, number: int, process: subprocess.Popen[bytes], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.number = number
        self.process = process
        self._reader = reader
        self._writer = writer

    @classmethod
    async def over(cls, number: int, process: subprocess.Popen[bytes], channel: socket.socket) -> Worker:
        """The worker `process`, talked to over our end of its socket pair."""
        reader, writer = await asyncio.open_unix_connection(sock=channel, limit=2**16)
        return cls(number, process, reader, writer)

    def seconds_waiting_for_a_cpu(self) -> float:
        """How long the process was ready to run but had no CPU (Linux schedstat), 0 once it is gone."""
        try:
            with open(f"/proc/{self.process.pid}/schedstat", encoding="ascii") as schedstat:
                return int(schedstat.read().split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            return 0.0

    @property
    def alive(self) -> bool:
        return self.process.poll() is None and not self._reader.at_eof()

    async def receive(self, timeout: float) -> bytes:
        """The next message; EOFError when the process is gone, TimeoutError past `timeout`."""
        try:
            async with asyncio.timeout(timeout):
                header = await self._reader.readexactly(HEADER.size)
                return await self._reader.readexactly(HEADER.unpack(header)[0])
        except (asyncio.IncompleteReadError, ConnectionError) as error:
            raise EOFError from error

    async def send(self, payload: bytes, timeout: float) -> None:
        self._writer.write(HEADER.pack(len(payload)) + payload)
        async with asyncio.timeout(timeout):
            await self._writer.drain()

    async def receive_within(self, budget: float, started: float, waited_before: float = 0.0) -> bytes:
        """The next message within `budget` seconds since `started`, not counting time spent waiting for a CPU.

        In Lambda every environment has its CPU; here every worker shares the
        machine's few cores, so a burst of cold starts or requests is slow, not
        hung. A worker asleep, blocked or spinning still runs out of time.
        """
        remaining = budget
        while True:
            try:
                return await self.receive(remaining)
            except TimeoutError:
                spent = time.monotonic() - started - (self.seconds_waiting_for_a_cpu() - waited_before)
                if spent >= budget:
                    raise
                remaining = budget - spent

    async def invoke(self, payload: bytes, timeout: float) -> dict[str, Any]:
        """Delivers one event and waits for its answer, within the function's `timeout`."""
        if not self.alive:
            raise _NotDeliveredError
        started, waited = time.monotonic(), self.seconds_waiting_for_a_cpu()
        try:
            await self.send(payload, timeout)
            await self.receive_within(timeout, started, waited)  # the worker's receipt
        except (EOFError, ConnectionError) as error:
            raise _NotDeliveredError from error
        outcome: dict[str, Any] = json.loads(await self.receive_within(timeout, started, waited))
        return outcome

    def close(self) -> None:
        """Asks the process to exit (it sees the end of its socket) without waiting."""
        self._writer.close()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.close()

    def wait(self) -> None:
        """Waits for the process to exit after `close`, killing it past the grace period."""
        try:
            self.process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class FunctionPool:
    """One function's workers: idle ones are reused, new ones start up to `limit`, beyond it requests are throttled."""

    def __init__(self, function: Function, environment: dict[str, str], limit: int, output: IO[bytes] | None) -> None:
        self.function = function
        self.limit = limit
        self._environment = _lambda_environment(function, environment)
        self._output = output
        self._idle: list[Worker] = []
        self._size = 0  # workers alive or starting, idle or busy
        self._generation = 0
        self._numbers = itertools.count(1)
        self._told_throttled = False
        self._all: set[Worker] = set()

    @property
    def name(self) -> str:
        return self.function.logical_id

    async def invoke(self, event: dict[str, Any], request_id: str) -> Any:
        """The handler's result for `event`; ThrottledError or InvocationFailedError when there is none."""
        generation = self._generation  # before any start: code edited meanwhile retires this worker after
        worker = self._take_idle()
        if worker is None:
            worker = await self._cold_start()
        payload = json.dumps({"event": event, "requestId": request_id}).encode()
        timeout = float(self.function.timeout_seconds)
        try:
            try:
                outcome = await worker.invoke(payload, timeout)
            except _NotDeliveredError:
                self._discard(worker)
                log.warning("%s: worker %d had exited; the event goes to a new worker", self.name, worker.number)
                self._size += 1  # the new worker takes the slot the dead one held
                worker = await self._start(reason="the event of a worker that had exited")
                outcome = await worker.invoke(payload, timeout)
        except _NotDeliveredError:
            self._discard(worker)
            raise InvocationFailedError(f"{self.name}: worker {worker.number} exited before taking the event") from None
        except TimeoutError:
            self._discard(worker, kill=True)
            raise InvocationFailedError(f"{self.name} timed out after {timeout:g} s") from None
        except EOFError:
            self._discard(worker)
            raise InvocationFailedError(f"{self.name}: worker {worker.number} died while answering") from None
        self._release(worker, generation)
        if "errorType" in outcome:
            raise InvocationFailedError(f"{self.name} failed: {outcome['errorType']}: {outcome['errorMessage']}")
        return outcome["result"]

    def recycle(self) -> int:
        """New code: idle workers stop now, busy ones once they answer; the next requests cold-start."""
        self._generation += 1
        stopped = len(self._idle)
        for worker in self._idle:
            self._discard(worker)
        self._idle.clear()
        return stopped

    async def warm_up(self) -> None:
        """One worker ready before the first request, so it does not wait for the cold start."""
        generation = self._generation
        try:
            self._release(await self._cold_start(), generation)
        except InvocationFailedError as failure:
            log.warning("%s (the next request tries again)", failure)
        except ThrottledError:
            pass  # a limit of 0: every request is throttled, as Lambda with ReservedConcurrentExecutions 0

    async def aclose(self) -> None:
        workers = list(self._all)
        for worker in workers:
            worker.close()
        await asyncio.gather(*(asyncio.to_thread(worker.wait) for worker in workers))
        self._all.clear()
        self._idle.clear()

    def kill_all(self) -> None:
        for worker in list(self._all):
            worker.kill()
            worker.wait()
        self._all.clear()

    def _take_idle(self) -> Worker | None:
        while self._idle:
            worker = self._idle.pop()  # the most recently used, as Lambda keeps the warmest
            if worker.alive:
                return worker
            log.warning("%s: worker %d had exited while idle", self.name, worker.number)
            self._discard(worker)
        return None

    async def _cold_start(self) -> Worker:
        if self._size >= self.limit:
            if not self._told_throttled:
                self._told_throttled = True
                log.warning(
                    "%s: throttled, all %d workers busy (429); the limit is ReservedConcurrentExecutions "
                    "(PARAMETER_OVERRIDES) or --concurrency",
                    self.name,
                    self.limit,
                )
            raise ThrottledError(self.name)
        self._size += 1
        return await self._start(reason=f"{self._size} of at most {self.limit}")

    async def _start(self, reason: str) -> Worker:
        """A new worker, ready for an event; the caller has counted it in `_size` already."""
        number = next(self._numbers)
        started = time.monotonic()
        parent, child = socket.socketpair()
        try:
            process = subprocess.Popen(
                [sys.executable, "-P", str(RUNTIME), str(child.fileno())],
                env=self._environment,
                cwd=self.function.code_uri,
                stdin=subprocess.DEVNULL,
                stdout=self._output,
                stderr=self._output,
                pass_fds=(child.fileno(),),
            )
        except OSError as error:
            parent.close()
            self._size -= 1
            raise InvocationFailedError(f"{self.name}: cannot start a worker: {error}") from None
        finally:
            child.close()
        worker = await Worker.over(number, process, parent)
        self._all.add(worker)
        try:
            ready = json.loads(await worker.receive_within(float(self.function.timeout_seconds), started))
        except TimeoutError:
            self._discard(worker, kill=True)
            raise InvocationFailedError(
                f"{self.name}: worker {number} did not finish starting within {self.function.timeout_seconds} s"
            ) from None
        except EOFError:
            self._discard(worker, kill=True)
            code = process.wait()
            raise InvocationFailedError(f"{self.name}: worker {number} exited while starting (code {code})") from None
        if "errorType" in ready:
            self._discard(worker, kill=True)
            raise InvocationFailedError(f"{self.name}: init failed: {ready['errorType']}: {ready['errorMessage']}")
        log.info(
            "%s: cold start, worker %d (%s), ready in %.2f s", self.name, number, reason, time.monotonic() - started
        )
        return worker

    def _release(self, worker: Worker, generation: int) -> None:
        if generation == self._generation and worker.alive:
            self._idle.append(worker)
        else:
            self._discard(worker)

    def _discard(self, worker: Worker, *, kill: bool = False) -> None:
        """Forgets a worker and frees its slot; the process exits (or is killed) in the background."""
        if worker not in self._all:
            return
        self._all.discard(worker)
        self._size -= 1
        if kill:
            worker.kill()
        else:
            worker.close()
        asyncio.get_running_loop().run_in_executor(None, worker.wait)


def _lambda_environment(function: Function, environment: dict[str, str]) -> dict[str, str]:
    """The variables the Lambda runtime sets, over the server's, under the function's own from the template.

    PYTHONPATH is dropped: in Lambda only the task root (CodeUri) and the
    runtime's packages are importable, not the rest of this repository.
    """
    inherited = {name: value for name, value in environment.items() if name != "PYTHONPATH"}
    return {
        **inherited,
        **function.environment,  # already resolved against `environment` (see __main__)
        "_HANDLER": function.handler,
        "LAMBDA_TASK_ROOT": str(function.code_uri),
        "AWS_LAMBDA_FUNCTION_NAME": function.logical_id,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(function.timeout_seconds),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.logical_id}",
        "AWS_SAM_LOCAL": "true",  # what sam local sets (only Powertools' Tracer read it; no function has one)
    }
