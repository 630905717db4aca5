"""`python -m bench.loadgen` (part of `make bench`): how the load test's generation scales with workers.

Requests per second that `python -m loadtest run` generates with one worker (no master: what
WORKERS=1 runs) and with two (a master and two worker processes: WORKERS=2), against
bench.greeter_stub, a server that answers the workload right for a few tens of microseconds a
request, so that the load generator is what is measured. The runs alternate, 1 then 2, ROUNDS
times; each rate counts the requests started in the run's steady part (after WARM_UP_SECONDS,
before the last second) and the result is the median of each round's ratio, 2 workers / 1. The
stub's own CPU share is reported with each run: near 100 % would make it the bottleneck.

On two cores the stub, the master and two workers share them: the goal is a ratio of at least
GOAL, reported, not enforced (other jobs on the machine take cores from the two-worker run
first). Writes reports/loadgen.json and reports/loadgen.md; exits 1 only when a run fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil

from bench.stats import markdown_table, median, ratio
from bench.throughput import Server
from loadtest import report

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "reports"
ROUNDS = 3
SECONDS = 15
USERS = 16
WARM_UP_SECONDS = 3.0
GOAL = 1.7
SPAWNED = "All users spawned"  # locust's log line once every user runs
RUN_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Run:
    workers: int
    requests: int
    rate: float
    """Requests started per second in the steady part of the run."""
    stub_cpu: float
    """The stub's CPU seconds per second of the run (1.0: one core busy)."""
    generator_cpu: float
    """CPU seconds per second of locust's processes (the master, its workers) in the run's steady part."""

    @property
    def per_cpu_second(self) -> float:
        """Requests per CPU second of the generator: what it costs, whatever share of the cores it got."""
        return self.rate / self.generator_cpu if self.generator_cpu else 0.0


def steady_rate(starts: list[float], warm_up: float = WARM_UP_SECONDS, tail: float = 1.0) -> float:
    """Requests per second started between `warm_up` after the first and `tail` before the last."""
    if not starts:
        return 0.0
    begin, end = min(starts) + warm_up, max(starts) - tail
    if end <= begin:
        raise ValueError(f"a run of {max(starts) - min(starts):.1f} s has no steady part after {warm_up} s")
    return sum(begin <= start < end for start in starts) / (end - begin)


def round_ratios(runs: list[Run]) -> list[float]:
    """Each round's two-worker rate over its one-worker rate (runs alternate 1, 2, 1, 2, ...)."""
    ones = [run.rate for run in runs if run.workers == 1]
    twos = [run.rate for run in runs if run.workers == 2]
    return [ratio(two, one) for one, two in zip(ones, twos, strict=True)]


def efficiency_ratios(runs: list[Run]) -> list[float]:
    """Each round's requests per CPU second with two workers over one's: below 1 is what distribution costs."""
    ones = [run.per_cpu_second for run in runs if run.workers == 1]
    twos = [run.per_cpu_second for run in runs if run.workers == 2]
    return [ratio(two, one) for one, two in zip(ones, twos, strict=True)]


def _tree_cpu(root: psutil.Process) -> dict[int, float]:
    """CPU seconds so far of every process under `root` (locust, its workers), by pid."""
    cpu = {}
    for process in root.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            cpu[process.pid] = sum(process.cpu_times()[:2])
    return cpu


def one_run(url: str, stub: psutil.Process, workers: int, seconds: int, users: int) -> Run:
    """One `python -m loadtest run`; the CPU of its processes and of the stub is sampled in its steady part."""
    with tempfile.TemporaryDirectory(prefix="loadgen-") as scratch:
        out = Path(scratch)
        command = [sys.executable, "-m", "loadtest", "run", "--host", url, "--users", str(users)]
        command += ["--spawn-rate", str(users), "--duration", f"{seconds}s", "--workers", str(workers)]
        command += ["--out", str(out)]
        runner = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        output: list[str] = []
        spawned = threading.Event()

        def read() -> None:
            for line in runner.stdout or []:
                output.append(line)
                if SPAWNED in line:
                    spawned.set()
            spawned.set()  # the run ended before spawning: the exit code says why

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        spawned.wait(timeout=RUN_TIMEOUT_SECONDS)
        time.sleep(WARM_UP_SECONDS)
        tree = psutil.Process(runner.pid)
        window = max(1.0, seconds - WARM_UP_SECONDS - 2)
        generator_before, stub_before, started = _tree_cpu(tree), sum(stub.cpu_times()[:2]), time.monotonic()
        time.sleep(window)
        generator_after, stub_after = _tree_cpu(tree), sum(stub.cpu_times()[:2])
        elapsed = time.monotonic() - started
        code = runner.wait(timeout=RUN_TIMEOUT_SECONDS)
        reader.join(timeout=RUN_TIMEOUT_SECONDS)
        if code != 0:
            raise RuntimeError(f"the {workers}-worker run failed ({code}):\n{''.join(output)}")
        summary = report.summarize(out / "locust")
        if summary.failures:
            raise RuntimeError(f"the stub answered wrongly: {summary.errors}")
        starts = [sample.start_time for sample in report.read_samples(out / "locust_samples.csv")]
        used = sum(generator_after[pid] - generator_before[pid] for pid in generator_after if pid in generator_before)
        return Run(workers, summary.requests, steady_rate(starts), (stub_after - stub_before) / elapsed, used / elapsed)


def render(runs: list[Run]) -> str:
    rows = [
        [
            *(str(run.workers), str(run.requests), f"{run.rate:.0f}", f"{run.generator_cpu:.2f}"),
            *(f"{run.per_cpu_second:.0f}", f"{100 * run.stub_cpu:.0f} %"),
        ]
        for run in runs
    ]
    ratios = round_ratios(runs)
    verdict = "met" if median(ratios) >= GOAL else "NOT met"
    header = ["workers", "requests", "req/s (steady)", "generator CPU (cores)", "req per CPU second", "stub CPU"]
    listed = ", ".join(f"{value:.2f}" for value in ratios)
    return (
        markdown_table(header, rows)
        + f"\n\nreq/s with 2 workers / with 1, per round: {listed}; median {median(ratios):.2f} "
        + f"(goal: at least {GOAL}, {verdict}); load average {os.getloadavg()[0]:.1f}.\n"
        + "req per CPU second with 2 workers / with 1 (what the master and the forwarding cost): "
        + f"{median(efficiency_ratios(runs)):.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--seconds", type=int, default=SECONDS)
    parser.add_argument("--users", type=int, default=USERS)
    args = parser.parse_args(argv)
    stub = Server.greeter_stub()
    runs: list[Run] = []
    try:
        process = psutil.Process(stub.pid)
        for round_number in range(1, args.rounds + 1):
            for workers in (1, 2):
                print(f"load generation, round {round_number}: {workers} worker(s), {args.seconds} s", flush=True)
                runs.append(one_run(stub.url, process, workers, args.seconds, args.users))
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        stub.stop()
    text = render(runs)
    REPORTS.mkdir(exist_ok=True)
    record = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "settings": {"rounds": args.rounds, "seconds": args.seconds, "users": args.users},
        "runs": [{**asdict(run), "per_cpu_second": run.per_cpu_second} for run in runs],
        "ratios": round_ratios(runs),
        "efficiency_ratios": efficiency_ratios(runs),
        "goal": GOAL,
    }
    (REPORTS / "loadgen.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    (REPORTS / "loadgen.md").write_text(text + "\n", encoding="utf-8")
    print(f"\nLoad generation (python -m loadtest against bench.greeter_stub):\n\n{text}")
    print(f"reports: {REPORTS / 'loadgen.md'}, {REPORTS / 'loadgen.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
