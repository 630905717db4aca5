"""`python -m bench` (what `make bench` runs): cold start, warm cost, memory, package size, DynamoDB calls.

Also what the cold start imports (CPU per package, beside the floor's) and
the tracing options next to the one deployed (bench/tracing.py). Writes
reports/bench.json and reports/bench.md, prints the tables, and exits 1
when the budget is not met.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lambda_package

from bench import import_profile, lambda_env, throughput, tracing
from bench.probe_cold import INJECTED_CPU_VARIABLE
from bench.stats import Limit, budget_table, markdown_table, median, paired_ratio, ratio
from localapi.store import EmbeddedDynamoDB
from localapi.template import PROJECT_ROOT, Function, SamTemplate

PROBES = Path(__file__).resolve().parent
EVENTS = PROJECT_ROOT / "events"
BUILD_DIR = PROJECT_ROOT / ".aws-sam" / "build"
REPORTS = PROJECT_ROOT / "reports"

# The budget, as ratios to floors measured in the same run (docs/performance.md: how each was set).
COLD_CPU_RATIO_LIMITS = {"GET": 1.04, "PUT": 1.04}  # CPU to a cold answer / boto3 client + one call
WARM_CPU_RATIO_LIMITS = {"GET": 2.2, "PUT": 2.2}  # CPU per warm invocation / the same call from bare botocore
FLOOR_COST_LIMIT = 2.2  # at 1 user on every core: bare uvicorn requests/s / the local API's own 404's
THROUGHPUT_COST_LIMIT = 30.0  # at 10 users on every core: the floor's requests/s / a function route's
FLOOR_OPERATION = {"GET": "GetItem", "PUT": "PutItem"}
SAMPLE_EVENT = {"GET": "get_greeting.json", "PUT": "put_birthday.json"}
WARM_STATUS = {"GET": 200, "PUT": 204}  # the store answers with a stored item
COLD_STATUS = {"GET": 404, "PUT": 204}  # an unknown user on GET, as the floor's GetItem
ZONED_PUT_EVENT = "put_birthday_time_zone.json"  # a zone other than UTC: the tz database is read
ZONED_SUFFIX = " (zoned PUT)"
ZONE_COLD_CPU_RATIO_LIMIT = 1.10  # CPU to a cold zoned PUT / the same function's cold UTC PUT


@dataclass(frozen=True)
class Subject:
    """One kind of fresh process the cold-start rounds start."""

    name: str
    argv: list[str]
    env: dict[str, str]
    expected_status: int


def api_method(function: Function) -> str:
    """The method a function is benchmarked with: its first route that is not ANY."""
    return next(route.method for route in function.routes if route.method != "ANY")


def benchmarked_functions(template: SamTemplate) -> list[Function]:
    """The functions of the GET and PUT routes; OptionsNotAllowedFunction's fixed 405 reads no table (no floor)."""
    return [function for function in template.api_functions() if api_method(function) in SAMPLE_EVENT]


def run_probe(script: str, args: list[str], env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """Runs a probe in a fresh process: its start time (`perf_counter_ns`) and the JSON it wrote to its pipe.

    The result travels on a pipe of its own: the functions print logs and metrics to stdout.
    """
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as results:
        started = time.perf_counter_ns()
        try:
            process = subprocess.Popen(
                [lambda_env.interpreter(), str(PROBES / script), str(write_end), *args],
                env=env,
                cwd=PROBES,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                pass_fds=(write_end,),
            )
        finally:
            os.close(write_end)
        output = results.read()
    _, stderr = process.communicate()
    if process.returncode != 0 or not output:
        raise RuntimeError(f"{script} {' '.join(args)} failed ({process.returncode}):\n{stderr.decode()}")
    return started, json.loads(output)


def sam_build() -> None:
    """The build `sam deploy` would upload, into .aws-sam/build."""
    print("sam build ...", flush=True)
    subprocess.run(
        [str(Path(sys.executable).with_name("sam")), "build", "--template-file", str(PROJECT_ROOT / "template.yaml")],
        cwd=PROJECT_ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def package_size(directory: Path) -> dict[str, int]:
    """The deployment zip of a built function (deflated, as `sam deploy` uploads it) and its unzipped size."""
    files = sorted(path for path in directory.rglob("*") if path.is_file())
    with tempfile.TemporaryFile() as archive:
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
            for path in files:
                bundle.write(path, path.relative_to(directory))
        zipped = archive.tell()
    tz_files = [path for path in files if path.relative_to(directory).parts[0] == "tzdata"]
    with tempfile.TemporaryFile() as archive:
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
            for path in tz_files:
                bundle.write(path, path.relative_to(directory))
        tz_zipped = archive.tell() if tz_files else 0
    return {
        "zip_bytes": zipped,
        "unzipped_bytes": sum(path.stat().st_size for path in files),
        "files": len(files),
        "tzdata_zip_bytes": tz_zipped,
    }


def cold_event(method: str, directory: Path) -> Path:
    """The sample event, for a user nobody stored on GET (the floor reads a missing key too)."""
    event = json.loads((EVENTS / SAMPLE_EVENT[method]).read_text())
    if method == "GET":
        event["pathParameters"] = {"username": "Stranger"}
        event["rawPath"] = event["requestContext"]["http"]["path"] = "/hello/Stranger"
    path = directory / f"cold-{method.lower()}.json"
    path.write_text(json.dumps(event))
    return path


def measure_cold(subjects: list[Subject], runs: int) -> dict[str, dict[str, list[float]]]:
    """Round-robin over the subjects (so drift hits all alike), one warm-up round not counted."""
    samples: dict[str, dict[str, list[float]]] = {
        s.name: {"init_ms": [], "total_ms": [], "cpu_ms": [], "rss_kb": []} for s in subjects
    }
    for round_number in range(runs + 1):
        for subject in subjects:
            started, result = run_probe("probe_cold.py", subject.argv, subject.env)
            if result["status"] != subject.expected_status:
                raise RuntimeError(f"{subject.name} answered {result['status']}, expected {subject.expected_status}")
            if round_number == 0:
                continue
            samples[subject.name]["init_ms"].append((result["initialised"] - started) / 1e6)
            samples[subject.name]["total_ms"].append((result["done"] - started) / 1e6)
            samples[subject.name]["cpu_ms"].append(result["cpu"] / 1e6)
            samples[subject.name]["rss_kb"].append(result["peak_rss_kb"])
        print(f"  cold-start round {round_number}/{runs}", end="\r", flush=True)
    print()
    return samples


def cold_subjects(
    functions: list[Function],
    runtime: Path,
    overlays: dict[str, Path],
    endpoint_url: str,
    workdir: Path,
    *,
    region: str,
) -> list[Subject]:
    """For each function: the floor for its DynamoDB operation, then the function itself."""
    subjects = []
    for function in functions:
        method = api_method(function)
        floor_env = lambda_env.environment(function, runtime, None, region)
        env = lambda_env.environment(
            function, runtime, BUILD_DIR / function.logical_id, region, overlays[function.logical_id]
        )
        for variables in (floor_env, env):
            variables["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint_url
        operation = FLOOR_OPERATION[method]
        floor_argv = ["floor", operation, function.environment["TABLE_NAME"]]
        subjects.append(Subject(f"floor {operation}", floor_argv, floor_env, 200))
        function_argv = ["function", function.handler, str(cold_event(method, workdir))]
        subjects.append(Subject(function.logical_id, function_argv, env, COLD_STATUS[method]))
        if method == "PUT":  # the tz database's cost: the same cold PUT, naming a zone
            zoned_argv = ["function", function.handler, str(EVENTS / ZONED_PUT_EVENT)]
            subjects.append(Subject(function.logical_id + ZONED_SUFFIX, zoned_argv, env, 204))
    return subjects


def tracing_subjects(
    functions: list[Function],
    subjects: list[Subject],
    folders: Mapping[str, Path],
    workdir: Path,
) -> list[Subject]:
    """The GET function again, cold, under each tracing option it does not ship (bench/tracing.py)."""
    function = next(f for f in functions if api_method(f) == tracing.MEASURED_METHOD)
    deployed = next(subject for subject in subjects if subject.name == function.logical_id)
    return [
        Subject(
            tracing.subject_name(function.logical_id, option),
            ["function", option.handler, str(cold_event(tracing.MEASURED_METHOD, workdir))],
            tracing.environment(deployed.env, folders[option.key], function.handler),
            COLD_STATUS[tracing.MEASURED_METHOD],
        )
        for option in tracing.OPTIONS
        if option.key in folders
    ]


def prepare_tracing(functions: list[Function], workdir: Path) -> tuple[dict[str, Path], dict[str, dict[str, int]]]:
    """Per tracing option: the folder it puts first on the GET function's path, and what each distribution weighs."""
    measured = next(f for f in functions if api_method(f) == tracing.MEASURED_METHOD)
    prepared = {
        option.key: tracing.prepare(option, BUILD_DIR / measured.logical_id, workdir) for option in tracing.OPTIONS
    }
    return {key: folder for key, (folder, _) in prepared.items()}, {key: sizes for key, (_, sizes) in prepared.items()}


def inject_cold_cpu(subjects: list[Subject], functions: list[Function], milliseconds: float) -> None:
    """A known regression (`--inject-cold-cpu-ms`): each function's own cold start burns that much CPU first."""
    names = {function.logical_id for function in functions}
    for subject in subjects:
        if subject.name in names or subject.name.removesuffix(ZONED_SUFFIX) in names:
            subject.env[INJECTED_CPU_VARIABLE] = f"{milliseconds:g}"


def measure_imports(
    functions: list[Function], runtime: Path, overlays: dict[str, Path], runs: int, *, region: str
) -> dict[str, dict[str, dict[str, float]]]:
    """Per function: the CPU each package's import takes, handler module and floor's init alternated, `runs` each."""
    profiles = {}
    for function in functions:
        module = function.handler.rpartition(".")[0]
        task_root = BUILD_DIR / function.logical_id
        sides = {
            "function": (
                module,
                lambda_env.environment(function, runtime, task_root, region, overlays[function.logical_id]),
            ),
            "floor": ("floor_init", lambda_env.environment(function, runtime, None, region)),
        }
        samples: dict[str, list[dict[str, int]]] = {side: [] for side in sides}
        for _ in range(runs):
            for side, (entry, env) in sides.items():
                _, times = run_probe("probe_imports.py", [entry], env)
                samples[side].append(import_profile.by_package(times, entry))
        profiles[function.logical_id] = {side: import_profile.medians(runs_of) for side, runs_of in samples.items()}
    return profiles


class WarmProbe:
    """A probe_warm.py process that times one repeat each time it is asked (see that script)."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        read_end, write_end = os.pipe()
        try:
            self._process = subprocess.Popen(
                [lambda_env.interpreter(), str(PROBES / "probe_warm.py"), str(write_end), *args],
                env=env,
                cwd=PROBES,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                pass_fds=(write_end,),
                text=True,
            )
        finally:
            os.close(write_end)
        if self._process.stdin is None:
            raise RuntimeError("probe_warm.py has no stdin")
        self._commands = self._process.stdin
        self._results = os.fdopen(read_end, "r", encoding="utf-8")
        self.measured: dict[str, Any] = {**self._answer(), "invocation_us": {"cpu": [], "wall": []}}

    def _answer(self) -> dict[str, Any]:
        line = self._results.readline()
        if not line:
            _, stderr = self._process.communicate()
            raise RuntimeError(f"probe_warm.py failed ({self._process.returncode}):\n{stderr}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def repeat(self) -> float:
        """Times one repeat; its CPU µs per invocation."""
        self._commands.write("\n")
        self._commands.flush()
        timed = self._answer()
        for clock in ("cpu", "wall"):
            self.measured["invocation_us"][clock].append(timed[clock])
        return float(timed["cpu"])

    def finish(self) -> dict[str, Any]:
        self._commands.close()
        final = self._answer()
        self._process.wait()
        self._results.close()
        final["days_until_ns"] = {"cpu": [sample["cpu"] for sample in final["days_until_ns"]]}
        return {**self.measured, **final}


def measure_warm(
    functions: list[Function],
    runtime: Path,
    overlays: dict[str, Path],
    args: argparse.Namespace,
    tracing_folders: Mapping[str, Path] | None = None,
) -> dict[str, dict[str, Any]]:
    """Per function, three processes at once: the warm floor, the function unsampled, the function sampled.

    Their repeats alternate (the order rotating each round), so a busy spell of
    the machine lands on all three; the ratio to the floor is taken per round.
    The GET function also runs under each tracing option in `tracing_folders`,
    unsampled and sampled, in the same rotation.
    """
    warm: dict[str, dict[str, Any]] = {}
    for function in functions:
        method = api_method(function)
        floor_env = lambda_env.environment(function, runtime, None, args.region)
        floor_env["PYTHONPATH"] += os.pathsep + str(PROBES)
        probes = {"floor": WarmProbe([f"floor:{FLOOR_OPERATION[method]}", "-", "-", str(args.iterations)], floor_env)}
        task_root = BUILD_DIR / function.logical_id
        probe_args = [
            function.handler,
            str(EVENTS / SAMPLE_EVENT[method]),
            str(WARM_STATUS[method]),
            str(args.iterations),
        ]
        for trace, header in (("unsampled", lambda_env.UNSAMPLED_TRACE_HEADER), ("sampled", lambda_env.TRACE_HEADER)):
            env = lambda_env.environment(function, runtime, task_root, args.region, overlays[function.logical_id])
            env["PYTHONPATH"] += os.pathsep + str(PROBES)
            env["_X_AMZN_TRACE_ID"] = header
            probes[trace] = WarmProbe(probe_args, env)
            if method != tracing.MEASURED_METHOD:
                continue
            for option in tracing.OPTIONS:
                if option.key in (tracing_folders or {}):
                    traced_env = tracing.environment(env, (tracing_folders or {})[option.key], function.handler)
                    probes[f"{option.name} {trace}"] = WarmProbe([option.handler, *probe_args[1:]], traced_env)
        print(f"warm: {function.logical_id} ({len(probes)} processes), {args.repeats} alternating repeats", flush=True)
        ratios: dict[str, list[float]] = {name: [] for name in probes if name != "floor"}
        order = list(probes)
        for round_number in range(args.repeats):
            shift = round_number % len(order)
            cpu = {name: probes[name].repeat() for name in order[shift:] + order[:shift]}
            for name, samples in ratios.items():
                samples.append(ratio(cpu[name], cpu["floor"]))
        warm[function.logical_id] = {name: probe.finish() for name, probe in probes.items()}
        warm[function.logical_id]["ratio_cpu"] = ratios["unsampled"]
        warm[function.logical_id]["ratios_cpu"] = ratios
    return warm


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--runs", type=int, default=25, help="cold starts per subject")
    parser.add_argument("--iterations", type=int, default=200, help="warm invocations per repeat")
    parser.add_argument("--repeats", type=int, default=25, help="warm repeats (the median is kept)")
    parser.add_argument("--no-build", action="store_true", help="reuse .aws-sam/build")
    parser.add_argument("--no-trim", action="store_true", help="measure the package as `sam build` left it")
    parser.add_argument("--region", default=os.environ.get("REGION", "eu-west-1"))
    parser.add_argument(
        "--load-seconds", type=float, default=throughput.SECONDS, help="local API: measured seconds per point"
    )
    parser.add_argument("--no-load", action="store_true", help="skip the local API's throughput")
    parser.add_argument("--no-tracing-options", action="store_true", help="measure only the tracing deployed")
    parser.add_argument("--import-runs", type=int, default=7, help="import profiles per side (the median is kept)")
    parser.add_argument(
        "--inject-cold-cpu-ms",
        type=float,
        default=0.0,
        help="prove the budget: each function's cold start first burns this much CPU (a known regression)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the embedded store's access log

    template = SamTemplate()
    functions = benchmarked_functions(template)
    built_sizes = {}
    if not args.no_build:
        sam_build()
        for function in functions:
            built_sizes[function.logical_id] = package_size(BUILD_DIR / function.logical_id)
            if not args.no_trim:
                lambda_package.main([str(BUILD_DIR / function.logical_id)])
    REPORTS.mkdir(exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        workdir = Path(scratch)
        runtime = lambda_env.link_runtime_packages(workdir / "runtime")
        overlays = {f.logical_id: workdir / "native" / f.logical_id for f in functions}
        substituted = {
            name: lambda_env.link_native_overlay(BUILD_DIR / name, overlay) for name, overlay in overlays.items()
        }
        tracing_folders, tracing_sizes = ({}, {}) if args.no_tracing_options else prepare_tracing(functions, workdir)
        print(f"imports: {args.import_runs} runs of each function's and its floor's (probe_imports.py)", flush=True)
        imports = measure_imports(functions, runtime, overlays, args.import_runs, region=args.region)
        store = EmbeddedDynamoDB(template, args.region).start()
        try:
            subjects = cold_subjects(functions, runtime, overlays, store.endpoint_url, workdir, region=args.region)
            if args.inject_cold_cpu_ms:
                inject_cold_cpu(subjects, functions, args.inject_cold_cpu_ms)
            if tracing_folders:
                subjects += tracing_subjects(functions, subjects, tracing_folders, workdir)
            print(f"cold starts: {args.runs} rounds of {len(subjects)} fresh processes", flush=True)
            cold = measure_cold(subjects, args.runs)
        finally:
            store.stop()
        warm = measure_warm(functions, runtime, overlays, args, tracing_folders)
    load: list[throughput.Point] = []
    if not args.no_load:
        print("local API throughput (the floor: its own 404, no function called)", flush=True)
        load = throughput.measure(seconds=args.load_seconds)

    sizes = {f.logical_id: package_size(BUILD_DIR / f.logical_id) for f in functions}
    for name, size in built_sizes.items():
        sizes[name]["sam_build_zip_bytes"] = size["zip_bytes"]
    report = summarise(functions, cold, warm, sizes, args, load=load)
    report["imports"] = imports
    if tracing_folders:
        report["tracing"] = summarise_tracing(functions, cold, warm, tracing_sizes)
    report["native_packages_from_this_machine"] = substituted
    (REPORTS / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    table = render(report)
    (REPORTS / "bench.md").write_text(table + "\n")
    print(table)
    met = all(limit["met"] for limit in report["budget"])
    print(f"\nbudget {'met' if met else 'NOT met'}; reports: {REPORTS / 'bench.md'}, {REPORTS / 'bench.json'}")
    return 0 if met else 1


def summarise(
    functions: list[Function],
    cold: dict[str, dict[str, list[float]]],
    warm: dict[str, dict[str, Any]],
    sizes: dict[str, dict[str, int]],
    args: argparse.Namespace,
    *,
    load: list[throughput.Point] | None = None,
) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    ratios: dict[str, float] = {}
    limits: list[Limit] = []
    for function in functions:
        method = api_method(function)
        floor = cold[f"floor {FLOOR_OPERATION[method]}"]
        mine = cold[function.logical_id]
        # Per round: the floor and the function start back to back, so a slow spell of the machine
        # (the samples here fall in two clusters a fifth apart) lands on both; then the median.
        ratios[method] = paired_ratio(mine["total_ms"], floor["total_ms"])
        cpu_ratio = paired_ratio(mine["cpu_ms"], floor["cpu_ms"])
        measured = warm[function.logical_id]["unsampled"]
        sampled = warm[function.logical_id]["sampled"]
        warm_floor = warm[function.logical_id]["floor"]
        rows[function.logical_id] = {
            "method": method,
            "memory_mb": function.memory_mb,
            "cold_init_ms": median(mine["init_ms"]),
            "cold_total_ms": median(mine["total_ms"]),
            "floor_init_ms": median(floor["init_ms"]),
            "floor_total_ms": median(floor["total_ms"]),
            "cold_ratio": ratios[method],
            "cold_cpu_ms": median(mine["cpu_ms"]),
            "floor_cpu_ms": median(floor["cpu_ms"]),
            "cold_cpu_ratio": cpu_ratio,
            "cold_rss_mb": median(mine["rss_kb"]) / 1024,
            "floor_rss_mb": median(floor["rss_kb"]) / 1024,
            "warm_us": median(measured["invocation_us"]["cpu"]),
            "warm_wall_us": median(measured["invocation_us"]["wall"]),
            "warm_sampled_us": median(sampled["invocation_us"]["cpu"]),
            "warm_floor_us": median(warm_floor["invocation_us"]["cpu"]),
            "warm_cpu_ratio": median(warm[function.logical_id]["ratio_cpu"]),
            "days_until_ns": median(measured["days_until_ns"]["cpu"]),
            "warm_peak_rss_mb": measured["peak_rss_kb"] / 1024,
            "calls_at_import": measured["calls_at_import"],
            "calls_first_request": measured["calls_first_request"],
            "calls_per_request": measured["calls_per_request"],
            **sizes[function.logical_id],
            "samples": {
                "cold": mine,
                "floor": floor,
                "warm_us": measured["invocation_us"],
                "warm_sampled_us": sampled["invocation_us"],
                "warm_floor_us": warm_floor["invocation_us"],
            },
        }
        row = rows[function.logical_id]
        limits.append(Limit(f"{method} cold start, CPU / floor", cpu_ratio, COLD_CPU_RATIO_LIMITS[method], "x"))
        zoned = cold.get(function.logical_id + ZONED_SUFFIX)
        if zoned is not None:
            row["zoned_cold_cpu_ms"] = median(zoned["cpu_ms"])
            row["zoned_cold_cpu_ratio"] = paired_ratio(zoned["cpu_ms"], mine["cpu_ms"])
            row["samples"]["cold_zoned"] = zoned
            limits.append(
                Limit(
                    f"{method} cold start, zoned / UTC CPU", row["zoned_cold_cpu_ratio"], ZONE_COLD_CPU_RATIO_LIMIT, "x"
                )
            )
        limits.append(
            Limit(f"{method} warm, CPU / bare botocore", row["warm_cpu_ratio"], WARM_CPU_RATIO_LIMITS[method], "x")
        )
        limits.append(Limit(f"{method}: DynamoDB calls at import", len(measured["calls_at_import"]), 0, "calls"))
        limits.append(Limit(f"{method}: DynamoDB calls per request", measured["calls_per_request"], 1, "calls"))
        limits.append(Limit(f"{method}: first request calls", len(measured["calls_first_request"]), 1, "calls"))
    return {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "settings": {
            "cold_runs": args.runs,
            "warm_iterations": args.iterations,
            "warm_repeats": args.repeats,
            "package": "as sam build left it" if args.no_trim else "trimmed, with bytecode (lambda_package)",
            "injected_cold_cpu_ms": args.inject_cold_cpu_ms,
        },
        "functions": rows,
        "cold_start": {"ratio": ratios},
        "local_api": [dataclasses.asdict(point) for point in load or []],
        "budget": [{**dataclasses.asdict(limit), "met": limit.met} for limit in limits + throughput_limits(load or [])],
    }


def summarise_tracing(
    functions: list[Function],
    cold: dict[str, dict[str, list[float]]],
    warm: dict[str, dict[str, Any]],
    sizes: dict[str, dict[str, int]],
) -> list[dict[str, Any]]:
    """One row per tracing option, the deployed one first: cold and warm CPU, against the floor and against (b)."""
    function = next(f for f in functions if api_method(f) == tracing.MEASURED_METHOD)
    name = function.logical_id
    floor, deployed = cold[f"floor {FLOOR_OPERATION[tracing.MEASURED_METHOD]}"], cold[name]
    rows = []
    for option, cold_name, probe in [
        (None, name, ""),
        *((o, tracing.subject_name(name, o), o.name + " ") for o in tracing.OPTIONS),
    ]:
        if cold_name not in cold:
            continue
        unsampled, sampled = warm[name][probe + "unsampled"], warm[name][probe + "sampled"]
        rows.append(
            {
                "option": tracing.DEPLOYED_OPTION if option is None else option.name,
                "cold_cpu_ms": median(cold[cold_name]["cpu_ms"]),
                "cold_cpu_ratio": paired_ratio(cold[cold_name]["cpu_ms"], floor["cpu_ms"]),
                "cold_cpu_over_deployed": paired_ratio(cold[cold_name]["cpu_ms"], deployed["cpu_ms"]),
                "warm_us": median(unsampled["invocation_us"]["cpu"]),
                "warm_sampled_us": median(sampled["invocation_us"]["cpu"]),
                "warm_cpu_ratio": median(warm[name]["ratios_cpu"][probe + "unsampled"]),
                "warm_sampled_cpu_ratio": median(warm[name]["ratios_cpu"][probe + "sampled"]),
                "warm_peak_rss_mb": sampled["peak_rss_kb"] / 1024,
                "added_unzipped_bytes": sum(sizes.get(option.key, {}).values()) if option else 0,
                "added_distributions": sorted(sizes.get(option.key, {})) if option else [],
            }
        )
    return rows


def render_tracing(rows: list[dict[str, Any]]) -> str:
    header = [
        "tracing option (GET function)",
        "cold CPU ms, / floor",
        "cold CPU / (b)",
        "warm µs CPU unsampled, sampled",
        "warm / bare botocore: unsampled, sampled",
        "peak RSS MB warm",
        "adds to the package (unzipped KiB)",
    ]
    table = [
        [
            row["option"],
            f"{row['cold_cpu_ms']:.0f}, {row['cold_cpu_ratio']:.2f}",
            row["cold_cpu_over_deployed"],
            f"{row['warm_us']:.0f}, {row['warm_sampled_us']:.0f}",
            f"{row['warm_cpu_ratio']:.2f}, {row['warm_sampled_cpu_ratio']:.2f}",
            f"{row['warm_peak_rss_mb']:.0f}",
            f"{row['added_unzipped_bytes'] / 1024:.0f}"
            + (f" ({', '.join(row['added_distributions'])})" if row["added_distributions"] else ""),
        ]
        for row in rows
    ]
    return markdown_table(header, table)


def render_imports(imports: dict[str, dict[str, dict[str, float]]]) -> str:
    return "\n\n".join(
        f"Imports of {name}'s cold start and of its floor (own CPU ms of each package, median):\n\n"
        + import_profile.table(sides["function"], sides["floor"])
        for name, sides in imports.items()
    )


def _rps(load: list[throughput.Point], cores: int, kind: str, users: int) -> float:
    return float(next(p.result["rps"] for p in load if (p.cores, p.kind, p.users) == (cores, kind, users)))


def throughput_limits(load: list[throughput.Point]) -> list[Limit]:
    """What the local API must keep: its own 404 against bare uvicorn, and each function route against that 404."""
    if not load:
        return []
    cores = max(point.cores for point in load)
    own = ratio(_rps(load, cores, "bare", 1), _rps(load, cores, "floor", 1))
    limits = [Limit("local API 404, 1 user: bare uvicorn / local API req/s", own, FLOOR_COST_LIMIT, "x")]
    floor = _rps(load, cores, "floor", 10)
    limits += [
        Limit(
            f"local API {kind}, 10 users: floor / {kind} req/s",
            ratio(floor, _rps(load, cores, kind, 10)),
            THROUGHPUT_COST_LIMIT,
            "x",
        )
        for kind in ("GET", "PUT")
    ]
    return limits


def render_load(load: list[dict[str, Any]]) -> str:
    """Requests per second (p50, p99 ms) per cores and users; each function route against the floor."""
    cell: dict[tuple[int, str, int], dict[str, Any]] = {(p["cores"], p["kind"], p["users"]): p["result"] for p in load}
    header = ["cores", "users"]
    for kind in throughput.KINDS:
        header += [f"{kind} req/s (p50, p99 ms)"] + ([f"{kind}, % of floor"] if kind in ("GET", "PUT") else [])
    rows = []
    for cores, users in sorted({(p["cores"], p["users"]) for p in load}):
        row: list[object] = [str(cores), str(users)]
        floor = cell[(cores, "floor", users)]
        for kind in throughput.KINDS:
            result = cell[(cores, kind, users)]
            row.append(f"{result['rps']:.0f} ({result['p50_ms']:.1f}, {result['p99_ms']:.1f})")
            if kind in ("GET", "PUT"):
                row.append(f"{100 * result['rps'] / floor['rps']:.1f}%")
        rows.append(row)
    scaling = []
    if len({p["cores"] for p in load}) > 1:
        for users in sorted({p["users"] for p in load}):
            parts = [
                f"{kind} {cell[(2, kind, users)]['rps'] / cell[(1, kind, users)]['rps']:.2f}"
                for kind in throughput.KINDS
            ]
            scaling.append(f"- {users} user(s), req/s on 2 cores / on 1: " + ", ".join(parts))
    return markdown_table(header, rows) + ("\n\n" + "\n".join(scaling) if scaling else "")


def render(report: dict[str, Any]) -> str:
    functions = report["functions"]
    header = [
        "function",
        "cold start ms (floor)",
        "init ms (floor)",
        "ratio",
        "CPU ms (floor), ratio",
        "warm µs CPU: unsampled, sampled (floor), ratio",
        "days_until ns",
        "peak RSS MB warm / cold (floor)",
        "zip KiB trimmed (sam build), tzdata",
        "zoned cold PUT CPU ms, ratio",
        "unzipped MiB",
        "DynamoDB calls at import / per request",
    ]
    rows = [
        [
            f"{name} ({row['method']})",
            f"{row['cold_total_ms']:.0f} ({row['floor_total_ms']:.0f})",
            f"{row['cold_init_ms']:.0f} ({row['floor_init_ms']:.0f})",
            row["cold_ratio"],
            f"{row['cold_cpu_ms']:.0f} ({row['floor_cpu_ms']:.0f}), {row['cold_cpu_ratio']:.2f}",
            f"{row['warm_us']:.0f}, {row['warm_sampled_us']:.0f} ({row['warm_floor_us']:.0f}), "
            f"{row['warm_cpu_ratio']:.2f}",
            row["days_until_ns"],
            f"{row['warm_peak_rss_mb']:.0f} / {row['cold_rss_mb']:.0f} ({row['floor_rss_mb']:.0f})",
            f"{row['zip_bytes'] / 1024:.0f} ({row.get('sam_build_zip_bytes', 0) / 1024:.0f}), "
            f"{row.get('tzdata_zip_bytes', 0) / 1024:.0f}",
            f"{row['zoned_cold_cpu_ms']:.0f}, {row['zoned_cold_cpu_ratio']:.2f}" if "zoned_cold_cpu_ms" in row else "-",
            row["unzipped_bytes"] / 1024 / 1024,
            f"{len(row['calls_at_import'])} / {row['calls_per_request']:g}",
        ]
        for name, row in functions.items()
    ]
    limits = [Limit(**{k: v for k, v in limit.items() if k != "met"}) for limit in report["budget"]]
    sections = [markdown_table(header, rows)]
    if report.get("imports"):
        sections.append(render_imports(report["imports"]))
    if report.get("tracing"):
        sections.append("Tracing options (bench/tracing.py):\n\n" + render_tracing(report["tracing"]))
    if report.get("settings", {}).get("injected_cold_cpu_ms"):
        injected = report["settings"]["injected_cold_cpu_ms"]
        sections.append(f"A regression was injected: {injected:g} ms of CPU in each function's cold start.")
    if report.get("local_api"):
        sections.append("Local API, requests/s (p50, p99 ms):\n\n" + render_load(report["local_api"]))
    return "\n\n".join([*sections, budget_table(limits)])


if __name__ == "__main__":
    sys.exit(main())
