"""The `timeZone` values SPEC.md refuses, one of each kind, for every layer's tests to send."""

from __future__ import annotations

REFUSED_ZONES: list[object] = [
    "Mars/Olympus",  # unknown
    "europe/madrid",  # wrong case
    "../etc/passwd",  # a path
    "/usr/share/zoneinfo/UTC",
    "Europe/Madrid ",  # padded
    "UTC\n",
    "",
    None,
    2,
    1.5,
    ["Asia/Tokyo"],
    {"name": "UTC"},
    "+02:00",  # an offset
]
ZONE_MESSAGE = "timeZone must be an IANA time zone name, such as Europe/Madrid or UTC"
