"""Its first import kills the process (a worker that dies while starting); later ones work."""

import os
from pathlib import Path
from typing import Any

_MARKER = Path(os.environ["FAKE_MARKERS"]) / "init-died"
if not _MARKER.exists():
    _MARKER.touch()
    os._exit(3)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": "started the second time"}
