"""`python -m loadtest run|check`: what `make loadtest` and `make check-deployment` run.

run     a headless locust run with USERS users, as fast as each is answered (or --user-rate)
check   a constant arrival rate (default 5 requests/s for 60 s) to keep up while a deployment
        shifts traffic; exits 1 unless every request succeeded

With the JWT authorizer on, --tokens FILE (username -> token) gives each request its user's
token. Both write locust's CSV files and HTML report, summary.txt and latency.png to
reports/<UTC time>/ and print the summary. The target is --host URL, or --stack NAME (its
ApiUrl output). Locust runs in a child process: it monkey-patches the standard library.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import boto3

from loadtest import report
from loadtest.stack import StackLookupError, api_url
from loadtest.workload import read_tokens

ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
PREFIX = "locust"
EXIT_FAILED_REQUESTS = 1
EXIT_NOT_RUN = 2
CONNECT_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class Plan:
    """How many locust users, spawned how fast, each sending how many requests a second (0: no pause)."""

    users: int
    spawn_rate: float
    user_rate: float


def constant_rate(rate: float, patience_s: float) -> Plan:
    """Locust users that together send `rate` requests a second, evenly spread.

    Locust is a closed model: a user waits for its answer before its next request. Each user
    here keeps a fixed schedule of one request every `patience_s` seconds (loadtest.workload.
    Schedule), so a response may take up to that long before that user falls behind, and it
    catches up after. All users start at once and offset their first request by 1/rate from
    each other, which spreads the requests evenly from the first second (locust spawns users
    in batches once a second, so a spawn rate alone would send bursts).
    """
    users = max(1, math.ceil(rate * patience_s))
    return Plan(users=users, spawn_rate=users, user_rate=rate / users)


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0: {text}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {text}")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be from 0 to 1: {text}")
    return value


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    modes = parser.add_subparsers(dest="mode", required=True)
    run = modes.add_parser("run", help="a headless load test")
    run.add_argument("--users", type=_count, default=10)
    run.add_argument("--spawn-rate", type=_positive, default=10)
    run.add_argument("--user-rate", type=float, default=0, help="requests/s per user; 0: next as soon as answered")
    check = modes.add_parser("check", help="a constant rate while a deployment goes out; fails below 100 %% success")
    check.add_argument("--rate", type=_positive, default=5, help="requests per second")
    check.add_argument(
        "--patience", type=_positive, default=2, help="seconds a response may take before the rate drops (default 2)"
    )
    for mode, duration in ((run, "30s"), (check, "60s")):
        mode.add_argument("--host", help="base URL, e.g. http://127.0.0.1:3000")
        mode.add_argument("--stack", help="CloudFormation stack whose ApiUrl output is the target")
        mode.add_argument("--region", help="the stack's region (default: the AWS configuration's)")
        mode.add_argument("--duration", default=duration, help=f"locust --run-time (default {duration})")
        mode.add_argument("--put-ratio", type=_share, default=0.5, help="share of PUTs (default 0.5)")
        mode.add_argument("--seed", default="0", help="seed of the generated names and dates")
        mode.add_argument("--out", type=Path, help="report directory (default reports/<UTC time>)")
        mode.add_argument(
            "--tokens",
            type=Path,
            help="JSON file of username -> token, when the JWT authorizer guards the API (docs/load-testing.md)",
        )
    return parser.parse_args(argv)


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


def locust_command(host: str, plan: Plan, args: argparse.Namespace, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "locust",
        "--locustfile",
        str(LOCUSTFILE),
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
        "10",  # let requests in flight at the end finish and count
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


def token_problem(path: Path | None, users: int) -> str | None:
    """Why the token file cannot drive `users` simulated users (unreadable, malformed, too few), or None."""
    if path is None:
        return None
    try:
        tokens = read_tokens(str(path))
    except (OSError, ValueError) as error:
        return str(error)
    if len(tokens) < users:
        return f"{path} has tokens for {len(tokens)} user(s); {users} simulated users need one each at least"
    return None


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    host = _target(args)
    reason = unreachable(host)
    if reason is not None:
        hint = " Start the local API first (make run), or give the URL it prints." if not args.stack else ""
        print(f"error: nothing answers at {host} ({reason}).{hint}", file=sys.stderr)
        return EXIT_NOT_RUN
    if args.mode == "check":
        plan = constant_rate(args.rate, args.patience)
    else:
        plan = Plan(users=args.users, spawn_rate=args.spawn_rate, user_rate=args.user_rate)
    problem = token_problem(args.tokens, plan.users)
    if problem is not None:
        print(f"error: --tokens: {problem}", file=sys.stderr)
        return EXIT_NOT_RUN
    out = args.out or _new_report_directory(ROOT / "reports")
    out.mkdir(parents=True, exist_ok=True)
    pace = f"{plan.user_rate:g} req/s each" if plan.user_rate else "each sends again once answered"
    print(f"{args.mode}: {host}, {plan.users} users ({pace}), {args.duration}")
    print(f"report directory: {out}", flush=True)

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    locust = subprocess.run(locust_command(host, plan, args, out), cwd=ROOT, env=env, check=False)
    if locust.returncode != 0 or not (out / f"{PREFIX}_final_stats.csv").exists():
        print(f"error: locust did not complete (exit code {locust.returncode})", file=sys.stderr)
        return EXIT_NOT_RUN

    summary = report.summarize(out / PREFIX)
    text = report.render(summary)
    (out / "summary.txt").write_text(text, encoding="utf-8")
    samples = report.read_samples(out / f"{PREFIX}_samples.csv")
    title = f"{args.mode} {host}: {summary.requests} requests, {summary.success_ratio:.2%} success"
    report.plot(samples, title, out / "latency.png")
    print(f"\n{text}\nwritten: {out / 'summary.txt'}, {out / 'latency.png'}, {out / 'report.html'}")
    if args.mode == "check" and not summary.succeeded:
        print("check failed: not every request succeeded", file=sys.stderr)
        return EXIT_FAILED_REQUESTS
    return 0


if __name__ == "__main__":
    sys.exit(main())
