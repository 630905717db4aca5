"""Running the local API at another date with libfaketime, every process of it on the same clock.

`--faketime WHEN` starts the clock at WHEN (UTC) and lets it run: libfaketime
gets an offset from the real time (`FAKETIME=-86901544`, as Debian's
`faketime` wrapper sets it), so the server, the embedded store and every
worker started later agree on "now". `--frozen` stops the clock at WHEN
instead (`FAKETIME="2024-02-29 12:00:00"`, libfaketime's absolute form).
Either way the library is the one the pinned `libfaketime` package ships, and
CLOCK_MONOTONIC keeps real time (DONT_FAKE_MONOTONIC=1): asyncio's timers,
the function timeouts and uvicorn's shutdown run on it, and a frozen
monotonic clock would stop them.

libfaketime's own variables (FAKETIME, LD_PRELOAD) are never read as a
setting: under the wrapper (`faketime '2024-02-29 12:00:00' make run`) the
processes inherit the wrapper's clock as it is. Only a frozen one (`faketime
-f`) is changed: it needs DONT_FAKE_MONOTONIC, and Debian's libfaketime
0.9.10 then fails every absolute sleep (Python's `time.sleep`) with EINVAL, so
the pinned library takes the wrapper's place, with the wrapper's FAKETIME.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime

CLOCK_SET = "LOCALAPI_CLOCK_SET"
"""Set once the process runs on the clock it was asked for, so it re-executes only once."""


def is_preloaded(environment: Mapping[str, str]) -> bool:
    return "faketime" in environment.get("LD_PRELOAD", "")


def parse_moment(when: str) -> datetime:
    """`2024-02-29`, `2024-02-29 12:00:00` or any ISO 8601 date and time; UTC unless it names an offset."""
    try:
        moment = datetime.fromisoformat(when)
    except ValueError:
        raise ValueError(f"FAKETIME={when} (--faketime) is not a date and time like '2024-02-29 12:00:00'") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def real_epoch_seconds(environment: Mapping[str, str]) -> float:
    """The real time, even from a process libfaketime already fakes: asked of a process without it."""
    clean = {name: value for name, value in environment.items() if name not in ("LD_PRELOAD", "FAKETIME")}
    done = subprocess.run(
        [sys.executable, "-S", "-c", "import time; print(repr(time.time()))"],
        env=clean,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout)


def is_frozen(faketime: str) -> bool:
    """libfaketime's absolute form stands still; `@` (start at) and `+`/`-` (offsets) run."""
    return bool(faketime) and faketime[0] not in "@+-"


def clock_environment(when: str | None, frozen: bool, environment: Mapping[str, str]) -> dict[str, str]:
    """The environment the local API should run in for the clock asked for (the same one when nothing changes)."""
    result = dict(environment)
    if result.get(CLOCK_SET) == "1":
        return result
    if frozen and not when:
        raise ValueError("FROZEN=1 (--frozen) needs FAKETIME (--faketime), the moment to stop the clock at")
    if when:
        moment = parse_moment(when)
        if frozen:
            # libfaketime reads an absolute FAKETIME in the process's local time zone.
            result["FAKETIME"] = moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        else:
            now = real_epoch_seconds(environment) if is_preloaded(environment) else datetime.now(UTC).timestamp()
            result["FAKETIME"] = f"{round(moment.timestamp() - now):+d}"
        result.pop("FAKETIME_SHARED", None)  # a wrapper's shared state belongs to its own clock
    elif not (is_preloaded(environment) and is_frozen(environment.get("FAKETIME", ""))):
        return result  # the real clock, or a wrapper's running one: nothing to change
    _preload_the_pinned_library(result)
    result["DONT_FAKE_MONOTONIC"] = "1"
    result[CLOCK_SET] = "1"
    return result


def _preload_the_pinned_library(environment: dict[str, str]) -> None:
    """LD_PRELOAD the `libfaketime` package's library instead of any other libfaketime."""
    import libfaketime

    _, additions = libfaketime.get_reload_information()
    soname = additions["LD_PRELOAD"].split(":", 1)[0]
    others = [entry for entry in environment.get("LD_PRELOAD", "").split(":") if entry and "faketime" not in entry]
    environment["LD_PRELOAD"] = ":".join([soname, *others])
    paths = [additions["LD_LIBRARY_PATH"], *environment.get("LD_LIBRARY_PATH", "").split(":")]
    environment["LD_LIBRARY_PATH"] = ":".join(path for path in paths if path)
