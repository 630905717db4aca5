"""Its first import never finishes (a worker that hangs while starting); later ones work."""

import os
import time
from pathlib import Path
from typing import Any

_MARKER = Path(os.environ["FAKE_MARKERS"]) / "init-hung"
if not _MARKER.exists():
    _MARKER.touch()
    time.sleep(60)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": "started the second time"}
