"""Workers as Lambda treats execution environments: cold starts, failures, concurrency, throttling, reloads.

Real worker processes run the handlers in fake_functions/. Nothing here waits
on a clock to decide an outcome: a handler that must be busy says so with a
file and waits for the test's `release` file.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from localapi.events import HttpRequest, HttpResponse
from localapi.server import LocalApi
from localapi.template import Function, Route
from localapi.workers import FunctionPool, Worker

FAKES = Path(__file__).parent / "fake_functions"
WAIT_SECONDS = 60


def _function(name: str, handler: str, markers: Path, timeout: int = 3) -> Function:
    return Function(
        logical_id=name,
        handler=handler,
        code_uri=FAKES,
        environment={"TABLE_NAME": "FromTemplate", "FAKE_MARKERS": str(markers)},
        timeout_seconds=timeout,
        memory_mb=128,
        routes=(Route("GET", f"/{name.lower()}", name),),
    )


def _pool(name: str, handler: str, markers: Path, timeout: int = 3, limit: int = 10) -> FunctionPool:
    server_environment = {"AWS_REGION": "eu-west-1", "PATH": os.environ["PATH"], "PYTHONPATH": "/elsewhere"}
    return FunctionPool(_function(name, handler, markers, timeout), server_environment, limit, output=None)


def _get(path: str) -> HttpRequest:
    return HttpRequest("GET", path, "", [("host", "localhost")], b"", "127.0.0.1")


def _serve(pools: list[FunctionPool], test: Callable[[LocalApi], Awaitable[None]]) -> None:
    """Runs `test` against an API over `pools` on a fresh event loop, and stops every worker after."""

    async def run() -> None:
        api = LocalApi([route for pool in pools for route in pool.function.routes], {p.name: p for p in pools})
        try:
            await test(api)
        finally:
            await asyncio.gather(*(pool.aclose() for pool in pools))

    asyncio.run(run())


def _body(response: HttpResponse) -> Any:
    return json.loads(response.body)


async def _until(condition: Callable[[], bool]) -> None:
    """Waits for something a worker does (a marker file), bounded; fails if it never happens."""
    async with asyncio.timeout(WAIT_SECONDS):
        while not condition():
            await asyncio.sleep(0.01)


def _cold_starts(caplog: pytest.LogCaptureFixture, name: str) -> int:
    return sum(f"{name}: cold start" in record.getMessage() for record in caplog.records)


@pytest.fixture(autouse=True)
def _log_everything(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="localapi")


def test_handler_gets_its_template_environment_a_lambda_context_and_only_its_task_root(tmp_path: Path) -> None:
    async def test(api: LocalApi) -> None:
        response = await api.handle(_get("/fake"))
        assert response.status == 200
        answer = _body(response)
        assert answer["table"] == "FromTemplate"
        assert answer["function"] == "Fake"
        assert 0 < answer["remaining"] <= 3000
        assert answer["handler"] == "handlers.echoes"
        assert answer["task_root"] == answer["cwd"] == str(FAKES)
        assert answer["pythonpath"] is None  # the rest of the repository is not importable, as in Lambda

    _serve([_pool("Fake", "handlers.echoes", tmp_path)], test)


def test_a_handler_error_is_a_json_500_and_the_environment_is_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def test(api: LocalApi) -> None:
        for _ in range(2):
            response = await api.handle(_get("/fake"))
            assert (response.status, _body(response)) == (500, {"message": "Internal Server Error"})
        assert _cold_starts(caplog, "Fake") == 1  # Lambda keeps an environment whose handler raised
        assert "Fake failed: RuntimeError: boom" in caplog.text

    _serve([_pool("Fake", "handlers.raises", tmp_path)], test)


def test_a_result_json_cannot_carry_is_a_500(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def test(api: LocalApi) -> None:
        assert (await api.handle(_get("/fake"))).status == 500
        assert "Runtime.MarshalError" in caplog.text

    _serve([_pool("Fake", "handlers.unserialisable", tmp_path)], test)


def test_a_timed_out_invocation_is_a_500_and_the_next_request_gets_a_new_worker(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def test(api: LocalApi) -> None:
        for _ in range(2):
            response = await api.handle(_get("/fake"))
            assert (response.status, _body(response)) == (500, {"message": "Internal Server Error"})
        assert "Fake timed out after 1 s" in caplog.text
        assert _cold_starts(caplog, "Fake") == 2  # the timed-out worker was killed, as Lambda resets one

    _serve([_pool("Fake", "handlers.sleeps", tmp_path, timeout=1)], test)


def test_an_idle_worker_that_died_gets_no_event_and_no_500(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def test(api: LocalApi) -> None:
        first = _body(await api.handle(_get("/fake")))["pid"]
        os.kill(first, signal.SIGKILL)
        response = await api.handle(_get("/fake"))
        assert response.status == 200
        assert _body(response)["pid"] != first
        assert _cold_starts(caplog, "Fake") == 2
        assert "Fake: worker 1 had exited" in caplog.text

    _serve([_pool("Fake", "handlers.pid", tmp_path)], test)


def test_an_event_sent_to_a_worker_that_just_died_goes_to_a_new_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker dies after the pool last saw it alive: the event is sent, never received, and redelivered."""
    monkeypatch.setattr(Worker, "alive", property(lambda self: True))

    async def test(api: LocalApi) -> None:
        first = _body(await api.handle(_get("/fake")))["pid"]
        os.kill(first, signal.SIGKILL)
        response = await api.handle(_get("/fake"))
        assert response.status == 200
        assert _body(response)["pid"] != first
        assert "the event goes to a new worker" in caplog.text

    _serve([_pool("Fake", "handlers.pid", tmp_path)], test)


@pytest.mark.parametrize(
    ("module", "timeout", "reason"),
    [("init_dies", 3, "exited while starting (code 3)"), ("init_hangs", 1, "did not finish starting within 1 s")],
)
def test_a_worker_that_dies_or_hangs_while_starting_is_a_json_500_and_the_next_request_works(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, module: str, timeout: int, reason: str
) -> None:
    async def test(api: LocalApi) -> None:
        failed = await api.handle(_get("/fake"))
        assert (failed.status, _body(failed)) == (500, {"message": "Internal Server Error"})
        assert ("content-type", "application/json") in failed.headers
        assert reason in caplog.text
        worked = await api.handle(_get("/fake"))
        assert (worked.status, worked.body) == (200, b"started the second time")

    _serve([_pool("Fake", f"{module}.handler", tmp_path, timeout=timeout)], test)


def test_a_busy_function_gets_new_workers_up_to_its_limit_then_is_throttled(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def test(api: LocalApi) -> None:
        busy = [asyncio.create_task(api.handle(_get("/fake"))) for _ in range(2)]
        await _until(lambda: len(list(tmp_path.glob("started-*"))) == 2)  # two workers, each with one event
        throttled = await api.handle(_get("/fake"))
        assert (throttled.status, _body(throttled)) == (429, {"message": "Too Many Requests"})
        (tmp_path / "release").touch()
        answers = await asyncio.gather(*busy)
        assert [answer.status for answer in answers] == [200, 200]
        assert len({_body(answer)["pid"] for answer in answers}) == 2  # one event per worker at a time
        assert _cold_starts(caplog, "Fake") == 2
        assert "(2 of at most 2)" in caplog.text

    _serve([_pool("Fake", "handlers.blocks", tmp_path, limit=2)], test)


def test_a_limit_of_zero_throttles_every_request(tmp_path: Path) -> None:
    async def test(api: LocalApi) -> None:
        assert (await api.handle(_get("/fake"))).status == 429

    _serve([_pool("Fake", "handlers.echoes", tmp_path, limit=0)], test)


def test_a_stalled_function_stalls_only_itself(tmp_path: Path) -> None:
    async def test(api: LocalApi) -> None:
        stalled = [asyncio.create_task(api.handle(_get("/stalled"))) for _ in range(3)]
        await _until(lambda: len(list(tmp_path.glob("started-*"))) == 3)
        assert (await api.handle(_get("/other"))).status == 200
        assert (await api.handle(_get("/nowhere"))).status == 404
        assert not any(task.done() for task in stalled)
        (tmp_path / "release").touch()
        assert [answer.status for answer in await asyncio.gather(*stalled)] == [200, 200, 200]

    _serve([_pool("Stalled", "handlers.blocks", tmp_path), _pool("Other", "handlers.echoes", tmp_path)], test)


def test_recycled_workers_finish_what_they_hold_and_new_code_answers_next(tmp_path: Path) -> None:
    async def test(api: LocalApi) -> None:
        (pool,) = api.pools.values()
        busy = asyncio.create_task(api.handle(_get("/fake")))
        await _until(lambda: any(tmp_path.glob("started-*")))
        pool.recycle()  # what the file watcher does
        (tmp_path / "release").touch()
        held = _body(await busy)["pid"]  # the request in flight is answered by the old worker
        idle = _body(await api.handle(_get("/fake")))["pid"]
        assert idle != held
        pool.recycle()
        assert _body(await api.handle(_get("/fake")))["pid"] != idle

    _serve([_pool("Fake", "handlers.blocks", tmp_path)], test)


def test_a_worker_still_starting_when_the_code_changes_is_retired_after_its_request(tmp_path: Path) -> None:
    """It may have imported the old code: it answers the request it started for, then makes way."""

    async def test(api: LocalApi) -> None:
        (pool,) = api.pools.values()
        starting = asyncio.create_task(api.handle(_get("/fake")))
        await _until(lambda: any(tmp_path.glob("init-started-*")))
        pool.recycle()
        (tmp_path / "init-release").touch()
        first = _body(await starting)["pid"]
        assert _body(await api.handle(_get("/fake")))["pid"] != first

    _serve([_pool("Fake", "init_waits.handler", tmp_path)], test)
