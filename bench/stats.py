"""The bench's arithmetic and its report: medians, ratios, the budget, the markdown table.

Pure functions, so they are unit-tested without timing anything.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """One line of the budget: a measured value and the most it may be."""

    name: str
    value: float
    limit: float
    unit: str

    @property
    def met(self) -> bool:
        return self.value <= self.limit


def median(samples: Iterable[float]) -> float:
    """The median, which a few slow runs (a busy machine) cannot drag."""
    values = list(samples)
    if not values:
        raise ValueError("median of no samples")
    return float(statistics.median(values))


def ratio(measured: float, floor: float) -> float:
    """How many times the floor `measured` costs."""
    if floor <= 0:
        raise ValueError(f"the floor must be positive, got {floor}")
    return measured / floor


def paired_ratio(measured: Sequence[float], floor: Sequence[float]) -> float:
    """The median of measured[i] / floor[i]: each pair ran back to back, so a slow spell hits both."""
    if len(measured) != len(floor):
        raise ValueError(f"{len(measured)} samples against {len(floor)} floors")
    return median(ratio(value, base) for value, base in zip(measured, floor, strict=True))


def format_number(value: float) -> str:
    """Three significant digits at most, no exponent: 0.123, 1.23, 12.3, 123, 1234."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A GitHub markdown table; numbers are formatted with `format_number`, text as is."""

    def cell(value: object) -> str:
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, int | float):
            return format_number(value)
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def budget_table(limits: Iterable[Limit]) -> str:
    return markdown_table(
        ["budget", "measured", "limit", "met"],
        [
            (
                limit.name,
                f"{format_number(limit.value)} {limit.unit}",
                f"{format_number(limit.limit)} {limit.unit}",
                limit.met,
            )
            for limit in limits
        ],
    )
