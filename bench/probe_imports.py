"""The CPU time each module's import takes itself, in a fresh, Lambda-like process (see `lambda_env`).

    probe_imports.py RESULT_FD MODULE

Imports MODULE and writes `{module: CPU ns}` as JSON to RESULT_FD: each
module's own time, the imports it made excluded, so the figures add up.
`python -X importtime` prints the same tree in wall time, which a shared
machine stretches by whatever else runs; here every import (statements and
`importlib.import_module` alike go through the import system's
`_find_and_load`) is timed with `time.process_time_ns`.
"""

import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

IMPORT_SYSTEM: Any = sys.modules["_frozen_importlib"]
"""importlib._bootstrap, as the interpreter loaded it: every import calls its `_find_and_load`."""


def timed_imports(module: str) -> dict[str, int]:
    """Imports `module`; the CPU ns each module imported on the way took, itself."""
    own: dict[str, int] = {}
    nested = [0]  # per open import, the CPU its own imports took
    find_and_load: Callable[[str, Any], Any] = IMPORT_SYSTEM._find_and_load

    def timed(name: str, import_: Any) -> Any:
        nested.append(0)
        started = time.process_time_ns()
        try:
            return find_and_load(name, import_)
        finally:
            elapsed = time.process_time_ns() - started
            own[name] = own.get(name, 0) + elapsed - nested.pop()
            nested[-1] += elapsed

    IMPORT_SYSTEM._find_and_load = timed
    try:
        __import__(module)
    finally:
        IMPORT_SYSTEM._find_and_load = find_and_load
    return own


def main() -> None:
    result_fd, module = sys.argv[1:]
    os.write(int(result_fd), json.dumps(timed_imports(module)).encode())


if __name__ == "__main__":
    main()
