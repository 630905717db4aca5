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
  rewrites PREFIX_stats.csv every second while the test runs, so that file can miss the last second.
"""

from __future__ import annotations

import csv
import itertools
import random
import time
from datetime import UTC, date, datetime
from typing import IO, Any

from locust import FastHttpUser, events, task
from locust.env import Environment
from locust.exception import StopUser
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

from loadtest.workload import (
    NoOneLeftError,
    People,
    Schedule,
    WrongAnswerError,
    check_greeting,
    is_json,
    read_tokens,
    staggered,
)

ROUTE = "/hello/[username]"
SAMPLE_COLUMNS = ["start_time", "method", "name", "response_time_ms", "status", "ok", "error"]

_user_numbers = itertools.count()
_names_taken: set[str] = set()
_tokens: dict[str, str] = {}
_token_pool: list[str] = []
_test_started = time.monotonic()


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


@events.test_start.add_listener
def _note_start(**_: Any) -> None:
    global _test_started  # noqa: PLW0603 - one clock per locust process, read by every user
    _test_started = time.monotonic()


@events.init.add_listener
def _load_tokens(environment: Environment, **_: Any) -> None:
    """With --tokens (the JWT authorizer on), the file's users are the people, shared out among the users."""
    path = environment.parsed_options.tokens if environment.parsed_options else ""
    if path:
        _tokens.update(read_tokens(path))
        _token_pool[:] = sorted(_tokens)


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
        number = next(_user_numbers)
        self.rng = random.Random(f"{seed}:{number}")
        self.people = People(self.rng, _names_taken, _token_pool if _tokens else None)
        self.registered: dict[str, date] = {}
        self.schedule: Schedule | None = None
        if self.user_rate > 0:
            users = options.num_users if options and options.num_users else 1
            self.schedule = staggered(_test_started, number % users, users, self.user_rate)

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
    """Writes one CSV row per request, as it completes, next to locust's own CSV files."""

    def __init__(self) -> None:
        self.file: IO[str] | None = None
        self.writer: Any = None

    def open(self, environment: Environment) -> None:
        prefix = environment.parsed_options.csv_prefix if environment.parsed_options else None
        if prefix:
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
        if self.writer is None:
            return
        status = getattr(response, "status_code", None) or 0  # 0: no HTTP answer (refused, timed out)
        error = "" if exception is None else str(exception)
        self.writer.writerow(
            [f"{start_time or 0:.6f}", request_type, name, f"{response_time:.3f}", status, int(not exception), error]
        )

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


@events.quitting.add_listener
def _write_final_stats(environment: Environment, **_: Any) -> None:
    """Closes the samples; writes locust's stats and failures tables once more, after the last request."""
    _samples.close()
    prefix = environment.parsed_options.csv_prefix if environment.parsed_options else None
    if not prefix:
        return
    tables = StatsCSV(environment, PERCENTILES_TO_REPORT)
    with open(f"{prefix}_final_stats.csv", "w", newline="", encoding="utf-8") as stats_file:
        tables.requests_csv(csv.writer(stats_file))
    with open(f"{prefix}_final_failures.csv", "w", newline="", encoding="utf-8") as failures_file:
        tables.failures_csv(csv.writer(failures_file))
