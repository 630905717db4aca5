"""`python -m loadtest run|check|worker`: what `make loadtest`, `make check-deployment` and
`make loadtest-worker` run.

run     a headless locust run with USERS users, as fast as each is answered (or --user-rate)
check   a constant arrival rate (default 5 requests/s for 60 s) to keep up while a deployment
        shifts traffic; exits 1 unless every request succeeded
worker  a locust worker for a master started elsewhere with --remote-workers

With the JWT authorizer on, --tokens FILE (username -> token) gives each request its user's
token. Both write locust's CSV files and HTML report, summary.txt and latency.png to
reports/<UTC time>/ and print the summary. The target is --host URL, or --stack NAME (its
ApiUrl output). Locust runs in a child process: it monkey-patches the standard library.

More than one process sends the load with --workers N (locust's --processes: a master and N
workers on this machine; `auto` is one per core) or --remote-workers N (a master that waits for
N workers started elsewhere with `worker --master HOST:PORT`). Exit codes: 0 done, 1 a check
with failed requests, 2 not run (or locust failed), 3 a worker or the master was lost mid-run.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import random
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from loadtest import report, s3
from loadtest.knobs import count, non_negative, positive, run_time, share
from loadtest.stack import StackLookupError, api_url
from loadtest.workload import read_tokens

ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
PREFIX = "locust"
EXIT_FAILED_REQUESTS = 1
EXIT_NOT_RUN = 2
EXIT_WORKER_LOST = 3  # the locustfile's own EXIT_WORKER_LOST (it cannot be imported here: it imports locust)
CONNECT_TIMEOUT_SECONDS = 5
DEFAULT_MASTER_PORT = 5557  # locust's own default
STOP_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Plan:
    """How many locust users, spawned how fast, each sending how many requests a second (0: no pause)."""

    users: int
    spawn_rate: float
    user_rate: float


def constant_rate(rate: float, patience_s: float, workers: int = 1) -> Plan:
    """Locust users that together send `rate` requests a second, evenly spread, over `workers` processes.

    Locust is a closed model: a user waits for its answer before its next request. Each user
    here keeps a fixed schedule of one request every `patience_s` seconds (loadtest.workload.
    Schedule), so a response may take up to that long before that user falls behind, and it
    catches up after. All users start at once and offset their first request by 1/rate from
    each other, which spreads the requests evenly from the first second (locust spawns users
    in batches once a second, so a spawn rate alone would send bursts). The rate is the run's
    total: the users are a multiple of the workers, so each worker sends the same share.
    """
    users = workers * max(1, math.ceil(rate * patience_s / workers))
    return Plan(users=users, spawn_rate=users, user_rate=rate / users)


@dataclass(frozen=True)
class Distribution:
    """Where the users run: in locust's own process (workers=1, local), in `workers` processes
    it forks on this machine (`--processes`), or on `workers` workers that connect from elsewhere."""

    workers: int = 1
    remote: bool = False
    bind_host: str = "127.0.0.1"
    bind_port: int = 0
    wait_s: float = 120.0

    def locust_arguments(self) -> list[str]:
        if self.remote:
            return [
                *("--master", "--expect-workers", str(self.workers)),
                *("--master-bind-host", self.bind_host, "--master-bind-port", str(self.bind_port)),
                *("--expect-workers-max-wait", f"{self.wait_s:g}"),
            ]
        if self.workers == 1:
            return []
        return [
            *("--processes", str(self.workers)),
            *("--master-bind-host", self.bind_host, "--master-bind-port", str(self.bind_port)),
            *("--master-port", str(self.bind_port)),  # where the forked workers connect
        ]

    def describe(self) -> str:
        if self.remote:
            return f"a master at {self.bind_host}:{self.bind_port} waiting for {self.workers} workers"
        return "1 process" if self.workers == 1 else f"a master and {self.workers} worker processes"


def _workers(text: str) -> int:
    """A worker count, or `auto`: one per core."""
    return os.cpu_count() or 1 if text == "auto" else count(text)


def _address(text: str) -> tuple[str, int]:
    """HOST:PORT (or PORT alone, on every interface)."""
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host or "0.0.0.0", int(port)  # noqa: S104 - a master for workers on other machines listens for them


MASTER_PORTS = range(20000, 32768)
"""Below Linux's ephemeral range (32768 and up): a port the kernel hands to `PORT=0` servers and outgoing
connections may be taken between picking it and the master binding it; one from here rarely is."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now, for the master of forked workers (they only talk over loopback)."""
    for port in random.sample(MASTER_PORTS, 50):
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    modes = parser.add_subparsers(dest="mode", required=True)
    _worker_arguments(modes.add_parser("worker", help="a locust worker for a master started with --remote-workers"))
    run = modes.add_parser("run", help="a headless load test")
    run.add_argument("--users", type=count, default=10)
    run.add_argument("--spawn-rate", type=positive, default=10)
    run.add_argument(
        "--user-rate", type=non_negative, default=0, help="requests/s per user; 0: next as soon as answered"
    )
    check = modes.add_parser("check", help="a constant rate while a deployment goes out; fails below 100 %% success")
    check.add_argument("--rate", type=positive, default=5, help="requests per second")
    check.add_argument(
        "--patience", type=positive, default=2, help="seconds a response may take before the rate drops (default 2)"
    )
    for mode, duration in ((run, "30s"), (check, "60s")):
        mode.add_argument("--host", help="base URL, e.g. http://127.0.0.1:3000")
        mode.add_argument("--stack", help="CloudFormation stack whose ApiUrl output is the target")
        mode.add_argument("--region", help="the stack's region (default: the AWS configuration's)")
        mode.add_argument("--duration", type=run_time, default=duration, help=f"locust --run-time (default {duration})")
        mode.add_argument("--put-ratio", type=share, default=0.5, help="share of PUTs (default 0.5)")
        mode.add_argument("--seed", default="0", help="seed of the generated names and dates")
        mode.add_argument("--out", type=Path, help="report directory (default reports/<UTC time>)")
        mode.add_argument(
            "--tokens",
            help="JSON file (or s3:// URL) of username -> token, when the JWT authorizer guards the API "
            "(docs/load-testing.md)",
        )
        mode.add_argument(
            "--upload", metavar="S3_URL", help="also copy the report's files under this s3://bucket/prefix (the fleet)"
        )
        spread = mode.add_mutually_exclusive_group()
        spread.add_argument(
            "--workers",
            type=_workers,
            default=1,
            help="worker processes on this machine (locust --processes); auto: one per core (default 1: no master)",
        )
        spread.add_argument(
            "--remote-workers",
            type=count,
            metavar="N",
            help="wait for N workers started elsewhere (python -m loadtest worker --master HOST:PORT)",
        )
        mode.add_argument(
            "--bind",
            type=_address,
            default=("0.0.0.0", DEFAULT_MASTER_PORT),  # noqa: S104 - remote workers must reach it
            help=f"with --remote-workers: where the master listens (default 0.0.0.0:{DEFAULT_MASTER_PORT})",
        )
        mode.add_argument(
            "--worker-wait",
            type=count,  # whole seconds: locust's --expect-workers-max-wait is an int
            default=120,
            help="with --remote-workers: seconds to wait for them all to connect (default 120)",
        )
    return parser.parse_args(argv)


def _worker_arguments(worker: argparse.ArgumentParser) -> None:
    worker.add_argument("--master", type=_address, required=True, help="HOST:PORT of the master")
    worker.add_argument("--processes", type=_workers, default=1, help="workers on this machine; auto: one per core")
    worker.add_argument("--tokens", help="the master's token file (or s3:// URL), when it runs with --tokens")
    worker.add_argument(
        "--master-wait", type=positive, default=60, help="seconds to wait for the master's port to open (default 60)"
    )
    worker.add_argument(
        "--master-silence",
        type=positive,
        default=15,
        help="stop when the master has sent nothing for this many seconds (default 15)",
    )


def distribution(args: argparse.Namespace) -> Distribution:
    if args.remote_workers:
        host, port = args.bind
        return Distribution(args.remote_workers, remote=True, bind_host=host, bind_port=port, wait_s=args.worker_wait)
    return Distribution(args.workers, bind_port=free_port() if args.workers > 1 else 0)


def _target(args: argparse.Namespace) -> str:
    if bool(args.host) == bool(args.stack):
        raise SystemExit("error: give --host URL or --stack NAME (one of them)")
    if args.host:
        return str(args.host).rstrip("/")
    try:
        return api_url(args.stack, boto3.client("cloudformation", region_name=args.region))
    except StackLookupError as error:
        raise SystemExit(f"error: {error}") from None


def unreachable(url: str, timeout: float = CONNECT_TIMEOUT_SECONDS) -> str | None:
    """Why nothing would answer at `url` (refused, timed out, unknown host), or None when a connection opens.

    One connection before the run: without it, a run against a stopped API
    spends its whole duration failing and reports only "got 0".
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not an http:// or https:// URL"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return None
    except OSError as error:
        return error.strerror or type(error).__name__


def _new_report_directory(parent: Path) -> Path:
    """reports/<UTC time>, with a suffix when two runs start within the same second."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for attempt in itertools.count(1):
        candidate = parent / (stamp if attempt == 1 else f"{stamp}-{attempt}")
        try:
            candidate.mkdir(parents=True)
        except FileExistsError:
            continue
        return candidate
    raise AssertionError("unreachable")


def locust_command(
    host: str, plan: Plan, args: argparse.Namespace, out: Path, spread: Distribution | None = None
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "locust",
        "--locustfile",
        str(LOCUSTFILE),
        *(spread or Distribution()).locust_arguments(),
        "--headless",
        "--only-summary",
        "--host",
        host,
        "--users",
        str(plan.users),
        "--spawn-rate",
        str(plan.spawn_rate),
        "--run-time",
        args.duration,
        "--stop-timeout",
        str(STOP_TIMEOUT_SECONDS),  # let requests in flight at the end finish and count
        "--csv",
        str(out / PREFIX),
        "--html",
        str(out / "report.html"),
        "--exit-code-on-error",
        "0",  # failures are judged from the report; a non-zero exit means locust itself failed
        "--user-rate",
        str(plan.user_rate),
        "--put-ratio",
        str(args.put_ratio),
        "--seed",
        str(args.seed),
        *(["--tokens", str(args.tokens)] if args.tokens else []),
    ]


def token_problem(path: Path | None, users: int, workers: int = 1) -> str | None:
    """Why the token file cannot drive `users` simulated users (unreadable, malformed, too few), or None.

    Over several workers, each gets every `workers`-th token user and may run one user more than
    another, so the file needs `workers` times the most users one worker runs.
    """
    if path is None:
        return None
    try:
        tokens = read_tokens(str(path))
    except (OSError, ValueError) as error:
        return str(error)
    needed = workers * math.ceil(users / workers)
    if len(tokens) >= needed:
        return None
    if workers == 1:
        return f"{path} has tokens for {len(tokens)} user(s); {users} simulated users need one each at least"
    return (
        f"{path} has tokens for {len(tokens)} user(s); {users} simulated users over {workers} workers need "
        f"{needed} at least (each worker takes every {workers}th user of the file)"
    )


def fetched_tokens(location: str | None) -> tuple[Path | None, str | None]:
    """The token file on this machine (an s3:// URL copied here), or why it cannot be had."""
    if not location:
        return None, None
    try:
        return s3.local_copy(location), None
    except (BotoCoreError, ClientError, ValueError) as error:
        return None, f"cannot fetch {location}: {error}"


MASTER_WAIT_VARIABLE = "LOADTEST_MASTER_WAIT"
"""How long a worker's locust waits for the master's answer (locustfile.py): what --master-wait says."""


def reachable_master(host: str, port: int, wait_s: float) -> bool:
    """Whether the master's port accepts a connection within `wait_s` (it may still be starting)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_SECONDS):
                return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(1)


def worker(args: argparse.Namespace) -> int:
    """A locust worker (or several, --processes) for a master elsewhere; its exit code is locust's."""
    host, port = args.master
    if not reachable_master(host, port, args.master_wait):
        print(f"error: no master answers at {host}:{port} after {args.master_wait:g} s", file=sys.stderr)
        return EXIT_NOT_RUN
    tokens, problem = fetched_tokens(args.tokens)
    if (problem := problem or token_problem(tokens, 1)) is not None:
        print(f"error: --tokens: {problem}", file=sys.stderr)
        return EXIT_NOT_RUN
    command = [
        *(sys.executable, "-m", "locust", "--locustfile", str(LOCUSTFILE), "--worker"),
        *("--master-host", host, "--master-port", str(port), "--master-silence", f"{args.master_silence:g}"),
        *(["--processes", str(args.processes)] if args.processes > 1 else []),
        *(["--tokens", str(tokens)] if tokens else []),
    ]
    print(f"worker: {args.processes} process(es) for the master at {host}:{port}", flush=True)
    env = {**_locust_env(), MASTER_WAIT_VARIABLE: f"{args.master_wait:g}"}
    code = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    if code in (0, EXIT_WORKER_LOST):
        return code
    # locust exits -1 (255) when no master ever answered its hello: the port is held by something else
    print(
        f"error: the worker did not run (locust's exit code {code}): nothing at {host}:{port} answered as a "
        f"locust master within {args.master_wait:g} s, or locust's message above says why",
        file=sys.stderr,
    )
    return EXIT_NOT_RUN


def _locust_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if args.mode == "worker":
        return worker(args)
    return load(args)


def load(args: argparse.Namespace) -> int:
    """`run` or `check`: plans the users, runs locust, writes and prints the report; the exit code."""
    host = _target(args)
    reason = unreachable(host)
    if reason is not None:
        hint = " Start the local API first (make run), or give the URL it prints." if not args.stack else ""
        print(f"error: nothing answers at {host} ({reason}).{hint}", file=sys.stderr)
        return EXIT_NOT_RUN
    spread = distribution(args)
    if args.mode == "check":
        plan = constant_rate(args.rate, args.patience, spread.workers)
    else:
        plan = Plan(users=args.users, spawn_rate=args.spawn_rate, user_rate=args.user_rate)
    args.tokens, problem = fetched_tokens(args.tokens)
    problem = problem or token_problem(args.tokens, plan.users, spread.workers)
    if problem is not None:
        print(f"error: --tokens: {problem}", file=sys.stderr)
        return EXIT_NOT_RUN
    out = args.out or _new_report_directory(ROOT / "reports")
    out.mkdir(parents=True, exist_ok=True)
    pace = f"{plan.user_rate:g} req/s each" if plan.user_rate else "each sends again once answered"
    print(f"{args.mode}: {host}, {plan.users} users ({pace}), {args.duration}, {spread.describe()}")
    print(f"report directory: {out}", flush=True)

    locust = subprocess.run(locust_command(host, plan, args, out, spread), cwd=ROOT, env=_locust_env(), check=False)
    lost = locust.returncode == EXIT_WORKER_LOST
    if (locust.returncode != 0 and not lost) or not (out / f"{PREFIX}_final_stats.csv").exists():
        print(f"error: locust did not complete (exit code {locust.returncode})", file=sys.stderr)
        return EXIT_NOT_RUN
    summary = write_report(out, f"{args.mode} {host}")
    if args.upload:
        keys = s3.upload_directory(out, args.upload)
        print(f"uploaded: {len(keys)} files to {args.upload}")
    if lost:
        print(
            "error: the run ended early: a worker (or the master) was lost (locust's message above says which); "
            "the report covers the requests counted until then",
            file=sys.stderr,
        )
        return EXIT_WORKER_LOST
    if args.mode == "check" and not summary.succeeded:
        print("check failed: not every request succeeded", file=sys.stderr)
        return EXIT_FAILED_REQUESTS
    return 0


def write_report(out: Path, what: str) -> report.Summary:
    """summary.txt and latency.png from what locust wrote to `out`; prints the summary."""
    summary = report.summarize(out / PREFIX)
    text = report.render(summary)
    (out / "summary.txt").write_text(text, encoding="utf-8")
    samples = report.read_samples(out / f"{PREFIX}_samples.csv")
    report.plot(
        samples, f"{what}: {summary.requests} requests, {summary.success_ratio:.2%} success", out / "latency.png"
    )
    print(f"\n{text}\nwritten: {out / 'summary.txt'}, {out / 'latency.png'}, {out / 'report.html'}")
    return summary


if __name__ == "__main__":
    sys.exit(main())
