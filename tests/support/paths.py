"""Where the repository's files are, for every test: one root, whatever folder a test sits in."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EVENTS_DIR = ROOT / "events"
