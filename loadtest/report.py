"""The report of a run, in the spirit of `vegeta report` and `vegeta plot`, from locust's own numbers.

Totals, rates, latencies and percentiles come from locust's stats table (PREFIX_final_stats.csv,
the Aggregated row) and the error set from its failures table; nothing here recomputes a
percentile. Status codes and the plot come from PREFIX_samples.csv, the one row per request
the locustfile writes, because locust's tables do not keep status codes; how many requests each
worker sent, from PREFIX_workers.csv (in a distributed run, the master counts each worker's rows).
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

AGGREGATED = "Aggregated"
PERCENTILES = ("50%", "90%", "95%", "99%")
_FAILURE_REPR = re.compile(r"CatchResponseError\((['\"])(?P<text>.*)\1\)")


@dataclass(frozen=True)
class Latencies:
    """Milliseconds, as locust reports them."""

    min: float
    mean: float
    percentiles: dict[str, float]
    max: float


@dataclass(frozen=True)
class Endpoint:
    method: str
    name: str
    requests: int
    failures: int
    latencies: Latencies


@dataclass(frozen=True)
class Sample:
    """One request: when it started (seconds since the epoch), how long it took, how it ended."""

    start_time: float
    method: str
    response_time_ms: float
    status: int
    ok: bool


@dataclass(frozen=True)
class Summary:
    requests: int
    failures: int
    rate: float
    """Requests per second, as locust counts them (requests over the time from start to last request)."""
    failure_rate: float
    duration_s: float
    latencies: Latencies
    endpoints: list[Endpoint]
    status_codes: dict[int, int]
    errors: dict[str, int]
    """Failure text (method, name, error) to occurrences."""
    workers: dict[str, int]
    """Worker ("0", "1", ...; "local" without workers) to the requests it sent."""

    @property
    def throughput(self) -> float:
        """Successful requests per second."""
        return self.rate - self.failure_rate

    @property
    def success_ratio(self) -> float:
        return (self.requests - self.failures) / self.requests if self.requests else 0.0

    @property
    def succeeded(self) -> bool:
        """Every request answered as the contract says, and there was at least one."""
        return self.requests > 0 and self.failures == 0


def _latencies(row: dict[str, str]) -> Latencies:
    return Latencies(
        min=float(row["Min Response Time"]),
        mean=float(row["Average Response Time"]),
        percentiles={label: _number(row[label]) for label in PERCENTILES},
        max=float(row["Max Response Time"]),
    )


def _number(value: str) -> float:
    """Locust writes "N/A" for the percentiles of an entry without requests."""
    return 0.0 if value == "N/A" else float(value)


def _error_text(error: str) -> str:
    """The locustfile's own failure text, without the repr locust wraps it in; other errors as locust wrote them."""
    failure = _FAILURE_REPR.fullmatch(error)
    return failure["text"] if failure else error


def read_samples(path: Path) -> list[Sample]:
    with path.open(newline="", encoding="utf-8") as file:
        return [
            Sample(
                start_time=float(row["start_time"]),
                method=row["method"],
                response_time_ms=float(row["response_time_ms"]),
                status=int(row["status"]),
                ok=row["ok"] == "1",
            )
            for row in csv.DictReader(file)
        ]


def read_workers(path: Path) -> dict[str, int]:
    with path.open(newline="", encoding="utf-8") as file:
        return {
            row["worker"] if row["id"] != "local" else "local": int(row["requests"]) for row in csv.DictReader(file)
        }


def summarize(prefix: Path) -> Summary:
    """Reads PREFIX_final_stats.csv, PREFIX_final_failures.csv, PREFIX_samples.csv and PREFIX_workers.csv."""
    with Path(f"{prefix}_final_stats.csv").open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    with Path(f"{prefix}_final_failures.csv").open(newline="", encoding="utf-8") as file:
        failures = list(csv.DictReader(file))
    samples = read_samples(Path(f"{prefix}_samples.csv"))

    total = next(row for row in rows if row["Name"] == AGGREGATED)
    endpoints = [
        Endpoint(row["Type"], row["Name"], int(row["Request Count"]), int(row["Failure Count"]), _latencies(row))
        for row in rows
        if row["Name"] != AGGREGATED
    ]
    ends = [sample.start_time + sample.response_time_ms / 1000 for sample in samples]
    return Summary(
        requests=int(total["Request Count"]),
        failures=int(total["Failure Count"]),
        rate=float(total["Requests/s"]),
        failure_rate=float(total["Failures/s"]),
        duration_s=max(ends) - min(sample.start_time for sample in samples) if samples else 0.0,
        latencies=_latencies(total),
        endpoints=endpoints,
        status_codes=dict(sorted(Counter(sample.status for sample in samples).items())),
        errors={
            f"{row['Method']} {row['Name']}: {_error_text(row['Error'])}": int(row["Occurrences"]) for row in failures
        },
        workers=read_workers(Path(f"{prefix}_workers.csv")),
    )


def _ms(value: float) -> str:
    return f"{value:.1f}ms" if value < 10 else f"{value:.0f}ms"


def _workers(workers: dict[str, int]) -> str:
    """`1 (no master): 3184` alone; `2: 0:1503 1:1497` distributed."""
    if list(workers) == ["local"]:
        return f"1 (no master): {workers['local']}"
    return f"{len(workers)}: " + "  ".join(f"{worker}:{count}" for worker, count in workers.items())


def render(summary: Summary) -> str:
    """The summary as text, laid out like `vegeta report`."""
    latency = summary.latencies
    values = [latency.min, latency.mean, *latency.percentiles.values(), latency.max]
    codes = "  ".join(f"{code}:{count}" for code, count in summary.status_codes.items()) or "-"
    lines = [
        f"{'Requests':<14}[total, rate, throughput]          "
        f"{summary.requests}, {summary.rate:.2f}/s, {summary.throughput:.2f}/s",
        f"{'Duration':<14}[total]                            {summary.duration_s:.2f}s",
        f"{'Latencies':<14}[min, mean, 50, 90, 95, 99, max]  {', '.join(_ms(value) for value in values)}",
        f"{'Success':<14}[ratio]                            {summary.success_ratio:.2%}",
        f"{'Status Codes':<14}[code:count]                       {codes}",
        f"{'Workers':<14}[count, requests each]             {_workers(summary.workers)}",
        f"{'By request':<14}[requests, failures, 50, 99]",
    ]
    lines += [
        f"  {endpoint.method} {endpoint.name}: {endpoint.requests}, {endpoint.failures}, "
        f"{_ms(endpoint.latencies.percentiles['50%'])}, {_ms(endpoint.latencies.percentiles['99%'])}"
        for endpoint in summary.endpoints
    ]
    lines.append("Error Set:")
    lines += [f"  {error} ({count}x)" for error, count in summary.errors.items()]
    return "\n".join(lines) + "\n"


def plot(samples: list[Sample], title: str, path: Path) -> None:
    """Latency of every request over the run, failures in red: what `vegeta plot` draws, as a PNG."""
    start = min((sample.start_time for sample in samples), default=0.0)
    figure = Figure(figsize=(10, 4.5), layout="constrained")
    FigureCanvasAgg(figure)  # Agg draws to files only: no display, no pyplot state
    axes = figure.add_subplot()
    for ok, colour, marker, label in ((True, "tab:blue", "o", "OK"), (False, "tab:red", "x", "failed")):
        chosen = [sample for sample in samples if sample.ok is ok]
        axes.scatter(
            [sample.start_time - start for sample in chosen],
            [sample.response_time_ms for sample in chosen],
            s=12 if ok else 28,
            alpha=0.6 if ok else 1.0,  # dense runs: overlapping OK points darken, failures stay plain
            c=colour,
            marker=marker,
            linewidths=1,
            label=f"{label} ({len(chosen)})",
        )
    axes.set_xlabel("seconds since the first request")
    axes.set_ylabel("latency (ms)")
    axes.set_ylim(bottom=0)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(loc="upper right")
    figure.savefig(path, dpi=110)
