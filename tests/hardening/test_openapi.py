"""openapi.yaml against the running code, both ways.

Spec -> code: schemathesis generates requests from the document (valid and
invalid) and checks every answer against it, with a fixed seed and a bounded
number of examples. Code -> spec: every status the handlers can produce, and
every documented status, is checked against the other side.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from greeter import domain, service, store, transport
from tests.support.events import for_user, load_event
from tests.support.local_api import LocalApiProcess
from tests.support.openapi import SPEC_PATH, OpenApiContract
from tests.support.paths import ROOT

pytestmark = pytest.mark.contract

GATEWAY_ONLY = {401}
"""Statuses no function answers: the JWT authorizer's 401."""
WITH_JWT_AUTHORIZER_ONLY = {401, 403}
"""Statuses only the optional JWT authorizer's parameters make reachable."""
SCHEMATHESIS_SEED = 20240229
SCHEMATHESIS_MAX_EXAMPLES = 40
TIMEOUT = 10


@pytest.fixture(scope="module")
def contract() -> OpenApiContract:
    return OpenApiContract()


def test_the_document_is_valid_openapi_3_1(contract: OpenApiContract) -> None:
    document, _ = read_from_filename(str(SPEC_PATH))
    validate(document)
    assert contract.document["openapi"].startswith("3.1.")


def test_schemathesis_finds_no_failures(
    local_api: LocalApiProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every phase (examples, coverage, fuzzing, stateful) and every check, against the local API."""
    command = [
        str(Path(sys.executable).with_name("st")),
        "run",
        str(SPEC_PATH),
        "--url",
        local_api.url,
        "--seed",
        str(SCHEMATHESIS_SEED),
        "--max-examples",
        str(SCHEMATHESIS_MAX_EXAMPLES),
        "--checks",
        "all",
        "--request-timeout",
        str(TIMEOUT),
        "--no-color",
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        "SCHEMATHESIS_HOOKS": "tests.hardening.schemathesis_hooks",
    }
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    with capsys.disabled():
        cases = [line.strip() for line in output.splitlines() if "generated" in line]
        print(f"\n  schemathesis (seed {SCHEMATHESIS_SEED}): {'; '.join(cases)}")
    assert "No issues found" in output, output
    assert "Operations:       2 selected / 2 total" in output, output


def _all_subclasses(cls: type[Exception]) -> set[type[Exception]]:
    found = {cls}
    for sub in cls.__subclasses__():
        found |= _all_subclasses(sub)
    return found


# Every error the code defines, whichever layer raises it, plus the catch-all.
ERRORS = sorted(
    _all_subclasses(domain.DomainError)
    | _all_subclasses(transport.RequestError)
    | _all_subclasses(store.StoreError)
    | {RuntimeError},
    key=lambda cls: cls.__qualname__,
)


def _answer(handler: ModuleType, event: dict[str, Any], context: Any) -> tuple[str, int, dict[str, str], str]:
    response = handler.lambda_handler(event, context)
    method = event["requestContext"]["http"]["method"]
    return method, response["statusCode"], dict(response.get("headers") or {}), response.get("body") or ""


def _raising(error: type[Exception]) -> Callable[..., None]:
    def raise_it(*_: Any, **__: Any) -> None:
        raise error("from the contract test")

    return raise_it


def test_every_status_the_handlers_can_answer_is_documented(
    put_handler: ModuleType,
    get_handler: ModuleType,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
    contract: OpenApiContract,
) -> None:
    answers: list[tuple[str, int, dict[str, str], str]] = []
    for error in ERRORS:
        monkeypatch.setattr(service, "save_birthday", _raising(error))
        monkeypatch.setattr(service, "greet", _raising(error))
        answers.append(_answer(put_handler, load_event("put_birthday.json"), lambda_context))
        answers.append(_answer(get_handler, load_event("get_greeting.json"), lambda_context))
    monkeypatch.setattr(service, "save_birthday", lambda *_, **__: None)
    monkeypatch.setattr(service, "greet", lambda *_, **__: "Hello, Alice! Happy birthday!")
    answers.append(_answer(put_handler, load_event("put_birthday.json"), lambda_context))
    answers.append(_answer(get_handler, load_event("get_greeting.json"), lambda_context))
    # No route in the function: another method, or a raw path the route regex refuses.
    for method in ("POST", "DELETE", "PATCH", "HEAD", "OPTIONS"):
        event = load_event("delete_method_not_allowed.json")
        event["requestContext"]["http"]["method"] = method
        answers.append(_answer(get_handler, event, lambda_context))
    for username in ('a"b', "Alice"):
        answers.append(
            _answer(get_handler, for_user(load_event("get_greeting.json"), username, "/hello/a%22b"), lambda_context)
        )

    problems = [
        f"{problem} (after {method})"
        for method, status, headers, body in answers
        for problem in contract.problems(
            # Statuses the code maps for any route are checked where the document can hold them.
            method if contract.response(method, status) else _any_documenting(contract, status),
            status,
            headers,
            body,
        )
    ]
    assert problems == []
    # 401 is the JWT authorizer's, answered before any function runs (tests/tooling/local_api/test_jwt_over_http.py).
    assert {status for _, status, _, _ in answers} == contract.documented_statuses() - GATEWAY_ONLY


def _any_documenting(contract: OpenApiContract, status: int) -> str:
    for method in contract.operations():
        if contract.response(method, status):
            return method
    return "GET"


def _past(days: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=days)).isoformat()


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


# Concrete SPEC cases over HTTP; with the store faults of tests/hardening they reach every documented status.
CASES: list[tuple[str, str, bytes | None, str | None, int]] = [
    ("PUT", "/hello/Contract", json.dumps({"dateOfBirth": "1990-05-10"}).encode(), "application/json", 204),
    ("GET", "/hello/contract", None, None, 200),
    ("GET", "/hello/Nobodyatall", None, None, 404),
    ("GET", "/hello/bob1", None, None, 400),
    ("GET", "/hello/", None, None, 404),
    ("PUT", "/hello/", b'{"dateOfBirth": "1990-05-10"}', "application/json", 404),
    ("PUT", "/hello/Contract", json.dumps({"dateOfBirth": _today()}).encode(), "application/json", 400),
    ("PUT", "/hello/Contract", json.dumps({"dateOfBirth": _past(-1)}).encode(), "application/json", 400),
    ("PUT", "/hello/Contract", json.dumps({"dateOfBirth": _past(1)}).encode(), "application/json", 204),
    (
        "PUT",
        "/hello/Contract",
        json.dumps({"dateOfBirth": "1990-05-10", "timeZone": "Asia/Kathmandu"}).encode(),
        None,
        204,
    ),
    (
        "PUT",
        "/hello/Contract",
        json.dumps({"dateOfBirth": "1990-05-10", "timeZone": "europe/madrid"}).encode(),
        None,
        400,
    ),
    ("PUT", "/hello/Contract", json.dumps({"dateOfBirth": "1990-05-10", "timeZone": None}).encode(), None, 400),
    ("PUT", "/hello/b%C3%A9b", b'{"dateOfBirth": "1990-05-10"}', "application/json", 400),
    ("PUT", "/hello/Contract", b'{"dateOfBirth": "1990-05-10"}', "text/plain", 415),
    ("PUT", "/hello/Contract", json.dumps({"dateOfBirth": "1990-05-10", "pad": "x" * 4096}).encode(), None, 413),
    ("POST", "/hello/Contract", None, None, 405),
    ("DELETE", "/hello/Contract", None, None, 405),
    ("PATCH", "/hello/Contract", b"{}", "application/json", 405),
]


def test_spec_cases_over_http_answer_as_documented(local_api: LocalApiProcess, contract: OpenApiContract) -> None:
    seen: dict[str, set[int]] = {}
    problems: list[str] = []
    for method, path, body, content_type, expected in CASES:
        headers = {"Content-Type": content_type} if content_type else {}
        response = requests.request(
            method, local_api.url + path, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False
        )
        if response.status_code != expected:
            problems.append(f"{method} {path}: {response.status_code}, expected {expected}: {response.text}")
        problems.extend(contract.problems(method, response.status_code, dict(response.headers), response.content))
        seen.setdefault(method, set()).add(response.status_code)
    assert problems == []
    # Every documented status of each operation is reached here, except the store faults (tests/hardening)
    # and the JWT authorizer's answers, which need its parameters (tests/tooling/local_api/test_jwt_over_http.py).
    for method, operation in contract.operations().items():
        documented = {int(code) for code in operation["responses"]}
        assert documented - {500, 503} - WITH_JWT_AUTHORIZER_ONLY == seen[method], method
