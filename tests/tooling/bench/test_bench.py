"""The bench's arithmetic, its report and the package trimming; no assertion here depends on a clock."""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import lambda_package
import pytest

from bench import __main__ as bench_main
from bench import import_profile, lambda_env, probe_cold, tracing
from bench.__main__ import (
    THROUGHPUT_COST_LIMIT,
    ZONED_SUFFIX,
    api_method,
    benchmarked_functions,
    cold_subjects,
    inject_cold_cpu,
    package_size,
    render,
    throughput_limits,
    tracing_subjects,
)
from bench.stats import Limit, budget_table, format_number, markdown_table, median, paired_ratio, ratio
from bench.throughput import Point
from greeter import domain
from localapi.template import SamTemplate


def test_median_of_odd_and_even_counts_ignores_outliers() -> None:
    assert median([3.0, 1.0, 1000.0]) == 3.0
    assert median([4, 1, 3, 2]) == 2.5


def test_median_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no samples"):
        median([])


def test_ratio_is_measured_over_floor() -> None:
    assert ratio(115.0, 100.0) == pytest.approx(1.15)
    with pytest.raises(ValueError, match="positive"):
        ratio(1.0, 0.0)


def test_paired_ratio_keeps_a_slow_spell_from_tipping_the_ratio() -> None:
    # Two rounds slow (x1.3), three fast: the medians of each side land in different clusters.
    measured = [300.0, 390.0, 390.0, 300.0, 300.0]
    floor = [250.0, 325.0, 325.0, 325.0 / 1.3, 250.0]
    assert paired_ratio(measured, floor) == pytest.approx(1.2)
    with pytest.raises(ValueError, match="2 samples against 1 floors"):
        paired_ratio([1.0, 2.0], [1.0])


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (0.01234, "0.012"), (1.234, "1.23"), (12.34, "12.3"), (123.4, "123"), (1234.5, "1234"), (-2.5, "-2.50")],
)
def test_numbers_keep_three_significant_digits_without_exponent(value: float, text: str) -> None:
    assert format_number(value) == text


def test_markdown_table_formats_cells_and_escapes_pipes() -> None:
    table = markdown_table(["name", "value", "ok"], [["a|b", 1.234, True], ["c", 250, False]])
    assert table.splitlines() == [
        "| name | value | ok |",
        "| --- | --- | --- |",
        "| a\\|b | 1.23 | yes |",
        "| c | 250 | no |",
    ]


def test_a_limit_is_met_at_the_limit_and_missed_above_it() -> None:
    assert Limit("warm GET", 250.0, 250.0, "µs").met
    assert not Limit("warm GET", 250.1, 250.0, "µs").met
    assert budget_table([Limit("ratio", 1.2, 1.15, "x")]).splitlines()[-1] == "| ratio | 1.20 x | 1.15 x | no |"


def _point(cores: int, kind: str, users: int, rps: float) -> Point:
    return Point(cores, kind, users, {"rps": rps, "p50_ms": 1.0, "p99_ms": 2.0, "statuses": {}})


def test_throughput_limits_compare_the_floor_with_bare_uvicorn_and_each_route_with_the_floor() -> None:
    load = [
        _point(2, "bare", 1, 1500.0),
        _point(2, "floor", 1, 1000.0),
        _point(2, "floor", 10, 1000.0),
        _point(2, "GET", 10, 100.0),
        _point(2, "PUT", 10, 10.0),
        _point(1, "floor", 10, 9999.0),  # the one-core run does not decide the budget
    ]
    limits = {limit.name: limit for limit in throughput_limits(load)}
    assert limits["local API 404, 1 user: bare uvicorn / local API req/s"].value == 1.5
    assert limits["local API GET, 10 users: floor / GET req/s"].value == 10.0
    assert limits["local API PUT, 10 users: floor / PUT req/s"].value == 100.0
    assert limits["local API PUT, 10 users: floor / PUT req/s"].met is (THROUGHPUT_COST_LIMIT >= 100.0)


def test_each_api_function_is_benchmarked_with_its_own_method() -> None:
    methods = {function.logical_id: api_method(function) for function in benchmarked_functions(SamTemplate())}
    assert methods == {"GetGreetingFunction": "GET", "PutBirthdayFunction": "PUT"}


def test_render_puts_every_function_and_every_limit_in_the_report() -> None:
    row = {
        "method": "GET",
        "cold_total_ms": 300.0,
        "floor_total_ms": 270.0,
        "cold_init_ms": 280.0,
        "floor_init_ms": 260.0,
        "cold_ratio": 1.11,
        "cold_cpu_ms": 250.0,
        "floor_cpu_ms": 230.0,
        "cold_cpu_ratio": 1.087,
        "warm_us": 240.0,
        "warm_wall_us": 245.0,
        "warm_sampled_us": 300.0,
        "warm_floor_us": 200.0,
        "warm_cpu_ratio": 1.2,
        "days_until_ns": 400.0,
        "warm_peak_rss_mb": 60.0,
        "cold_rss_mb": 58.0,
        "floor_rss_mb": 50.0,
        "zip_bytes": 2048,
        "sam_build_zip_bytes": 4096,
        "unzipped_bytes": 1048576,
        "calls_at_import": [],
        "calls_per_request": 1.0,
    }
    budget = [{"name": "GET warm, CPU / bare botocore", "value": 1.2, "limit": 2.3, "unit": "x", "met": True}]
    load = [
        {"cores": cores, "kind": kind, "users": 10, "result": {"rps": rps, "p50_ms": 5.0, "p99_ms": 9.0}}
        for cores, scale in ((1, 1.0), (2, 1.5))
        for kind, rps in (("bare", 2000.0), ("floor", 1000.0 * scale), ("GET", 100.0 * scale), ("PUT", 50.0 * scale))
    ]
    text = render({"functions": {"GetGreetingFunction": row}, "budget": budget, "local_api": load})
    assert (
        "| GetGreetingFunction (GET) | 300 (270) | 280 (260) | 1.11 | 250 (230), 1.09 | 240, 300 (200), 1.20 |" in text
    )
    assert "| 0 / 1 |" in text
    assert "| GET warm, CPU / bare botocore | 1.20 x | 2.30 x | yes |" in text
    assert "| 2 | 10 | 2000 (5.0, 9.0) | 1500 (5.0, 9.0) | 150 (5.0, 9.0) | 10.0% | 75 (5.0, 9.0) | 5.0% |" in text
    assert "- 10 user(s), req/s on 2 cores / on 1: bare 1.00, floor 1.50, GET 1.50, PUT 1.50" in text


def _dist(package: Path, name: str, files: dict[str, str]) -> None:
    dist_info = package / f"{name}.dist-info"
    dist_info.mkdir(parents=True)
    for relative, text in files.items():
        (package / relative).parent.mkdir(parents=True, exist_ok=True)
        (package / relative).write_text(text)
    record = [f"{relative},," for relative in files] + [f"{name}.dist-info/RECORD,,"]
    (dist_info / "RECORD").write_text("\n".join(record) + "\n")


def test_trimming_drops_what_the_runtime_ships_and_keeps_the_rest(tmp_path: Path) -> None:
    _dist(tmp_path, "botocore-1.44.8", {"botocore/__init__.py": "", "botocore/data/x.json": "{}"})
    _dist(tmp_path, "python_dateutil-2.9.0.post0", {"dateutil/__init__.py": ""})
    _dist(tmp_path, "wrapt-2.5.2", {"wrapt/__init__.py": ""})
    (tmp_path / "greeter").mkdir()
    (tmp_path / "greeter" / "__init__.py").write_text("")

    dropped = lambda_package.drop_runtime_distributions(tmp_path)

    assert dropped == ["botocore-1.44.8.dist-info", "python_dateutil-2.9.0.post0.dist-info"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["greeter", "wrapt", "wrapt-2.5.2.dist-info"]


def test_compiled_bytecode_is_unchecked_hash_based(tmp_path: Path) -> None:
    (tmp_path / "module.py").write_text("VALUE = 1\n")
    assert lambda_package.compile_bytecode(tmp_path)
    cached = Path(importlib.util.cache_from_source(str(tmp_path / "module.py")))
    flags = int.from_bytes(cached.read_bytes()[4:8], "little")
    assert flags == 0b01  # hash-based (bit 0), not checked against the source (bit 1 clear)


def test_native_packages_built_for_another_cpu_are_found(tmp_path: Path) -> None:
    foreign = "aarch64" if platform.machine() != "aarch64" else "x86_64"
    (tmp_path / "wrapt").mkdir()
    (tmp_path / "wrapt" / f"_wrappers.cpython-313-{foreign}-linux-gnu.so").write_bytes(b"")
    (tmp_path / "native").mkdir()
    (tmp_path / "native" / f"_speedups.cpython-313-{platform.machine()}-linux-gnu.so").write_bytes(b"")
    assert lambda_env.foreign_native_packages(tmp_path) == ["wrapt"]


def test_the_cold_rounds_time_a_zoned_put_next_to_the_utc_one(tmp_path: Path) -> None:
    """The tz database's cold-start cost: the PUT function, cold, with an event that names a zone."""
    functions = benchmarked_functions(SamTemplate())
    overlays = {function.logical_id: tmp_path / function.logical_id for function in functions}
    subjects = cold_subjects(functions, tmp_path, overlays, "http://127.0.0.1:1", tmp_path, region="eu-west-1")
    (zoned,) = [subject for subject in subjects if subject.name.endswith(ZONED_SUFFIX)]
    assert zoned.name == "PutBirthdayFunction" + ZONED_SUFFIX
    event = json.loads(Path(zoned.argv[-1]).read_text())
    assert domain.parse_time_zone(json.loads(event["body"])["timeZone"]) != domain.DEFAULT_TIME_ZONE
    assert zoned.env == next(subject.env for subject in subjects if subject.name == "PutBirthdayFunction")


def test_the_package_size_names_what_tzdata_costs(tmp_path: Path) -> None:
    (tmp_path / "tzdata" / "zoneinfo").mkdir(parents=True)
    (tmp_path / "tzdata" / "zoneinfo" / "UTC").write_bytes(b"TZif" * 100)
    (tmp_path / "greeter").mkdir()
    (tmp_path / "greeter" / "domain.py").write_text("x = 1\n" * 100)
    size = package_size(tmp_path)
    assert 0 < size["tzdata_zip_bytes"] < size["zip_bytes"]
    (tmp_path / "tzdata" / "zoneinfo" / "UTC").unlink()
    assert package_size(tmp_path)["tzdata_zip_bytes"] == 0


def test_the_import_profile_sums_own_times_per_package_and_keeps_the_init_modules_body_apart() -> None:
    times = {
        "_io": 100,
        "botocore.compat": 300,
        "botocore": 200,
        "aws_lambda_powertools.event_handler.api_gateway": 1500,
        "greeter.handlers.get_greeting": 4000,
        "greeter.store": 50,
    }
    assert import_profile.by_package(times, "greeter.handlers.get_greeting") == {
        "_io": 100,
        "botocore": 500,
        "aws_lambda_powertools": 1500,
        "greeter.handlers.get_greeting (its body)": 4000,
        "greeter": 50,
    }


def test_the_import_probe_times_each_module_without_the_imports_it_made(tmp_path: Path) -> None:
    """CPU is spent by the parent module, then by its child: each keeps its own, the child's never counts twice."""
    burn = (
        "import time\nend = time.process_time_ns() + {ms} * 1_000_000\nwhile time.process_time_ns() < end:\n    pass\n"
    )
    (tmp_path / "probe_child.py").write_text(burn.format(ms=20))
    (tmp_path / "probe_parent.py").write_text(burn.format(ms=10) + "import probe_child\n")
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import probe_imports, json; print(json.dumps(probe_imports.timed_imports('probe_parent')))",
        ],
        env={**os.environ, "PYTHONPATH": f"{tmp_path}:{bench_main.PROBES}"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    own = json.loads(completed.stdout)
    assert 20e6 <= own["probe_child"] < 40e6
    assert 10e6 <= own["probe_parent"] < 20e6  # 10 ms of its own, not the child's 20


def test_the_import_profile_takes_medians_and_counts_a_missing_package_as_nothing() -> None:
    medians = import_profile.medians([{"a": 1e6, "b": 3e6}, {"a": 3e6}, {"a": 2e6, "b": 5e6}])
    assert medians == {"a": 2.0, "b": 3.0}


def test_the_import_table_sums_the_small_packages_and_totals_both_sides() -> None:
    text = import_profile.table({"greeter": 10.0, "tiny": 0.5, "asyncio": 3.0}, {"boto3": 6.0, "tiny": 1.0})
    lines = text.splitlines()
    assert lines[2:] == [
        "| greeter | 10.0 | 0 | +10.0 |",
        "| asyncio | 3.00 | 0 | +3.0 |",
        "| boto3 | 0 | 6.00 | -6.0 |",
        "| other packages, each < 2 ms | 0.500 | 1.00 | -0.5 |",
        "| total | 13.5 | 7.00 | +6.5 |",
    ]


def _installed(site: Path, name: str, version: str, files: dict[str, str], requires: tuple[str, ...] = ()) -> None:
    """A distribution as pip installs it: its files, then a dist-info with METADATA and RECORD."""
    for relative, text in files.items():
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_text(text)
    dist_info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir()
    metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    (dist_info / "METADATA").write_text("\n".join(metadata + [f"Requires-Dist: {r}" for r in requires]) + "\n")
    record = [f"{relative},,{len(text)}" for relative, text in files.items()]
    record += [f"{dist_info.name}/RECORD,,", "../../bin/tool,,100"]
    (dist_info / "RECORD").write_text("\n".join(record) + "\n")


def test_an_option_links_its_distributions_and_what_they_need_but_what_the_package_has(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    _installed(
        site,
        "tracer-lib",
        "1.0",
        {"tracer_lib/__init__.py": "x = 1\n"},
        ("wrapper-lib", "shipped-lib", "old-lib; python_version < '3'"),
    )
    _installed(
        site, "wrapper-lib", "2.0", {"wrapper_lib/__init__.py": "", "one.py": "", "__pycache__/one.cpython-313.pyc": ""}
    )
    _installed(site, "shipped-lib", "3.0", {"shipped_lib/__init__.py": ""})
    monkeypatch.syspath_prepend(str(site))

    target = tmp_path / "option"
    sizes = lambda_env.link_distributions(["tracer-lib"], target, provided=["Shipped_Lib"])

    assert sorted(sizes) == ["tracer-lib", "wrapper-lib"]
    assert sizes["tracer-lib"] == len("x = 1\n")
    linked = sorted(str(path.relative_to(target)) for path in target.rglob("*") if path.is_symlink())
    assert linked == [
        "__pycache__/one.cpython-313.pyc",
        "one.py",
        "tracer_lib",
        "tracer_lib-1.0.dist-info",
        "wrapper_lib",
        "wrapper_lib-2.0.dist-info",
    ]


def test_the_runtime_links_its_packages_with_their_metadata_and_a_one_module_package_with_its_bytecode(
    tmp_path: Path,
) -> None:
    runtime = lambda_env.link_runtime_packages(tmp_path)
    assert (runtime / "botocore").is_symlink()
    assert list(runtime.glob("botocore-*.dist-info"))
    assert (runtime / "six.py").is_symlink()
    assert (runtime / "__pycache__" / Path(importlib.util.cache_from_source("six.py")).name).exists()


def test_the_tracing_options_run_the_get_function_cold_under_a_wrapper_that_names_its_handler(tmp_path: Path) -> None:
    functions = benchmarked_functions(SamTemplate())
    overlays = {function.logical_id: tmp_path / function.logical_id for function in functions}
    subjects = cold_subjects(functions, tmp_path, overlays, "http://127.0.0.1:1", tmp_path, region="eu-west-1")
    folders = {option.key: tmp_path / option.key for option in tracing.OPTIONS}
    traced = tracing_subjects(functions, subjects, folders, tmp_path)
    deployed = next(subject for subject in subjects if subject.name == "GetGreetingFunction")
    assert [subject.name for subject in traced] == [
        "GetGreetingFunction (a) Powertools Tracer on aws-xray-sdk",
        "GetGreetingFunction (c) OpenTelemetry SDK in the function",
    ]
    for subject, option in zip(traced, tracing.OPTIONS, strict=True):
        assert subject.argv[:2] == ["function", option.handler]
        assert subject.env["PYTHONPATH"] == f"{folders[option.key]}:{deployed.env['PYTHONPATH']}"
        assert subject.env[tracing.TRACED_HANDLER_VARIABLE] == "greeter.handlers.get_greeting.lambda_handler"
        assert (Path(bench_main.PROBES) / (option.handler.split(".")[0] + ".py")).is_file()


def test_an_injected_regression_burns_cpu_in_each_function_and_not_in_the_floors(tmp_path: Path) -> None:
    functions = benchmarked_functions(SamTemplate())
    overlays = {function.logical_id: tmp_path / function.logical_id for function in functions}
    subjects = cold_subjects(functions, tmp_path, overlays, "http://127.0.0.1:1", tmp_path, region="eu-west-1")
    inject_cold_cpu(subjects, functions, 25.0)
    burning = sorted(subject.name for subject in subjects if subject.env.get(probe_cold.INJECTED_CPU_VARIABLE) == "25")
    assert burning == ["GetGreetingFunction", "PutBirthdayFunction", "PutBirthdayFunction" + ZONED_SUFFIX]
    before = time.process_time_ns()
    probe_cold.burn_cpu(5)
    assert time.process_time_ns() - before >= 5_000_000


def test_render_shows_the_import_profile_the_tracing_options_and_an_injected_regression() -> None:
    row = {
        "option": tracing.DEPLOYED_OPTION,
        "cold_cpu_ms": 250.0,
        "cold_cpu_ratio": 1.04,
        "cold_cpu_over_deployed": 1.0,
        "warm_us": 500.0,
        "warm_sampled_us": 510.0,
        "warm_cpu_ratio": 1.4,
        "warm_sampled_cpu_ratio": 1.42,
        "warm_peak_rss_mb": 47.0,
        "added_unzipped_bytes": 0,
        "added_distributions": [],
    }
    traced = {**row, "option": "(a) x", "added_unzipped_bytes": 2048, "added_distributions": ["aws-xray-sdk", "wrapt"]}
    report = {
        "functions": {},
        "budget": [],
        "imports": {"GetGreetingFunction": {"function": {"greeter": 5.0}, "floor": {"boto3": 6.0}}},
        "tracing": [row, traced],
        "settings": {"injected_cold_cpu_ms": 25.0},
    }
    text = render(report)
    assert "Imports of GetGreetingFunction's cold start" in text
    assert "| greeter | 5.00 | 0 | +5.0 |" in text
    assert f"| {tracing.DEPLOYED_OPTION} | 250, 1.04 | 1.00 | 500, 510 | 1.40, 1.42 | 47 | 0 |" in text
    assert "| (a) x | 250, 1.04 | 1.00 | 500, 510 | 1.40, 1.42 | 47 | 2 (aws-xray-sdk, wrapt) |" in text
    assert "A regression was injected: 25 ms of CPU in each function's cold start." in text
