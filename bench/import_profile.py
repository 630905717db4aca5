"""Which modules a cold start imports and what each costs, per top-level package.

The function's init phase is the import of its handler module; the floor's is
`floor_init.py` (import boto3, create the client), imported the same way, so
in both the module's own body (the client, and for a handler its Logger,
Metrics and resolver) is one row and every package imported under it another.
Times are CPU, each module's own (its imports excluded: `probe_imports.py`),
so they add up; the medians of a few fresh processes, not a budget: the
budget is the CPU ratio of the cold rounds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from bench.stats import markdown_table, median

BODY = "{module} (its body)"
OTHER = "other packages, each < {threshold:g} ms"


def by_package(times: Mapping[str, int], entry: str) -> Counter[str]:
    """Own CPU ns per top-level package; the body of `entry` (the module whose import is the init phase) on its own."""
    packages: Counter[str] = Counter()
    for module, microseconds in times.items():
        packages[BODY.format(module=module) if module == entry else module.split(".")[0]] += microseconds
    return packages


def medians(runs: Iterable[Mapping[str, int]]) -> dict[str, float]:
    """Per package, the median over the runs, in ms (a package some run did not import counts 0 there)."""
    runs = list(runs)
    names = set().union(*runs) if runs else set()
    return {name: median(run.get(name, 0) for run in runs) / 1e6 for name in names}


def table(function: Mapping[str, float], floor: Mapping[str, float], *, threshold: float = 2.0) -> str:
    """Rows by the function's cost, largest first; packages under `threshold` ms on both sides summed in one row."""
    rows: list[list[object]] = []
    rest = [0.0, 0.0]
    for name in sorted(set(function) | set(floor), key=lambda n: (-function.get(n, 0.0), n)):
        mine, base = function.get(name, 0.0), floor.get(name, 0.0)
        if max(mine, base) < threshold:
            rest[0] += mine
            rest[1] += base
            continue
        rows.append([name, mine, base, f"{mine - base:+.1f}"])
    rows.append([OTHER.format(threshold=threshold), rest[0], rest[1], f"{rest[0] - rest[1]:+.1f}"])
    total = sum(function.values()), sum(floor.values())
    rows.append(["total", total[0], total[1], f"{total[0] - total[1]:+.1f}"])
    return markdown_table(["package (own CPU)", "function ms", "floor ms", "function - floor"], rows)
