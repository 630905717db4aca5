"""The report from synthetic locust tables: what it prints, what it plots, when a check fails."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image

from loadtest import report

STATS_HEADER = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,"
    "Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
)
TAB_RED = np.array([214, 39, 40]) / 255


def write_run(
    prefix: Path,
    samples: list[tuple[float, str, float, int, bool]],
    failures: list[str],
    workers: str = "worker,id,requests\n0,local,4\n",
) -> None:
    """Tables shaped like locust's StatsCSV output and the locustfile's samples and workers."""
    Path(f"{prefix}_workers.csv").write_text(workers, encoding="utf-8")
    Path(f"{prefix}_final_stats.csv").write_text(
        "\n".join(
            [
                STATS_HEADER,
                "GET,/hello/[username],2,1,20,25.5,10.25,41.0,60.0,1.0,0.5,20,20,41,41,41,41,41,41,41,41,41",
                "PUT,/hello/[username],2,0,5,6.0,4.0,8.0,0.0,1.0,0.0,5,8,8,8,8,8,8,8,8,8,8",
                ",Aggregated,4,1,10,15.75,4.0,41.0,30.0,2.0,0.5,10,10,20,20,41,41,41,41,41,41,41",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    with Path(f"{prefix}_final_failures.csv").open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["Method", "Name", "Error", "Occurrences"])
        for error in failures:
            writer.writerow(["GET", "/hello/[username]", error, 1])
    with Path(f"{prefix}_samples.csv").open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["start_time", "method", "name", "response_time_ms", "status", "ok", "error"])
        for start, method, latency, status, ok in samples:
            writer.writerow([start, method, "/hello/[username]", latency, status, int(ok), "" if ok else "x"])


FAILED_RUN = [
    (1000.0, "PUT", 8.0, 204, True),
    (1000.5, "PUT", 4.0, 204, True),
    (1001.0, "GET", 10.25, 200, True),
    (1001.5, "GET", 41.0, 404, False),
]


def test_summary_takes_locust_figures_and_counts_status_codes(tmp_path: Path) -> None:
    write_run(
        tmp_path / "locust",
        FAILED_RUN,
        ["CatchResponseError('GET of a registered user: expected 200, got 404')", "ConnectionRefusedError(111)"],
    )
    summary = report.summarize(tmp_path / "locust")
    assert (summary.requests, summary.failures) == (4, 1)
    assert (summary.rate, summary.throughput) == (2.0, 1.5)
    assert summary.success_ratio == 0.75
    assert not summary.succeeded
    assert summary.duration_s == pytest.approx(1.541)  # first start to last end
    assert summary.latencies == report.Latencies(
        min=4.0, mean=15.75, percentiles={"50%": 10.0, "90%": 41.0, "95%": 41.0, "99%": 41.0}, max=41.0
    )
    assert summary.status_codes == {200: 1, 204: 2, 404: 1}
    assert summary.errors == {
        "GET /hello/[username]: GET of a registered user: expected 200, got 404": 1,
        "GET /hello/[username]: ConnectionRefusedError(111)": 1,
    }
    assert [(endpoint.method, endpoint.requests, endpoint.failures) for endpoint in summary.endpoints] == [
        ("GET", 2, 1),
        ("PUT", 2, 0),
    ]


def test_render_lays_the_summary_out_like_vegeta(tmp_path: Path) -> None:
    write_run(tmp_path / "locust", FAILED_RUN, ["GET of a registered user: expected 200, got 404"])
    text = report.render(report.summarize(tmp_path / "locust"))
    assert text.splitlines() == [
        "Requests      [total, rate, throughput]          4, 2.00/s, 1.50/s",
        "Duration      [total]                            1.54s",
        "Latencies     [min, mean, 50, 90, 95, 99, max]  4.0ms, 16ms, 10ms, 41ms, 41ms, 41ms, 41ms",
        "Success       [ratio]                            75.00%",
        "Status Codes  [code:count]                       200:1  204:2  404:1",
        "Workers       [count, requests each]             1 (no master): 4",
        "By request    [requests, failures, 50, 99]",
        "  GET /hello/[username]: 2, 1, 20ms, 41ms",
        "  PUT /hello/[username]: 2, 0, 5.0ms, 8.0ms",
        "Error Set:",
        "  GET /hello/[username]: GET of a registered user: expected 200, got 404 (1x)",
    ]


def test_the_summary_names_each_workers_requests(tmp_path: Path) -> None:
    workers = "worker,id,requests\n0,host-a_1f,3\n1,host-b_2e,1\n"
    write_run(tmp_path / "locust", FAILED_RUN, [], workers)
    summary = report.summarize(tmp_path / "locust")
    assert summary.workers == {"0": 3, "1": 1}
    assert "Workers       [count, requests each]             2: 0:3  1:1\n" in report.render(summary)


def test_a_run_without_requests_did_not_succeed(tmp_path: Path) -> None:
    write_run(tmp_path / "locust", [], [])
    rows = Path(f"{tmp_path}/locust_final_stats.csv").read_text(encoding="utf-8").splitlines()
    Path(f"{tmp_path}/locust_final_stats.csv").write_text(
        f"{rows[0]}\n,Aggregated,0,0,0,0,0,0,0,0,0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A\n", encoding="utf-8"
    )
    summary = report.summarize(tmp_path / "locust")
    assert (summary.requests, summary.success_ratio, summary.succeeded) == (0, 0.0, False)
    assert summary.duration_s == 0.0


def red_pixels(path: Path) -> int:
    pixels = image.imread(path)[:, :, :3]
    return int(np.all(np.abs(pixels - TAB_RED) < 0.05, axis=-1).sum())


def test_plot_marks_failures_in_red(tmp_path: Path) -> None:
    """Red is only the legend's "failed (0)" key in a clean run; each failed request adds a red cross."""
    clean, failed = tmp_path / "clean.png", tmp_path / "failed.png"
    report.plot([report.Sample(1000.0 + i, "GET", 10.0 + i, 200, True) for i in range(6)], "clean", clean)
    report.plot([report.Sample(1000.0 + i, "GET", 10.0 + i, 200, i not in {2, 4}) for i in range(6)], "failed", failed)
    assert failed.read_bytes().startswith(b"\x89PNG")
    assert red_pixels(failed) > red_pixels(clean) + 15
