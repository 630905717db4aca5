"""The end-to-end suite (tests/e2e, `make e2e`) proves itself on every target this machine has.

It passes against `make run` (as configured by default, and with CORS, the
JWT authorizer and a token file), against `make sam-local` wherever a Docker
engine answers (with each of SAM's deviations named by a strict xfail), and
against a stack's outputs and parameters (moto's CloudFormation). READ_ONLY=1
stores nothing. And it fails, naming the case and what came back, against an
API with one defect: a lost route, an off-by-one greeting, lost validation.
"""

from __future__ import annotations

import ast
import json
import os
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from tests.support.faulty_api import FAULTS, faulty_api
from tests.support.local_api import LocalApiProcess
from tests.support.moto_server import moto_endpoint
from tests.support.paths import ROOT
from tests.support.sam_local import SamLocalProcess, engine_and_images

pytestmark = pytest.mark.integration
SUITE = ROOT / "tests" / "e2e"
RUN_TIMEOUT_SECONDS = 600
"""Bounds a hung run only: against `make run` the suite takes seconds, against `sam local` under a minute."""


@dataclass
class Run:
    returncode: int
    output: str
    outcomes: dict[str, str]
    """test id (file::name[param]) -> passed, failed, skipped, xfailed"""

    def named(self, test: str) -> set[str]:
        return {outcome for name, outcome in self.outcomes.items() if name.split("[")[0].endswith(test)}


def run_e2e(tmp_path: Path, *make_args: str, env: dict[str, str] | None = None) -> Run:
    """`make -s e2e ARGS`, with its JUnit report read back: every case and how it ended."""
    report = tmp_path / "e2e-junit.xml"
    done = subprocess.run(
        ["make", "-s", "e2e", *make_args, f"E2E_PYTEST_ARGS=--junitxml={report}"],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )
    outcomes: dict[str, str] = {}
    if report.exists():
        for case in ET.parse(report).iter("testcase"):  # noqa: S314 - the report this test had pytest write
            name = f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"
            ended = {child.tag for child in case}
            skipped = next((child for child in case if child.tag == "skipped"), None)
            if skipped is not None and (skipped.get("type") == "pytest.xfail"):
                outcomes[name] = "xfailed"
            elif skipped is not None:
                outcomes[name] = "skipped"
            elif ended & {"failure", "error"}:
                outcomes[name] = "failed"
            else:
                outcomes[name] = "passed"
    return Run(done.returncode, done.stdout + done.stderr, outcomes)


def assert_passed(run: Run) -> None:
    assert run.returncode == 0, run.output[-6000:]
    assert "passed" in run.outcomes.values(), run.output[-3000:]
    assert "failed" not in run.outcomes.values(), run.output[-6000:]


def test_the_suite_passes_against_make_run(local_api: LocalApiProcess, tmp_path: Path) -> None:
    run = run_e2e(tmp_path, f"HOST={local_api.url}", "TARGET=local-api")
    assert_passed(run)
    assert run.named("test_a_stored_user_is_greeted_with_the_days_left_to_their_birthday") == {"passed"}
    assert run.named("test_a_date_of_birth_the_spec_refuses_is_400") == {"passed"}
    assert run.named("test_a_path_no_route_takes_is_404_without_a_redirect") == {"passed"}
    assert run.named("test_a_put_without_a_valid_token_is_the_gateways_401") == {"skipped"}  # no authorizer here


def test_read_only_stores_nothing(tmp_path: Path) -> None:
    store = tmp_path / "store.json"
    api = LocalApiProcess(args=("--store-file", str(store)))
    try:
        run = run_e2e(tmp_path, f"HOST={api.url}", "READ_ONLY=1", "TARGET=local-api")
    finally:
        assert api.stop() == 0
    assert_passed(run)
    assert run.named("test_a_stored_user_is_greeted_with_the_days_left_to_their_birthday") == {"skipped"}
    assert run.named("test_a_body_that_is_not_a_json_object_is_400") == {"passed"}
    assert json.loads(store.read_text())["Items"] == []


def dev_tokens(port: str, count: int, path: Path) -> Path:
    """A token file of the development issuer on `port`, as `make loadtest JWT=dev` writes one."""
    tokens = subprocess.run(
        [sys.executable, "-m", "localapi.devissuer", "tokens", str(count), "--port", port],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    path.write_text(tokens)
    return path


def test_the_suite_passes_against_make_run_with_cors_and_the_authorizer_on_put_and_get(tmp_path: Path) -> None:
    origin = "https://app.example.com"
    api = LocalApiProcess.through_make(
        "JWT=dev",
        "DEV_ISSUER_PORT=0",
        "CONCURRENCY=4",
        f"PARAMETER_OVERRIDES=CorsAllowedOrigins={origin} JwtProtectGet=true",
    )
    try:
        port = api.wait_for_line("Development issuer").split("DEV_ISSUER_PORT=")[1].split()[0]
        tokens = dev_tokens(port, 8, tmp_path / "tokens.json")
        args = ("JWT=on", "PROTECT_GET=1", f"CORS_ORIGINS={origin}", f"TOKENS={tokens}")
        run = run_e2e(tmp_path, f"HOST={api.url}", "TARGET=local-api", *args)
    finally:
        api.stop()
    assert_passed(run)
    for case in (
        "test_a_put_without_a_valid_token_is_the_gateways_401",
        "test_get_needs_a_token_only_when_protect_get_is_on",
        "test_a_valid_token_used_for_another_user_is_the_functions_403",
        "test_a_users_own_token_writes_their_record_in_any_case",
        "test_a_preflight_from_an_allowed_origin_is_answered_for_get_and_put",
        "test_a_preflight_from_another_origin_gets_no_cors_headers",
        "test_a_users_today_is_the_date_in_their_zone",
    ):
        assert run.named(case) == {"passed"}, (case, run.output[-3000:])


@pytest.mark.parametrize("fault", list(FAULTS))
def test_the_suite_fails_against_an_api_with_one_defect_and_names_it(
    local_api: LocalApiProcess, tmp_path: Path, fault: str
) -> None:
    expected = {
        "lost PUT route": (
            "test_a_stored_user_is_greeted_with_the_days_left_to_their_birthday",
            "expected 204, got: PUT",
        ),
        "off-by-one greeting": ("test_a_29_february_birthday_falls_on_1_march_in_common_years", "expected one of"),
        "lost validation": ("test_a_date_of_birth_the_spec_refuses_is_400", "expected 400, got: PUT"),
    }
    with faulty_api(local_api.url, FAULTS[fault]) as url:
        run = run_e2e(tmp_path, f"HOST={url}", "TARGET=local-api")
    case, said = expected[fault]
    assert run.returncode != 0, run.output[-3000:]
    assert "failed" in run.named(case), (fault, run.output[-3000:])
    assert "FAILED tests/e2e/" in run.output, run.output[-3000:]
    assert said in run.output, run.output[-3000:]


@pytest.fixture
def cloudformation() -> Iterator[str]:
    """moto's CloudFormation over HTTP, where `make e2e STACK=` finds its stack."""
    with moto_endpoint() as endpoint:
        yield endpoint


def a_stack(endpoint: str, name: str, api_url: str, cors_origins: str) -> None:
    """A stack with template.yaml's ApiUrl output and CorsAllowedOrigins parameter (and nothing else of it)."""
    body = {
        "Parameters": {"CorsAllowedOrigins": {"Type": "String", "Default": ""}},
        "Resources": {"Marker": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"ApiUrl": {"Value": api_url}},
    }
    boto3.client("cloudformation", endpoint_url=endpoint).create_stack(
        StackName=name,
        TemplateBody=json.dumps(body),
        Parameters=[{"ParameterKey": "CorsAllowedOrigins", "ParameterValue": cors_origins}],
    )


def test_a_stack_target_is_read_from_its_outputs_and_parameters(
    local_api: LocalApiProcess, cloudformation: str, tmp_path: Path
) -> None:
    """The stack's ApiUrl is where the suite goes, and its CorsAllowedOrigins what it expects: the local API has no
    CORS, so a stack that says it has fails the CORS cases, and one that says it has none passes."""
    env = {"AWS_ENDPOINT_URL_CLOUDFORMATION": cloudformation}
    a_stack(cloudformation, "greeter-without-cors", local_api.url, "")
    a_stack(cloudformation, "greeter-with-cors", local_api.url, "https://app.example.com")
    without = run_e2e(tmp_path, "STACK=greeter-without-cors", "REGION=eu-west-1", "TARGET=local-api", env=env)
    assert_passed(without)
    assert f"end-to-end target: {local_api.url} (local-api)" in without.output
    with_cors = run_e2e(tmp_path, "STACK=greeter-with-cors", "REGION=eu-west-1", "TARGET=local-api", env=env)
    assert with_cors.returncode != 0, with_cors.output[-3000:]
    assert with_cors.named("test_a_preflight_from_an_allowed_origin_is_answered_for_get_and_put") == {"failed"}


def test_the_suite_passes_against_sam_local_with_each_deviation_named(tmp_path: Path) -> None:
    engine_and_images()  # a skip that says why, or a failure under GREETER_REQUIRE_SAM_LOCAL=1
    sam = SamLocalProcess(["make", "-s", "sam-local", "HOST=127.0.0.1", "PORT=0"])
    try:
        run = run_e2e(tmp_path, f"HOST={sam.url}", "TARGET=sam-local")
    finally:
        sam.terminate()
    assert_passed(run)
    assert run.named("test_a_path_no_route_takes_is_404_without_a_redirect") == {"xfailed"}
    assert run.named("test_each_request_has_its_own_request_id") == {"xfailed"}
    assert run.named("test_every_answer_carries_api_gateways_request_id_header") == {"xfailed"}
    assert run.named("test_a_stored_user_is_greeted_with_the_days_left_to_their_birthday") == {"passed"}


def test_the_suite_imports_nothing_of_the_service_or_the_tooling() -> None:
    """It knows the API from SPEC.md: its imports are the standard library, its venv's packages, itself and the
    oracle; and in its venv, with `make e2e`'s path, the service and the local tools cannot even be imported."""
    allowed = {"pytest", "requests", "boto3", "botocore", "tests", "loadtest"}
    for module in SUITE.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names | allowed | {"__future__"}, (module.name, name)
                if top == "tests":
                    assert name.startswith("tests.e2e"), (module.name, name)
                if top == "loadtest":
                    assert name == "loadtest.oracle", (module.name, name)
    python = ROOT / ".venv-e2e" / "bin" / "python"  # made by `make pytest` before any test runs
    for module in ("greeter", "localapi", "moto", "samcli"):
        probe = subprocess.run(
            [str(python), "-c", f"import {module}"],
            cwd=ROOT,
            env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert probe.returncode != 0, (module, probe.stderr)
        assert "ModuleNotFoundError" in probe.stderr, (module, probe.stderr)


@pytest.mark.parametrize(
    ("make_args", "expected"),
    [
        ([], ["E2E_BASE_URL='http://127.0.0.1:3000'", "E2E_STACK=''", "E2E_READ_ONLY=''"]),
        (["HOST=https://abc.execute-api.eu-west-1.amazonaws.com"], ["E2E_BASE_URL='https://abc.execute-api"]),
        (["PORT=3103"], ["E2E_BASE_URL='http://127.0.0.1:3103'"]),
        (
            ["STACK=birthday-greeter-staging", "REGION=eu-west-1"],
            ["E2E_BASE_URL=''", "E2E_STACK='birthday-greeter-staging'", "E2E_REGION='eu-west-1'"],
        ),
        (["READ_ONLY=1", "TARGET=sam-local"], ["E2E_READ_ONLY='1'", "E2E_TARGET='sam-local'"]),
        (["TOKENS=t.json", "JWT=on", "PROTECT_GET=1"], ["E2E_TOKENS='t.json'", "E2E_JWT='on'", "E2E_PROTECT_GET='1'"]),
        (["JWT=dev"], ["E2E_TOKENS='reports/dev-issuer-tokens.json'", "localapi.devissuer tokens"]),
    ],
)
def test_make_e2e_hands_the_suite_its_target(make_args: list[str], expected: list[str]) -> None:
    shown = subprocess.run(
        ["make", "-n", "e2e", *make_args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    for text in expected:
        assert text in shown, (make_args, shown)
    assert "-c tests/e2e/pytest.ini" in shown
    assert "PYTHONPATH=" in shown


def a_closed_port() -> int:
    """A port nothing listens on: bound to find a free one, then closed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_target_that_does_not_answer_fails_once_and_stops_the_run(tmp_path: Path) -> None:
    """A wrong HOST: one failed case that says the target does not answer, not one failure (and one wait) per case."""
    run = run_e2e(tmp_path, f"HOST=http://127.0.0.1:{a_closed_port()}")
    assert run.returncode != 0, run.output[-3000:]
    assert list(run.outcomes.values()).count("failed") == 1, run.output[-3000:]
    assert "the target does not answer" in run.output, run.output[-3000:]


def test_a_stack_that_cannot_be_read_is_one_line_naming_it(cloudformation: str, tmp_path: Path) -> None:
    """No such stack (or no credentials, no region): a usage error naming the stack, not pytest's INTERNALERROR."""
    env = {"AWS_ENDPOINT_URL_CLOUDFORMATION": cloudformation}
    run = run_e2e(tmp_path, "STACK=greeter-nowhere", "REGION=eu-west-1", env=env)
    assert run.returncode != 0, run.output[-3000:]
    assert "INTERNALERROR" not in run.output, run.output[-3000:]
    assert "cannot read stack greeter-nowhere" in run.output, run.output[-3000:]


@pytest.mark.parametrize("switch", ["READ_ONLY=y", "READ_ONLY=maybe", "JWT=yes-please", "PROTECT_GET=2"])
def test_a_switch_with_an_unknown_value_is_refused_before_any_request(switch: str, tmp_path: Path) -> None:
    """READ_ONLY=y against prod must not mean "write": an unknown value is a usage error, and nothing is sent."""
    run = run_e2e(tmp_path, f"HOST=http://127.0.0.1:{a_closed_port()}", switch)
    assert run.returncode != 0, run.output[-3000:]
    assert run.outcomes == {}, run.output[-3000:]
    assert f"{switch}: expected 1, true, yes or on" in run.output, run.output[-3000:]


@pytest.mark.parametrize(("content", "why"), [("{bad", "Expecting property name"), (None, "No such file")])
def test_a_token_file_that_cannot_be_read_is_one_line_naming_it(content: str | None, why: str, tmp_path: Path) -> None:
    """Not JSON, or no such file: a usage error naming TOKENS, not pytest's INTERNALERROR."""
    tokens = tmp_path / "tokens.json"
    if content is not None:
        tokens.write_text(content, encoding="utf-8")
    run = run_e2e(tmp_path, f"HOST=http://127.0.0.1:{a_closed_port()}", f"TOKENS={tokens}")
    assert run.returncode != 0, run.output[-3000:]
    assert "INTERNALERROR" not in run.output, run.output[-3000:]
    assert f"TOKENS={tokens}: cannot read" in run.output, run.output[-3000:]
    assert why in run.output, run.output[-3000:]
