"""Every `make run` session in README.md and docs/, run as written: the answers shown are the ones the API gives.

A session is a `sh` block whose first line starts `make run` and that holds a `curl`: that line's
variables start the local API through make (FAKETIME included, so a session
pinned to an instant holds on any day), then each `curl` runs in bash, with
the `NAME=$(...)` lines before it, and every `HTTP/`, header and JSON line
shown after it must be in the answer ("..." matches any value). Wherever a
session moves between the README and the docs, it keeps being run.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.local_api import LocalApiProcess, local_api_env
from tests.support.paths import ROOT

pytestmark = pytest.mark.integration
DOCUMENTED_URL = "http://127.0.0.1:3000"
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@dataclass
class Step:
    script: str
    expected: list[str] = field(default_factory=list)


@dataclass
class Session:
    document: Path
    make_args: list[str]
    steps: list[Step]

    @property
    def name(self) -> str:
        return f"{self.document.relative_to(ROOT)}: make run {' '.join(self.make_args)}"


def sh_blocks(text: str) -> list[list[str]]:
    return [block.split("```", 1)[0].splitlines() for block in text.split("```sh\n")[1:]]


def parse(document: Path, lines: list[str]) -> Session:
    """The `make run` line's variables, and each curl command with its assignments and the lines shown after it."""
    make_args = [arg for arg in shlex.split(lines[0].split("#", 1)[0])[2:] if arg != "&"]
    assignments: list[str] = []
    steps: list[Step] = []
    pending = ""
    for line in lines[1:]:
        if re.match(r"[A-Z]+=\$\(", line):
            assignments.append(line)
        elif pending or line.startswith("curl "):
            pending += line.split("    #", 1)[0].rstrip().rstrip("\\") + " "
            if not line.rstrip().endswith("\\"):
                steps.append(Step("\n".join([*assignments, pending])))
                pending = ""
        elif line.startswith("# ") and steps:
            steps[-1].expected.append(re.split(r"\s{2,}\(", line[2:], maxsplit=1)[0].strip())
    return Session(document, make_args, steps)


def sessions() -> list[Session]:
    found = []
    for document in DOCUMENTS:
        for lines in sh_blocks(document.read_text(encoding="utf-8")):
            if lines and lines[0].startswith("make run"):
                session = parse(document, lines)
                if session.steps:  # a block that only names `make run` (the two commands) is no session
                    found.append(session)
    return found


def _matches(expected: Any, actual: Any) -> bool:
    if expected == "...":
        return True
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and set(expected) == set(actual)
            and all(_matches(value, actual[key]) for key, value in expected.items())
        )
    return bool(expected == actual)


def test_the_sessions_are_found_where_the_docs_keep_them() -> None:
    """The README's Try it, and docs' CORS and token sessions at least: a parser that finds none proves nothing."""
    found = {(session.document.name, tuple(session.make_args)) for session in sessions()}
    assert ("README.md", ("FAKETIME=2024-01-01 09:00:00",)) in found
    assert ("authorization.md", ("JWT=dev",)) in found
    assert any(name == "cors.md" and args[0].startswith("PARAMETER_OVERRIDES=") for name, args in found)
    assert all(len(session.steps) >= 2 for session in sessions())


@pytest.mark.parametrize("session", sessions(), ids=lambda session: session.name)
def test_the_session_is_true_as_written(session: Session) -> None:
    curl = shutil.which("curl")
    assert curl, "curl runs the documented commands"
    jwt = "JWT=dev" in session.make_args
    extra = ["DEV_ISSUER_PORT=0", "CONCURRENCY=2"] if jwt else []
    api = LocalApiProcess.through_make(*session.make_args, *extra)
    env = local_api_env()
    try:
        if jwt:  # `make token` must sign for the issuer this run serves, on the port it picked
            env["DEV_ISSUER_PORT"] = api.wait_for_line("Development issuer").split("DEV_ISSUER_PORT=")[1].split()[0]
        for step in session.steps:
            script = step.script.replace("curl ", f"{curl} -s ").replace(DOCUMENTED_URL, api.url)
            shown = subprocess.run(
                ["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
            ).stdout
            head, _, body = shown.replace("\r\n", "\n").partition("\n\n")
            status, *headers = head.split("\n")
            for line in step.expected:
                if line.startswith("HTTP/"):
                    assert status == line, (step.script, shown)
                elif line.startswith("{"):
                    assert _matches(json.loads(line), json.loads(body)), (step.script, shown)
                else:
                    name, value = (part.strip() for part in line.split(":", 1))
                    assert f"{name}: {value}".lower() in [header.lower() for header in headers], (step.script, shown)
    finally:
        api.stop()
