"""`make help`: colour on a terminal, plain text in a pipe (a file, `grep`, CI logs)."""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ESCAPE = "\x1b["


def test_help_in_a_pipe_has_no_colour_codes() -> None:
    result = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert ESCAPE not in result.stdout
    assert "  run " in result.stdout


def test_help_on_a_terminal_is_in_colour() -> None:
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(["make", "-s", "help"], cwd=ROOT, stdout=terminal, stderr=subprocess.DEVNULL, check=True)
        assert done.returncode == 0
        os.close(terminal)
        terminal = -1
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal side is closed: everything was read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)
        if terminal >= 0:
            os.close(terminal)
    assert ESCAPE.encode() in shown
