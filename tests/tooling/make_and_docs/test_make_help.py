"""`make help`: colour on a terminal, plain text in a pipe (a file, `grep`, CI logs)."""

from __future__ import annotations

import os
import pty
import re
import subprocess

from tests.support.paths import ROOT

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


HELP_GROUPS = ["Set up", "Run", "Test", "Deploy", "Load", "Maintain"]


def help_groups() -> dict[str, list[str]]:
    """`make help`'s output as {group: [target, ...]}, in the order printed."""
    shown = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    groups: dict[str, list[str]] = {}
    current = ""
    for line in shown.splitlines():
        if line and not line.startswith(" "):
            current = next((group for group in HELP_GROUPS if line.startswith(group)), line)
            groups[current] = []
        elif line.strip() and current:
            groups[current].append(line.split()[0])
    return groups


def test_help_groups_the_targets_from_set_up_to_maintain() -> None:
    groups = help_groups()
    assert list(groups) == HELP_GROUPS
    assert groups["Run"][0] == "run"
    assert groups["Test"][0] == "test"
    assert "deploy" in groups["Deploy"]
    assert "loadtest" in groups["Load"]


def test_one_lock_target_refreshes_every_lock() -> None:
    """`make lock` compiles every requirements .in of the repository; no other target locks."""
    targets = [target for group in help_groups().values() for target in group]
    assert [target for target in targets if "lock" in target] == ["lock"]
    commands = subprocess.run(["make", "-n", "lock"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    outputs = {
        line.rsplit(" -o ", 1)[1].strip() for line in commands.replace("\\\n", " ").splitlines() if " -o " in line
    }
    ins = [
        path for path in ROOT.rglob("*.in") if not any(part.startswith(".") for part in path.relative_to(ROOT).parts)
    ]
    assert len(ins) >= 5
    assert outputs == {str(path.relative_to(ROOT).with_suffix(".txt")) for path in ins}


def test_every_target_with_a_description_is_listed() -> None:
    """A target's name may hold digits (`e2e`): each `name: ... ## text` line of the Makefile is in `make help`."""
    makefile = (ROOT / "Makefile").read_text()
    described = {line.split(":", 1)[0] for line in makefile.splitlines() if re.match(r"^[\w-]+:.*## ", line)}
    shown = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    listed = {line.split()[0] for line in shown.splitlines() if line.startswith("  ")}
    assert "e2e" in described
    assert sorted(described - listed) == []
