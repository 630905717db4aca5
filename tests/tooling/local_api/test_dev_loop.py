"""The developer's loop on the local API: edits picked up live, the store kept, one console line per request.

Every wait here is for something the server does (a line it prints, an answer
that changes), bounded; none decides an outcome by the clock.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from localapi.template import SamTemplate
from tests.support.local_api import LocalApiProcess, local_api_env, run_local_api
from tests.support.paths import ROOT

pytestmark = pytest.mark.integration
TIMEOUT = 30
BORN = "1990-05-10"


def _project_copy(tmp_path: Path) -> Path:
    """template.yaml and the code it names, in a scratch directory the test may edit."""
    for name in ("src", "hooks", "statemachines"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "template.yaml", tmp_path / "template.yaml")
    return tmp_path / "template.yaml"


def _put(api: LocalApiProcess, name: str, born: str = BORN) -> int:
    response = requests.put(f"{api.url}/hello/{name}", json={"dateOfBirth": born}, timeout=TIMEOUT)
    return response.status_code


def _message(api: LocalApiProcess, name: str) -> str:
    response = requests.get(f"{api.url}/hello/{name}", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return str(response.json()["message"])


def test_edited_code_answers_the_next_requests_and_the_store_keeps_its_data(tmp_path: Path) -> None:
    template = _project_copy(tmp_path)
    api = LocalApiProcess(args=("--template", str(template)))
    try:
        api.wait_for_line("edits restart the workers")
        assert _put(api, "Alice") == 204
        before = _message(api, "alice")
        assert before.startswith("Hello, alice! ")
        domain = tmp_path / "src" / "greeter" / "domain.py"
        domain.write_text(domain.read_text().replace('f"Hello, {username}!', 'f"Howdy, {username}!'))
        api.wait_for_line("domain.py changed: workers restarted on the new code")
        # Printed once the old workers are retired: whatever answers now runs the new code.
        assert _message(api, "alice") == before.replace("Hello", "Howdy", 1)  # the same stored date
        template.write_text(template.read_text() + "\n")
        api.wait_for_line("template.yaml changed: restart the local API to apply it")
    finally:
        assert api.stop() == 0


def test_a_store_file_keeps_the_data_across_restarts(tmp_path: Path) -> None:
    store = tmp_path / "store.json"
    first = LocalApiProcess(args=("--store-file", str(store)))
    try:
        assert _put(first, "Keeper") == 204
        greeting = _message(first, "keeper")
    finally:
        assert first.stop() == 0
    assert "Store: 1 item(s) written to" in "".join(first.output)
    second = LocalApiProcess(args=("--store-file", str(store)))
    try:
        assert "1 item(s) loaded" in second.wait_for_line("Local API listening")
        assert _message(second, "keeper") == greeting
    finally:
        assert second.stop() == 0


def test_the_console_shows_one_line_per_request_and_the_functions_output_goes_to_the_log_file() -> None:
    api = LocalApiProcess()
    try:
        banner_end = len(api.wait_for(lambda output: any("edits restart the workers" in line for line in output)))
        assert _put(api, "Quiet") == 204
        assert _message(api, "quiet").startswith("Hello, quiet!")
        assert requests.get(f"{api.url}/fence", timeout=TIMEOUT).status_code == 404
        console = api.wait_for(lambda output: any('"GET /fence"' in line for line in output), "the fence's line")
        since_banner = console[banner_end:]
        assert len(since_banner) == 3, since_banner  # PUT, GET, the fence: nothing else was printed between
        assert ['"PUT /hello/Quiet" 204' in since_banner[0], '"GET /hello/quiet" 200' in since_banner[1]] == [
            True,
            True,
        ]
        functions = api.functions_output()
        assert '"BirthdaysSaved"' in functions  # the metrics (EMF) are in the file
        assert '"GreetingsServed"' in functions
    finally:
        assert api.stop() == 0


def test_verbose_shows_the_functions_output_on_the_console() -> None:
    api = LocalApiProcess(args=("--verbose",))
    try:
        assert _put(api, "Loud") == 204
        api.wait_for_line('"BirthdaysSaved"')
    finally:
        assert api.stop() == 0


def test_parameter_overrides_reach_the_local_api_as_sam_local_takes_them() -> None:
    api = LocalApiProcess(args=("--parameter-overrides", "ReservedConcurrency=3 LogLevel=DEBUG"))
    try:
        routes = len(SamTemplate().routes())
        output = api.wait_for(lambda output: sum("workers)" in line for line in output) == routes, "the routes")
        route_lines = [line for line in output if "workers)" in line]
        assert all("(up to 3 workers)" in line for line in route_lines)
        assert any("PutBirthdayFunction" in line for line in route_lines)
        assert any("GetGreetingFunction" in line for line in route_lines)
    finally:
        assert api.stop() == 0


def test_make_run_passes_parameter_overrides_on() -> None:
    printed = subprocess.run(
        ["make", "-n", "run", "PARAMETER_OVERRIDES=ReservedConcurrency=2 LogLevel=DEBUG"],
        cwd=ROOT,
        env=local_api_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--parameter-overrides 'ReservedConcurrency=2 LogLevel=DEBUG'" in printed


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ("Nope=1", "declares no parameter Nope"),
        ("ReservedConcurrency=lots", "ReservedConcurrency is a Number"),
        # AllowedValues, as CloudFormation checks them: JwtProtectGet=TRUE must not leave GET public unnoticed.
        ("JwtIssuer=https://issuer.example.com JwtAudience=a JwtProtectGet=TRUE", "must be one of true, false"),
        ("LogLevel=debug", "parameter LogLevel='debug': must be one of DEBUG, INFO, WARNING, ERROR"),
    ],
)
def test_a_bad_parameter_override_is_a_clear_error(overrides: str, message: str) -> None:
    done = run_local_api("--port", "0", "--parameter-overrides", overrides)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_python_m_localapi_works_from_the_venv_without_pythonpath(tmp_path: Path) -> None:
    """As the README and docs/local-development.md say: after `source .venv/bin/activate`, from any directory."""
    done = run_local_api("--help", cwd=tmp_path, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert done.returncode == 0, done.stderr
    assert "--parameter-overrides" in done.stdout
    sam = Path(sys.executable).with_name("sam")  # on the PATH once the venv is activated
    assert "SAM CLI" in subprocess.run([sam, "--version"], capture_output=True, text=True, check=True).stdout
