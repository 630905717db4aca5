"""The README's "Try it" session, run as written: the answers it shows are the ones the API gives, on any day."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support.local_api import LocalApiProcess, local_api_env
from tests.support.paths import ROOT

pytestmark = pytest.mark.integration
README_URL = "http://127.0.0.1:3000"


@dataclass
class Step:
    command: list[str]
    expected: list[str] = field(default_factory=list)


def sh_block(heading: str) -> list[str]:
    """The lines of the first `sh` block under a README heading."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(f"\n{heading}\n", 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()


def try_it_block() -> list[str]:
    return sh_block("## Try it")


def steps(lines: list[str]) -> tuple[str, list[Step]]:
    """The FAKETIME of the `make run` line, and each curl command with the lines shown after it."""
    faketime = ""
    found: list[Step] = []
    pending = ""
    for line in lines:
        if line.startswith("make run"):
            pinned = re.search(r'FAKETIME="([^"]+)"', line)
            faketime = pinned.group(1) if pinned else ""
        elif pending or line.startswith("curl "):
            pending += line.rstrip("\\").strip() + " "
            if not line.endswith("\\"):
                found.append(Step(shlex.split(pending)))
                pending = ""
        elif line.startswith("# ") and found:
            found[-1].expected.append(re.split(r"\s{2,}\(", line[2:], maxsplit=1)[0].strip())
    return faketime, found


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


def test_the_readme_session_is_true_whatever_today_is() -> None:
    curl = shutil.which("curl")
    assert curl, "curl runs the README's commands"
    faketime, session = steps(try_it_block())
    assert faketime, "the README runs the API at a fixed date, so its answers hold on any day"
    assert len(session) >= 4
    api = LocalApiProcess.through_make(f"FAKETIME={faketime}")
    try:
        run_session(curl, api, session)
    finally:
        api.stop()


def run_session(curl: str, api: LocalApiProcess, session: list[Step]) -> None:
    """Each curl command against `api`; what the README shows after it must be in the answer."""
    for step in session:
        command = [curl, "-s", *[part.replace(README_URL, api.url) for part in step.command[1:]]]
        shown = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout
        head, _, body = shown.replace("\r\n", "\n").partition("\n\n")
        status, *headers = head.split("\n")
        for line in step.expected:
            if line.startswith("HTTP/"):
                assert status == line, (step.command, shown)
            elif line.startswith("{"):
                assert _matches(json.loads(line), json.loads(body)), (step.command, shown)
            else:
                name, value = (part.strip() for part in line.split(":", 1))
                assert f"{name}: {value}".lower() in [header.lower() for header in headers], (step.command, shown)


def test_the_readme_cors_example_is_what_make_run_answers() -> None:
    curl = shutil.which("curl")
    assert curl, "curl runs the README's commands"
    lines = sh_block("## Browser clients (CORS)")
    overrides = re.search(r'^make run PARAMETER_OVERRIDES="([^"]+)"', lines[0])
    assert overrides, lines[0]
    _, session = steps(lines)
    assert len(session) >= 2
    api = LocalApiProcess.through_make(f"PARAMETER_OVERRIDES={overrides.group(1)}")
    try:
        run_session(curl, api, session)
    finally:
        api.stop()


def jwt_block() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Who may write: the optional JWT authorizer", 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()


def shell_steps(lines: list[str]) -> list[tuple[str, list[str]]]:
    """Each curl command of the block, with the `NAME=$(...)` lines before it, and the lines shown after it."""
    assignments: list[str] = []
    found: list[tuple[str, list[str]]] = []
    pending = ""
    for line in lines:
        if line.startswith("make run"):
            assert "JWT=dev" in line
        elif re.match(r"[A-Z]+=\$\(", line):
            assignments.append(line)
        elif pending or line.startswith("curl "):
            pending += line.split("    #", 1)[0].rstrip().rstrip("\\") + " "
            if not line.rstrip().endswith("\\"):
                found.append(("\n".join([*assignments, pending]), []))
                pending = ""
        elif line.startswith("# ") and found:
            found[-1][1].append(line[2:].strip())
    return found


def test_the_readme_token_session_is_true() -> None:
    """`make run JWT=dev`, `make token`, and the answers the README shows for each curl."""
    curl = shutil.which("curl")
    assert curl, "curl runs the README's commands"
    session = shell_steps(jwt_block())
    assert len(session) >= 5
    api = LocalApiProcess.through_make("JWT=dev", "DEV_ISSUER_PORT=0", "CONCURRENCY=2")
    try:
        port = api.wait_for_line("Development issuer").split("DEV_ISSUER_PORT=")[1].split()[0]
        for script, expected in session:
            shown = subprocess.run(
                ["bash", "-c", script.replace("curl -i", f"{curl} -s -i").replace(README_URL, api.url)],
                cwd=ROOT,
                env={**local_api_env(), "DEV_ISSUER_PORT": port},
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            ).stdout
            head, _, body = shown.replace("\r\n", "\n").partition("\n\n")
            for line in expected:
                if line.startswith("HTTP/"):
                    assert head.split("\n")[0] == line, (script, shown)
                elif line.startswith("{"):
                    assert _matches(json.loads(line), json.loads(body)), (script, shown)
    finally:
        api.stop()
