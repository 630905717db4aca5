"""An init that says it started, then waits for the test's `init-release` file (bounded)."""

import json
import os
import time
from pathlib import Path
from typing import Any

_MARKERS = Path(os.environ["FAKE_MARKERS"])
(_MARKERS / f"init-started-{os.getpid()}").touch()
_deadline = time.monotonic() + 60
while not (_MARKERS / "init-release").exists() and time.monotonic() < _deadline:
    time.sleep(0.01)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": json.dumps({"pid": os.getpid()})}
