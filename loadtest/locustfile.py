"""The greeter's load: people are registered with PUT and greeted with GET, every answer checked.

    locust -f loadtest/locustfile.py --host http://127.0.0.1:3000 [--put-ratio 0.5] [--seed 0] [--user-rate 0]
        [--tokens tokens.json]

With the JWT authorizer on, `--tokens` names a JSON file of username -> token: the people
registered are then that file's users, each given to one simulated user, and every request
carries its person's token (`Authorization: Bearer`).

Each simulated user draws from its own seeded generator, so a run is repeatable. A GET only
asks for someone that same user registered, so it must answer 200: a 404 is a failure. With
`--csv PREFIX` it also writes, for loadtest.report:

- PREFIX_samples.csv: one row per request as it completes (time, latency, status code),
  which the report counts status codes from and plots;
- PREFIX_final_stats.csv and PREFIX_final_failures.csv: locust's own stats and failures tables
  (its StatsCSV, same columns as PREFIX_stats.csv), written once the users have stopped. Locust
  rewrites PREFIX_stats.csv every second while the test runs, so that file can miss the last second;
- PREFIX_workers.csv: how many requests each worker sent (one row, "local", without workers).

Distributed (locust's --master/--worker or --processes), the users run on the workers and only
the master writes files. Each worker takes its own part of the run (loadtest.workload.Share:
names, token users, user numbers) and sends its samples to the master inside locust's own stats
reports (events.report_to_master), so a sample and the count it adds travel in one message.
When the run ends, the master asks every worker to stop its users and send its last report, and
waits for them before the files are written. A worker that goes missing, quits or refuses to run
ends the run (exit code 3), and so does a master a worker has not heard from for
--master-silence seconds: a run never waits on a machine that is gone.
"""

from __future__ import annotations

import csv
import itertools
import logging
import os
import random
import time
from datetime import UTC, date, datetime
from typing import IO, Any

import gevent
from locust import FastHttpUser, events, runners, task
from locust.env import Environment
from locust.exception import StopUser
from locust.runners import STATE_MISSING, MasterRunner, WorkerRunner
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

from loadtest.workload import (
    NoOneLeftError,
    People,
    Schedule,
    Share,
    WrongAnswerError,
    aligned_start,
    check_greeting,
    is_json,
    read_tokens,
    staggered,
    tokens_digest,
)

# A worker whose --master answers TCP but never as a locust master (a mistyped port, another server)
# would retry for locust's own 60 x 5 s; a worker gives up after --master-wait instead (locust has
# no setting for it, only these module constants, read when the worker connects).
runners.CONNECT_RETRY_COUNT = max(
    1, round(float(os.environ.get("LOADTEST_MASTER_WAIT", "60")) / runners.CONNECT_TIMEOUT)
)

ROUTE = "/hello/[username]"
SAMPLE_COLUMNS = ["start_time", "method", "name", "response_time_ms", "status", "ok", "error"]
WORKER_COLUMNS = ["worker", "id", "requests"]
EXIT_WORKER_LOST = 3
"""Locust's exit code when a run ended because a worker or the master was lost (python -m loadtest reads it)."""
SAMPLES_KEY = "greeter_samples"
FINISH, FINISHED, REFUSED = "greeter_finish", "greeter_finished", "greeter_refused"
FINAL_REPORT_MARGIN_SECONDS = 10.0
"""How much longer than --stop-timeout the master waits for the workers' last reports."""
WATCH_INTERVAL_SECONDS = 0.5

_user_numbers = itertools.count()
_names_taken: set[str] = set()
_tokens: dict[str, str] = {}
_token_pool: list[str] = []
_test_started = time.monotonic()
_schedule_start: float | None = None
_share = Share()
_log = logging.getLogger("loadtest")


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    parser.add_argument(
        "--put-ratio", type=float, default=0.5, env_var="LOCUST_PUT_RATIO", help="Share of requests that are PUTs"
    )
    parser.add_argument("--seed", default="0", env_var="LOCUST_SEED", help="Seed of the names and dates")
    parser.add_argument(
        "--tokens",
        default="",
        env_var="LOCUST_TOKENS",
        help="JSON file of username -> token: the people are its users, each request sends its user's token",
    )
    parser.add_argument(
        "--user-rate",
        type=float,
        default=0.0,
        env_var="LOCUST_USER_RATE",
        help="Requests per second per user, on a fixed schedule; 0 sends the next one as soon as one is answered",
    )
    parser.add_argument(
        "--master-silence",
        type=float,
        default=15.0,
        env_var="LOCUST_MASTER_SILENCE",
        help="A worker that has heard nothing from its master for this many seconds stops (exit code 3)",
    )


@events.init.add_listener
def _load_tokens(environment: Environment, **_: Any) -> None:
    """With --tokens (the JWT authorizer on), the file's users are the people, shared out at test start.

    A worker reads the file its own command line names: the master's options, which reach the
    worker with the first spawn message, name a path on the master's machine. The master sends
    the file's digest instead, and each worker checks it has the same file (`_take_part`).
    """
    options = environment.parsed_options
    path = options.tokens if options else ""
    if path:
        _tokens.update(read_tokens(path))
    if options is not None:
        options.tokens_digest = tokens_digest(_tokens)


@events.test_start.add_listener
def _take_part(environment: Environment, **_: Any) -> None:
    """This process's part of the run: all of it alone, worker i of n distributed (n: the master's --expect-workers)."""
    global _test_started, _schedule_start, _share  # noqa: PLW0603 - one clock and share per process, read by every user
    _test_started = time.monotonic()
    _schedule_start = None
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        options = environment.parsed_options
        count = int(getattr(options, "expect_workers", 1) or 1)
        _share = Share(index=max(runner.worker_index, 0), count=count)
        problem = _refusal(runner.worker_index, count, getattr(options, "tokens_digest", ""))
        if problem is not None:
            _refuse(environment, problem)
            return
    _token_pool[:] = _share.pool(list(_tokens))


def _refusal(index: int, count: int, masters_digest: str) -> str | None:
    """Why this worker cannot take part (its number, a different token file), or None."""
    if not 0 <= index < count:
        return f"this worker is number {index + 1} but the master expects {count}: start exactly --expect-workers"
    if masters_digest != tokens_digest(_tokens):
        return "this worker's --tokens file is not the master's (give every worker the master's token file)"
    return None


def _refuse(environment: Environment, reason: str) -> None:
    _log.error("%s; this worker stops", reason)
    environment.process_exit_code = EXIT_WORKER_LOST
    environment.runner.send_message(REFUSED, {"reason": reason})  # type: ignore[union-attr]
    gevent.spawn(environment.runner.quit)  # type: ignore[union-attr]


def schedule_start(process_rate: float) -> float:
    """When this process's schedules begin (time.monotonic()), the same for each of its users.

    Alone, at the test's start. With workers, on the next tick of a wall-clock grid of one
    period of this worker's rate (loadtest.workload.aligned_start), so that workers whose spawn
    messages came a few milliseconds apart still send in phase.
    """
    global _schedule_start  # noqa: PLW0603 - set by the first user of the run, read by the others
    if _schedule_start is None:
        _schedule_start = _test_started
        if _share.count > 1 and process_rate > 0:
            _schedule_start = aligned_start(time.monotonic(), time.time(), 1 / process_rate)
    return _schedule_start


def _utc_today() -> date:
    return datetime.now(UTC).date()


class Greeted(FastHttpUser):
    """One person at a keyboard: registers people (PUT), greets those it registered (GET)."""

    # Lambda gives up after 6 s and API Gateway answers then; a hung connection is a failure (status 0).
    connection_timeout = 5.0
    network_timeout = 10.0

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        options = environment.parsed_options
        self.put_ratio: float = options.put_ratio if options else 0.5
        self.user_rate: float = options.user_rate if options else 0.0
        seed = options.seed if options else "0"
        slot = _share.slot(next(_user_numbers))  # run-wide: no two workers' users share a seed
        self.rng = random.Random(f"{seed}:{slot}")
        self.people = People(self.rng, _names_taken, _token_pool if _tokens else None, _share)
        self.registered: dict[str, date] = {}
        self.schedule: Schedule | None = None
        if self.user_rate > 0:
            # The run's users: this process's target times the workers (python -m loadtest makes a
            # check's users a multiple of the workers, so each worker has the same number).
            mine = environment.runner.target_user_count if environment.runner else 1
            users = max(1, mine * _share.count)
            self.schedule = staggered(schedule_start(mine * self.user_rate), slot % users, users, self.user_rate)

    def on_start(self) -> None:
        time.sleep(self.wait_time())  # to this user's first slot (gevent-patched: the others run meanwhile)

    def wait_time(self) -> float:
        return self.schedule.wait(time.monotonic()) if self.schedule else 0.0

    @task
    def visit(self) -> None:
        """One request: a PUT with probability `put_ratio` (and while nobody is registered yet), else a GET."""
        if not self.registered or self.rng.random() < self.put_ratio:
            self.register()
        else:
            self.greet()

    def authorization(self, name: str) -> dict[str, str]:
        """The name's `Authorization: Bearer` header when the run has tokens, else none."""
        return {"Authorization": f"Bearer {_tokens[name]}"} if _tokens else {}

    def register(self) -> None:
        try:
            name = self.people.name()
        except NoOneLeftError:  # every token's user is someone's: this user re-registers one of its own
            if not self.registered:
                raise StopUser from None  # more simulated users than tokens (python -m loadtest refuses that)
            name = self.rng.choice(sorted(self.registered))
        born = self.people.date_of_birth(_utc_today())
        with self.client.put(
            f"/hello/{name}",
            json={"dateOfBirth": born.isoformat()},
            headers=self.authorization(name),
            name=ROUTE,
            catch_response=True,
        ) as response:
            if response.status_code != 204:
                response.failure(f"PUT: expected 204, got {response.status_code}")
            else:
                self.registered[name] = born

    def greet(self) -> None:
        name = self.rng.choice(list(self.registered))
        spelling = self.people.spelling(name)
        before = _utc_today()
        with self.client.get(
            f"/hello/{spelling}", headers=self.authorization(name), name=ROUTE, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"GET of a registered user: expected 200, got {response.status_code}")
            elif not is_json(response.headers.get("content-type")):
                response.failure("GET: Content-Type is not application/json")
            else:
                try:
                    check_greeting(response.json(), spelling, self.registered[name], {before, _utc_today()})
                except ValueError:
                    response.failure("GET: body is not JSON")
                except WrongAnswerError as wrong:
                    response.failure(f"GET: {wrong}")


class _SampleLog:
    """One CSV row per request, written as it completes next to locust's own CSV files.

    On a worker (no file) the rows wait in `pending` until locust's next stats report carries
    them to the master, which writes them; `requests` counts the rows by the worker that sent them.
    """

    def __init__(self) -> None:
        self.file: IO[str] | None = None
        self.writer: Any = None
        self.forwarding = False
        self.pending: list[list[Any]] = []
        self.requests: dict[tuple[int, str], int] = {}

    def open(self, environment: Environment) -> None:
        prefix = environment.parsed_options.csv_prefix if environment.parsed_options else None
        if prefix and self.file is None:
            self.file = open(f"{prefix}_samples.csv", "w", newline="", encoding="utf-8")  # noqa: SIM115
            self.writer = csv.writer(self.file)
            self.writer.writerow(SAMPLE_COLUMNS)

    def record(
        self,
        *,
        request_type: str,
        name: str,
        response_time: float,
        response: Any,
        exception: BaseException | None,
        start_time: float | None = None,
        **_: Any,
    ) -> None:
        status = getattr(response, "status_code", None) or 0  # 0: no HTTP answer (refused, timed out)
        error = "" if exception is None else str(exception)
        row = [f"{start_time or 0:.6f}", request_type, name, f"{response_time:.3f}", status, int(not exception), error]
        if self.forwarding:
            self.pending.append(row)
        else:
            self.write((0, "local"), [row])

    def take(self) -> list[list[Any]]:
        """The rows not yet sent to the master, which are then no longer this worker's to send."""
        rows, self.pending = self.pending, []
        return rows

    def write(self, worker: tuple[int, str], rows: list[list[Any]]) -> None:
        self.requests[worker] = self.requests.get(worker, 0) + len(rows)
        if self.writer is not None:
            self.writer.writerows(rows)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = self.writer = None


_samples = _SampleLog()


@events.test_start.add_listener
def _open_samples(environment: Environment, **_: Any) -> None:
    _samples.open(environment)


@events.request.add_listener
def _record_sample(**request: Any) -> None:
    _samples.record(**request)


@events.report_to_master.add_listener
def _send_samples(data: dict[str, Any], **_: Any) -> None:
    """On a worker: the rows since the last report ride in it, next to the stats that count them."""
    data[SAMPLES_KEY] = _samples.take()


@events.worker_report.add_listener
def _receive_samples(client_id: str, data: dict[str, Any]) -> None:
    """On the master: a worker's rows, written as they come."""
    runner = _master
    if runner is not None:
        _samples.write((_index(runner, client_id), client_id), data.get(SAMPLES_KEY, []))


# ---------------------------------------------------------------- distributed runs: the master's side
_master: MasterRunner | None = None


def _index(runner: MasterRunner, client_id: str) -> int:
    """The worker's number (0, 1, ...), fixed by the master when it first connects."""
    return int(runner.get_worker_index(client_id))  # type: ignore[no-untyped-call]


_run_workers: set[str] = set()
_finished: set[str] = set()
_run_over = False


@events.init.add_listener
def _set_up_distribution(environment: Environment, **_: Any) -> None:
    global _master  # noqa: PLW0603 - the one runner of this process
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        _master = runner
        runner.register_message(FINISHED, lambda msg, **_: _finished.add(msg.node_id))
        runner.register_message(REFUSED, _worker_refused)
    elif isinstance(runner, WorkerRunner):
        _samples.forwarding = True
        runner.register_message(FINISH, _finish, concurrent=True)
        _watch_master(environment, runner)


def _worker_refused(environment: Environment, msg: Any, **_: Any) -> None:
    index = _index(_master, msg.node_id) if _master else "?"
    _log.error("worker %s (%s) refuses to run: %s", index, msg.node_id, msg.data["reason"])


@events.test_start.add_listener
def _watch_workers(environment: Environment, **_: Any) -> None:
    """On the master: the workers present at the start are the run's; losing one ends the run."""
    global _run_over  # noqa: PLW0603
    runner = environment.runner
    if not isinstance(runner, MasterRunner):
        return
    _run_over = False
    _run_workers.clear()
    _run_workers.update(client.id for client in runner.clients.all if client.state != STATE_MISSING)
    started = time.monotonic()

    def watch() -> None:
        while not _run_over:
            if _lost(runner):
                _end_run(environment, runner, time.monotonic() - started)
                return
            gevent.sleep(WATCH_INTERVAL_SECONDS)

    gevent.spawn(watch)  # not in the runner's group: quitting the runner must not kill the one that quits it


def _lost(runner: MasterRunner) -> list[str]:
    """The run's workers that quit or stopped sending heartbeats, described."""
    lost = []
    for client_id in sorted(_run_workers):
        index = _index(runner, client_id)
        if client_id not in runner.clients:
            lost.append(f"worker {index} ({client_id}) quit")
        elif runner.clients[client_id].state == STATE_MISSING:
            lost.append(f"worker {index} ({client_id}) stopped sending heartbeats")
    return lost


def _end_run(environment: Environment, runner: MasterRunner, after_s: float) -> None:
    global _run_over  # noqa: PLW0603
    if _run_over:
        return
    _run_over = True
    _log.error(
        "%s %.0f s into the run: the run ends here. Its requests since its last report (every 3 s) are not "
        "counted; the report covers every request counted until now.",
        "; ".join(_lost(runner)),
        after_s,
    )
    environment.process_exit_code = EXIT_WORKER_LOST
    gevent.spawn(runner.quit)


@events.test_stop.add_listener
def _collect_final_reports(environment: Environment, **_: Any) -> None:
    """On the master: every worker stops its users and sends its last report before the files are written.

    Locust's own end of a headless run sends `quit` and waits half a second for the last reports,
    which can lose the requests still in flight; here each worker answers FINISHED once its last
    report is sent, and the master waits for every answer (at most --stop-timeout plus a margin).
    """
    global _run_over  # noqa: PLW0603
    runner = environment.runner
    if not isinstance(runner, MasterRunner):
        return
    if _lost(runner):  # locust itself stops the run when its last worker goes missing
        _end_run(environment, runner, 0.0)
    _run_over = True
    waiting = {client.id for client in runner.clients.all if client.state != STATE_MISSING}
    _finished.clear()
    for client_id in waiting:
        runner.send_message(FINISH, client_id=client_id)
    deadline = time.monotonic() + environment.stop_timeout + FINAL_REPORT_MARGIN_SECONDS
    while time.monotonic() < deadline:
        present = {client.id for client in runner.clients.all if client.state != STATE_MISSING}
        if not (waiting & present) - _finished:
            break
        gevent.sleep(0.05)
    silent = sorted(waiting - _finished)
    if silent:
        _log.error("no last report from worker(s) %s: their last requests are not counted", ", ".join(silent))


# ---------------------------------------------------------------- distributed runs: a worker's side
def _finish(environment: Environment, msg: Any, **_: Any) -> None:
    """Stops this worker's users (requests in flight finish), sends the last report, then says so."""
    runner = environment.runner
    if runner is None:
        return
    runner.stop()
    report: dict[str, Any] = {}
    environment.events.report_to_master.fire(client_id=runner.client_id, data=report)  # type: ignore[attr-defined,no-untyped-call]
    runner.send_message("stats", report)
    runner.send_message(FINISHED)


def _watch_master(environment: Environment, runner: WorkerRunner) -> None:
    """Stops this worker when the master has sent nothing (not even a heartbeat) for --master-silence seconds."""
    options = environment.parsed_options
    silence = float(options.master_silence) if options else 15.0
    heard = [time.monotonic()]
    environment.events.heartbeat_received.add_listener(  # type: ignore[no-untyped-call]
        lambda **_: heard.__setitem__(0, time.monotonic())
    )

    def watch() -> None:
        while True:
            gevent.sleep(1)
            if time.monotonic() - heard[0] > silence:
                _log.error(
                    "the master at %s:%s has sent nothing for %.0f s (stopped, or the network is down): "
                    "this worker stops",
                    runner.master_host,
                    runner.master_port,
                    silence,
                )
                environment.process_exit_code = EXIT_WORKER_LOST
                runner.quit()
                return

    gevent.spawn(watch)


@events.quitting.add_listener
def _write_final_stats(environment: Environment, **_: Any) -> None:
    """Closes the samples; writes locust's stats and failures tables once more, after the last request,
    and how many requests each worker sent."""
    _samples.close()
    prefix = environment.parsed_options.csv_prefix if environment.parsed_options else None
    if not prefix or isinstance(environment.runner, WorkerRunner):
        return
    tables = StatsCSV(environment, PERCENTILES_TO_REPORT)
    with open(f"{prefix}_final_stats.csv", "w", newline="", encoding="utf-8") as stats_file:
        tables.requests_csv(csv.writer(stats_file))
    with open(f"{prefix}_final_failures.csv", "w", newline="", encoding="utf-8") as failures_file:
        tables.failures_csv(csv.writer(failures_file))
    if _master is None:
        _samples.requests.setdefault((0, "local"), 0)
    for client_id in _run_workers:  # a worker of the run that sent nothing shows, with 0
        _samples.requests.setdefault((_index(_master, client_id) if _master else 0, client_id), 0)
    with open(f"{prefix}_workers.csv", "w", newline="", encoding="utf-8") as workers_file:
        writer = csv.writer(workers_file)
        writer.writerow(WORKER_COLUMNS)
        writer.writerows([index, client_id, count] for (index, client_id), count in sorted(_samples.requests.items()))
