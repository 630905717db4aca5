"""The end-to-end suite's view of its target: where it answers, what it has switched on, what may be written.

The suite is a client of the deployed API and nothing else: it reads SPEC.md
(and the decisions of docs/api.md), never the code, and runs in its own venv
with only the repository root on its path (`make e2e`). What it is told:

| variable (set by `make e2e`) | meaning |
| --- | --- |
| `E2E_BASE_URL` | the API's base URL; or `E2E_STACK` (and `E2E_REGION`): the stack's `ApiUrl` output |
| `E2E_READ_ONLY=1` | send nothing that can store a record: no PUT a right API would accept |
| `E2E_CORS_ORIGINS` | the origins CORS allows (comma-separated; empty: CORS is off) |
| `E2E_JWT=on` (or `dev`), `E2E_PROTECT_GET=1` | the JWT authorizer guards PUT (and GET) |
| `E2E_TOKENS` | a JSON file of username -> token, as `make loadtest` takes it |
| `E2E_TARGET` | `api-gateway` (default), `local-api` or `sam-local`: whose known deviations apply |

With a stack, CORS and the authorizer are read from its parameters
(`CorsAllowedOrigins`, `JwtIssuer`, `JwtAudience`, `JwtProtectGet`) and its
custom domain from its `CustomDomainUrl` output; a variable given to make wins.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from loadtest.oracle import expected_messages

OWNED_USERS = {
    "plain": "EndToEndPlain",
    "birthday": "EndToEndBirthday",
    "leap": "EndToEndLeap",
    "zoned": "EndToEndZoned",
    "replaced": "EndToEndReplaced",
    "typed": "EndToEndTyped",
}
"""The only users the suite writes (without a token file): the same names on every run, each PUT replacing the
last, so a stage's table holds at most these six records from it. docs/deployment.md lists them."""
REFUSED_USER = "EndToEndRefused"
"""Every PUT the API must refuse names this user; a right API never stores it."""
UNKNOWN_USER = "EndToEndNobody"
"""Never written by anyone: its GET is the unknown user's 404."""
IMPOSSIBLE_DATE = "2001-02-29"
"""Not a calendar date: a refused PUT carries it wherever it can, so even a broken API stores nothing."""
TARGETS = ("api-gateway", "local-api", "sam-local")
TIMEOUT_SECONDS = 60
"""A bound for a hung request only: a cold start in a container takes seconds, not a minute."""
CONNECT_TIMEOUT_SECONDS = 10
"""A bound for a connection nobody accepts (a wrong host, a firewall that drops)."""
CLOCK_SKEW = timedelta(seconds=60)
"""How far the suite's clock and the API's may disagree; "today" is any date within it of the request."""


class UnreachableError(AssertionError):
    """The target did not answer at all: this case fails, and the run stops there (pytest_runtest_makereport)."""


class ConfigurationError(Exception):
    """The suite was started without a target it can use; the text says what to give it."""


@dataclass(frozen=True)
class Target:
    """What the suite tests, and what the target has switched on."""

    base_url: str
    kind: str = "api-gateway"
    read_only: bool = False
    cors_origins: tuple[str, ...] = ()
    jwt: bool = False
    protect_get: bool = False
    tokens: tuple[tuple[str, str], ...] = ()
    custom_domain_url: str = ""

    def describe(self) -> str:
        features = [
            "read-only" if self.read_only else "writes its own users",
            f"CORS for {','.join(self.cors_origins)}" if self.cors_origins else "no CORS",
            ("JWT authorizer on PUT and GET" if self.protect_get else "JWT authorizer on PUT")
            if self.jwt
            else "no JWT",
            f"{len(self.tokens)} tokens" if self.tokens else "no tokens",
        ]
        return f"{self.base_url} ({self.kind}): " + ", ".join(features)


FLAG_ON = {"1", "true", "yes", "on", "dev"}
FLAG_OFF = {"", "0", "false", "no", "off"}


def _flag(name: str, value: str) -> bool:
    """A switch; any other value is refused: a mistyped READ_ONLY must not mean "write"."""
    word = value.strip().lower()
    if word not in FLAG_ON | FLAG_OFF:
        raise ConfigurationError(f"{name}={value}: expected 1, true, yes or on (or 0, false, no, off)")
    return word in FLAG_ON


def _stack(name: str, region: str) -> tuple[dict[str, str], dict[str, str]]:
    """The stack's outputs and parameters, read with the caller's AWS credentials."""
    import boto3  # only a stack target needs it
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client = boto3.client("cloudformation", region_name=region or None)
        stack = client.describe_stacks(StackName=name)["Stacks"][0]
    except (BotoCoreError, ClientError) as error:
        raise ConfigurationError(f"cannot read stack {name}: {error}") from None
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}
    parameters = {item["ParameterKey"]: item.get("ParameterValue", "") for item in stack.get("Parameters", [])}
    return outputs, parameters


def _tokens(path: str) -> tuple[tuple[str, str], ...]:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigurationError(f"TOKENS={path}: cannot read a JSON object of username -> token ({error})") from None
    if not isinstance(document, dict) or not all(isinstance(value, str) for value in document.values()):
        raise ConfigurationError(f"{path}: expected a JSON object of username -> token")
    return tuple(sorted(document.items()))


def target_from(environment: dict[str, str]) -> Target:
    """The target the variables describe; a stack's parameters fill in what the variables leave empty."""
    stack = environment.get("E2E_STACK", "")
    base_url = environment.get("E2E_BASE_URL", "")
    cors, jwt, protect_get, custom_domain = "", "", "", ""
    if stack:
        outputs, parameters = _stack(stack, environment.get("E2E_REGION", ""))
        base_url = base_url or outputs.get("ApiUrl", "")
        if not base_url:
            raise ConfigurationError(f"stack {stack} has no ApiUrl output: is it a stack of template.yaml?")
        custom_domain = outputs.get("CustomDomainUrl", "")
        cors = parameters.get("CorsAllowedOrigins", "")
        jwt = "on" if parameters.get("JwtIssuer") and parameters.get("JwtAudience") else ""
        protect_get = parameters.get("JwtProtectGet", "") if jwt else ""
    if not base_url:
        raise ConfigurationError("no target: make e2e HOST=<base url> or STACK=<stack name>")
    kind = environment.get("E2E_TARGET") or "api-gateway"
    if kind not in TARGETS:
        raise ConfigurationError(f"E2E_TARGET={kind}: one of {', '.join(TARGETS)}")
    origins = environment.get("E2E_CORS_ORIGINS") or cors
    tokens = environment.get("E2E_TOKENS", "")
    return Target(
        base_url=base_url.rstrip("/"),
        kind=kind,
        read_only=_flag("READ_ONLY", environment.get("E2E_READ_ONLY", "")),
        cors_origins=tuple(origin for origin in origins.split(",") if origin),
        jwt=_flag("JWT", environment.get("E2E_JWT") or jwt),
        protect_get=_flag("PROTECT_GET", environment.get("E2E_PROTECT_GET") or protect_get),
        tokens=_tokens(tokens) if tokens else (),
        custom_domain_url=custom_domain.rstrip("/"),
    )


def pytest_configure(config: pytest.Config) -> None:
    try:
        config.stash[TARGET_KEY] = target_from(dict(os.environ))
    except ConfigurationError as error:
        raise pytest.UsageError(str(error)) from None


TARGET_KEY = pytest.StashKey[Target]()


def pytest_report_header(config: pytest.Config) -> str:
    return "end-to-end target: " + config.stash[TARGET_KEY].describe()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Known deviations of the target become strict xfails (a target that stops deviating fails them),
    and writes are skipped when the target is read-only."""
    target = config.stash[TARGET_KEY]
    for item in items:
        for marker in item.iter_markers("deviates"):
            if marker.args[0] == target.kind:
                item.add_marker(pytest.mark.xfail(reason=f"{target.kind} deviates: {marker.args[1]}", strict=True))
        if target.read_only and item.get_closest_marker("writes"):
            item.add_marker(pytest.mark.skip(reason="READ_ONLY=1: this case stores a record"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Every later case would wait for the same silence and fail the same way: one failure, then the run ends."""
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(UnreachableError):
        item.session.shouldstop = f"stopped: {call.excinfo.value}"
    return report


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Target:
    return pytestconfig.stash[TARGET_KEY]


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, with what the suite says about it when a case fails."""

    method: str
    path: str
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def describe(self) -> str:
        interesting = {
            name: value
            for name, value in self.headers.items()
            if name in {"content-type", "allow", "location", "retry-after"} or name.startswith("access-control-")
        }
        return f"{self.method} {self.path} answered {self.status} {interesting} {self.body[:300]!r}"


class Api:
    """The target over HTTP: every request is sent as given, redirects are not followed."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()

    def send(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        content_type: str | None = "application/json",
        headers: dict[str, str] | None = None,
    ) -> Answer:
        data = body if body is None or isinstance(body, str | bytes) else json.dumps(body)
        sent = dict(headers or {})
        if content_type is not None and data is not None:
            sent["Content-Type"] = content_type
        try:
            response = self.session.request(
                method,
                self.base_url + path,
                data=data,
                headers=sent,
                timeout=(CONNECT_TIMEOUT_SECONDS, TIMEOUT_SECONDS),
                allow_redirects=False,
            )
        except (requests.ConnectionError, requests.Timeout) as error:
            raise UnreachableError(f"{method} {self.base_url}{path}: the target does not answer: {error}") from None
        return Answer(
            method, path, response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.content
        )


@pytest.fixture(scope="session")
def api(target: Target) -> Api:
    return Api(target.base_url)


class Writer:
    """Who the suite writes as: its own users, or, with the authorizer on, the token file's users with their tokens."""

    def __init__(self, target: Target) -> None:
        self.target = target

    def user(self, role: str) -> str:
        if not self.target.jwt:
            return OWNED_USERS[role]
        if not self.target.tokens:
            pytest.skip("the JWT authorizer is on and no TOKENS file was given: the suite cannot write")
        names = [name for name, _ in self.target.tokens]
        return names[list(OWNED_USERS).index(role) % len(names)]

    def other_user(self) -> str:
        """A token file user that is not `user("plain")` (for a token used on someone else's name)."""
        names = [name for name, _ in self.target.tokens]
        if len(names) < 2:
            pytest.skip("a TOKENS file of at least two users is needed to use one user's token for another")
        return names[1] if names[0] == self.user("plain") else names[0]

    def headers(self, username: str) -> dict[str, str]:
        """The Authorization header a write (or a guarded GET) for `username` needs, if any."""
        if not self.target.jwt:
            return {}
        token = {name.lower(): token for name, token in self.target.tokens}.get(username.lower())
        if token is None:
            pytest.skip(f"no token for {username} in the TOKENS file")
        return {"Authorization": f"Bearer {token}"}

    def unknown_user(self) -> str:
        """A user nobody stored. With GET guarded, one the token file holds beyond the users the suite writes."""
        if not (self.target.jwt and self.target.protect_get):
            return UNKNOWN_USER
        names = [name for name, _ in self.target.tokens]
        if len(names) <= len(OWNED_USERS):
            pytest.skip(
                f"GET is guarded: a TOKENS file of more than {len(OWNED_USERS)} users is needed for an unknown one"
            )
        return names[len(OWNED_USERS)]

    def read_headers(self, username: str) -> dict[str, str]:
        """The Authorization header a GET of `username` needs: only when the authorizer guards GET."""
        return self.headers(username) if self.target.protect_get else {}

    def refused_user(self) -> str:
        """The user a refused PUT names: with the authorizer on, one the token file holds, so the function runs."""
        return self.user("plain") if self.target.jwt else REFUSED_USER


@pytest.fixture(scope="session")
def writer(target: Target) -> Writer:
    return Writer(target)


def today_in(zone: str, instant: datetime) -> date:
    return instant.astimezone(ZoneInfo(zone)).date()


class Clock:
    """ "Today" as the API sees it, for the span of one request, give or take the clocks' skew."""

    def __init__(self, zone: str = "UTC") -> None:
        self.zone = zone
        self.started = datetime.now(UTC)

    def todays(self) -> set[date]:
        ended = datetime.now(UTC)
        return {today_in(self.zone, self.started - CLOCK_SKEW), today_in(self.zone, ended + CLOCK_SKEW)}


def expect(answer: Answer, status: int, case: str) -> None:
    assert answer.status == status, f"{case}: expected {status}, got: {answer.describe()}"


def expect_json_error(answer: Answer, status: int, case: str, *, names: str = "", from_function: bool = True) -> None:
    """SPEC.md: every error is JSON with a message for a person; the function's also carry the request id."""
    expect(answer, status, case)
    assert answer.headers.get("content-type", "").split(";")[0] == "application/json", f"{case}: {answer.describe()}"
    try:
        body = answer.json()
    except ValueError:
        raise AssertionError(f"{case}: the body is not JSON: {answer.describe()}") from None
    assert isinstance(body, dict), f"{case}: {answer.describe()}"
    assert isinstance(body.get("message"), str), f"{case}: no message: {answer.describe()}"
    assert body["message"], f"{case}: an empty message: {answer.describe()}"
    if from_function:
        assert isinstance(body.get("requestId"), str), f"{case}: no requestId: {answer.describe()}"
        assert body["requestId"], f"{case}: an empty requestId: {answer.describe()}"
    if names:
        assert names in body["message"], f"{case}: the message should name {names}: {answer.describe()}"


def expect_greeting(answer: Answer, name: str, born: date, clock: Clock, case: str) -> None:
    """200, JSON, exactly {"message": <the greeting the oracle gives for today in the user's zone>}."""
    expect(answer, 200, case)
    assert answer.headers.get("content-type", "").split(";")[0] == "application/json", f"{case}: {answer.describe()}"
    expected = expected_messages(name, born, clock.todays())
    assert answer.json() in [{"message": message} for message in expected], (
        f"{case}: expected one of {sorted(expected)}, got: {answer.describe()}"
    )
