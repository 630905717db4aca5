"""The JWT authorizer over real HTTP: the local API started with JwtIssuer and JwtAudience, as `make run` starts it.

The issuer is the tests' own (tests/support/issuer.py): keys made here, its
discovery document and JWKS on 127.0.0.1. Every way a token can be wrong is a
401 `{"message":"Unauthorized"}` that the gateway answers before any function
runs, and stores nothing (GET, public by default, then finds no one). Another
user's valid token is the function's 403; the user's own token writes.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import time
from collections.abc import Iterator

import pytest
import requests

from tests.support.issuer import AUDIENCE, Key, TestIssuer, running_issuer
from tests.support.local_api import LocalApiProcess, run_local_api
from tests.support.openapi import OpenApiContract
from tests.support.paths import ROOT

pytestmark = pytest.mark.integration
TIMEOUT = 10
BODY = json.dumps({"dateOfBirth": "1990-05-10"})
_names = (f"Jwt{''.join(chr(ord('a') + int(d)) for d in str(n))}" for n in itertools.count(100))


def fresh_name() -> str:
    """A username no other test of the session writes (letters only)."""
    return next(_names)


@pytest.fixture(scope="module")
def issuer() -> Iterator[TestIssuer]:
    with running_issuer() as running:
        yield running


def start_api(issuer: TestIssuer, *extra: str) -> LocalApiProcess:
    overrides = " ".join([f"JwtIssuer={issuer.url}", f"JwtAudience=another-app,{AUDIENCE}", *extra])
    return LocalApiProcess(args=("--parameter-overrides", overrides, "--concurrency", "4", "--no-reload"))


@pytest.fixture(scope="module")
def api(issuer: TestIssuer) -> Iterator[LocalApiProcess]:
    process = start_api(issuer)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def protected_get_api(issuer: TestIssuer) -> Iterator[LocalApiProcess]:
    process = start_api(issuer, "JwtProtectGet=true")
    yield process
    process.stop()


def put(api: LocalApiProcess, username: str, authorization: str | None) -> requests.Response:
    headers = {"content-type": "application/json"}
    if authorization is not None:
        headers["authorization"] = authorization
    return requests.put(f"{api.url}/hello/{username}", data=BODY, headers=headers, timeout=TIMEOUT)


def get(api: LocalApiProcess, username: str, authorization: str | None = None) -> requests.Response:
    headers = {} if authorization is None else {"authorization": authorization}
    return requests.get(f"{api.url}/hello/{username}", headers=headers, timeout=TIMEOUT)


def bearer(token: str) -> str:
    return f"Bearer {token}"


def wrong_authorizations(issuer: TestIssuer, name: str) -> dict[str, str | None]:
    """Every way a request's token can be wrong, for a PUT to `name`."""
    now = int(time.time())
    stranger = Key.new(issuer.key.kid)  # the published kid, another key
    return {
        "missing": None,
        "empty": "",
        "scheme only": "Bearer",
        "expired": bearer(issuer.token(name, iat=now - 700, exp=now - 60)),
        "not yet valid (nbf)": bearer(issuer.token(name, nbf=now + 600)),
        "issued in the future (iat)": bearer(issuer.token(name, iat=now + 600)),
        "no exp": bearer(issuer.token(name, exp=None)),
        "wrong issuer": bearer(issuer.token(name, iss="https://issuer.example.com")),
        "issuer with a trailing slash": bearer(issuer.token(name, iss=issuer.url + "/")),
        "wrong audience": bearer(issuer.token(name, aud="someone-else")),
        "no audience at all": bearer(issuer.token(name, aud=None)),
        "wrong aud beats a right client_id": bearer(issuer.token(name, aud="someone-else", client_id=AUDIENCE)),
        "another key, the published kid": bearer(issuer.token(name, key=stranger)),
        "another key, an unknown kid": bearer(issuer.token(name, key=Key.new("unknown-kid"))),
        "no kid": bearer(issuer.token(name, headers={"kid": None})),
        "alg none": bearer(issuer.unsigned_token(name)),
        "HS256 keyed with the public key": bearer(issuer.hmac_token_keyed_with_the_public_key(name)),
        "tampered payload": bearer(issuer.tampered_token("mallory", name)),
        "not a JWT": bearer("not-a-jwt"),
        "three dots of garbage": bearer("a.b.c"),
        "another scheme (Basic)": "Basic " + "YWxpY2U6c2VjcmV0",
        "Bearer twice": f"Bearer Bearer {issuer.token(name)}",
    }


CASE_NAMES = [
    "missing",
    "empty",
    "scheme only",
    "expired",
    "not yet valid (nbf)",
    "issued in the future (iat)",
    "no exp",
    "wrong issuer",
    "issuer with a trailing slash",
    "wrong audience",
    "no audience at all",
    "wrong aud beats a right client_id",
    "another key, the published kid",
    "another key, an unknown kid",
    "no kid",
    "alg none",
    "HS256 keyed with the public key",
    "tampered payload",
    "not a JWT",
    "three dots of garbage",
    "another scheme (Basic)",
    "Bearer twice",
]


def test_every_case_is_named() -> None:
    with running_issuer() as issuer:
        assert sorted(wrong_authorizations(issuer, "x")) == sorted(CASE_NAMES)


def assert_unauthorized(response: requests.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.content == b'{"message":"Unauthorized"}'
    # As API Gateway: the challenge says what was wrong (its troubleshooting guide points there).
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer scope="" error="invalid_token" error_description="'), challenge
    assert len(challenge.split('"')) == 7, challenge  # the description cannot break out of its quotes
    assert_documented(response)


def assert_documented(response: requests.Response) -> None:
    """The answer is the one openapi.yaml documents for its method and status."""
    method = str(response.request.method)
    assert OpenApiContract().problems(method, response.status_code, dict(response.headers), response.content) == []


@pytest.mark.parametrize("case", CASE_NAMES)
def test_a_wrong_token_is_the_gateways_401_and_stores_nothing(
    api: LocalApiProcess, issuer: TestIssuer, case: str
) -> None:
    name = fresh_name()
    response = put(api, name, wrong_authorizations(issuer, name)[case])
    assert_unauthorized(response)
    assert "requestId" not in response.json()  # the gateway's answer, not the function's
    assert get(api, name).status_code == 404


def test_the_users_own_token_writes_and_get_shows_it(api: LocalApiProcess, issuer: TestIssuer) -> None:
    name = fresh_name()
    response = put(api, name, bearer(issuer.token(name)))
    assert response.status_code == 204, response.text
    greeting = get(api, name.upper())
    assert greeting.status_code == 200
    assert greeting.json()["message"].startswith(f"Hello, {name.upper()}! ")


def test_the_claim_is_compared_case_insensitively(api: LocalApiProcess, issuer: TestIssuer) -> None:
    name = fresh_name()
    assert put(api, name.lower(), bearer(issuer.token(name.upper()))).status_code == 204


def test_the_token_alone_without_bearer_is_accepted_as_api_gateway_does(
    api: LocalApiProcess, issuer: TestIssuer
) -> None:
    name = fresh_name()
    assert put(api, name, issuer.token(name)).status_code == 204
    assert put(api, name, f"bearer {issuer.token(name)}").status_code == 204


def test_a_cognito_access_token_is_judged_by_client_id(api: LocalApiProcess, issuer: TestIssuer) -> None:
    """Cognito access tokens carry no `aud`; API Gateway then checks `client_id` against the audience."""
    name = fresh_name()
    token = issuer.token(name, aud=None, client_id=AUDIENCE, token_use="access")  # noqa: S106 - a claim, not a password
    assert put(api, name, bearer(token)).status_code == 204
    wrong = issuer.token(name, aud=None, client_id="another-client")
    assert_unauthorized(put(api, name, bearer(wrong)))


def test_another_users_valid_token_is_the_functions_403_and_stores_nothing(
    api: LocalApiProcess, issuer: TestIssuer
) -> None:
    name = fresh_name()
    response = put(api, name, bearer(issuer.token("mallory")))
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/json"
    assert response.json()["message"] == f"the token is not {name}'s: a token may only act for the user it names"
    assert "requestId" in response.json()
    assert_documented(response)
    assert get(api, name).status_code == 404


def test_a_token_without_the_username_claim_is_403(api: LocalApiProcess, issuer: TestIssuer) -> None:
    name = fresh_name()
    assert put(api, name, bearer(issuer.token(name, username=None))).status_code == 403


def test_get_is_public_by_default(api: LocalApiProcess, issuer: TestIssuer) -> None:
    name = fresh_name()
    put(api, name, bearer(issuer.token(name)))
    assert get(api, name).status_code == 200
    assert get(api, name, "Basic " + "YWxpY2U6c2VjcmV0").status_code == 200  # not looked at


def test_other_methods_stay_405_without_a_token(api: LocalApiProcess) -> None:
    response = requests.delete(f"{api.url}/hello/alice", timeout=TIMEOUT)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, PUT"


def test_the_banner_says_which_routes_need_a_token(api: LocalApiProcess, issuer: TestIssuer) -> None:
    line = api.wait_for_line("JWT authorizer:")
    assert f"PUT /hello/{{username}}: a token of {issuer.url}" in line
    assert "GET /hello" not in line


def test_protected_get_needs_the_users_own_token(protected_get_api: LocalApiProcess, issuer: TestIssuer) -> None:
    name = fresh_name()
    assert put(protected_get_api, name, bearer(issuer.token(name))).status_code == 204
    assert_unauthorized(get(protected_get_api, name))
    assert_unauthorized(get(protected_get_api, name, bearer(issuer.token(name, aud="someone-else"))))
    forbidden = get(protected_get_api, name, bearer(issuer.token("mallory")))
    assert forbidden.status_code == 403
    assert_documented(forbidden)
    greeting = get(protected_get_api, name, bearer(issuer.token(name)))
    assert greeting.status_code == 200
    assert greeting.json()["message"].startswith(f"Hello, {name}! ")


def test_keys_are_cached_and_fetched_again_for_an_unknown_kid() -> None:
    """One JWKS fetch serves many requests; a rotated-in key's kid is fetched once, then cached too.

    An API and an issuer of its own: no other test's unknown kid has just started the refetch cooldown
    (tests/hardening/test_jwks_limits.py tests the cooldown).
    """
    with running_issuer() as issuer:
        api = start_api(issuer)
        try:
            put(api, fresh_name(), bearer(issuer.token("warmup")))  # the keys are cached now
            before = issuer.jwks_fetches
            for _ in range(3):
                name = fresh_name()
                assert put(api, name, bearer(issuer.token(name))).status_code == 204
            assert issuer.jwks_fetches == before

            rotated = Key.new(f"key-{fresh_name()}")
            issuer.published.append(rotated)
            for _ in range(3):
                name = fresh_name()
                assert put(api, name, bearer(issuer.token(name, key=rotated))).status_code == 204
            assert issuer.jwks_fetches == before + 1
        finally:
            api.stop()


def test_an_unreachable_issuer_is_401_not_a_500(issuer: TestIssuer) -> None:
    """The issuer's keys cannot be read: API Gateway refuses the token; so does the local API, and it says why."""
    process = LocalApiProcess(
        args=(
            "--parameter-overrides",
            f"JwtIssuer=http://127.0.0.1:9/nothing-here JwtAudience={AUDIENCE}",
            "--concurrency",
            "1",
            "--no-reload",
        )
    )
    try:
        name = fresh_name()
        assert_unauthorized(put(process, name, bearer(issuer.token(name))))
        process.wait_for_line("cannot read http://127.0.0.1:9/nothing-here/.well-known/openid-configuration")
    finally:
        process.stop()


def test_make_run_jwt_dev_and_make_token_as_the_readme_shows() -> None:
    """`make run JWT=dev` serves a development issuer; `make token USER=...` mints what it accepts."""
    process = LocalApiProcess.through_make("JWT=dev", "DEV_ISSUER_PORT=0", "CONCURRENCY=2")
    try:
        line = process.wait_for_line("Development issuer http://127.0.0.1:")
        port = line.split("DEV_ISSUER_PORT=")[1].split()[0]
        assert ": a token of http://127.0.0.1:" in process.wait_for_line("JWT authorizer: PUT /hello/{username}")

        def token(user: str) -> str:
            done = subprocess.run(
                ["make", "-s", "token", f"USER={user}", f"DEV_ISSUER_PORT={port}"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            return done.stdout.strip()

        name = fresh_name()
        assert put(process, name, bearer(token(name))).status_code == 204
        assert put(process, name, bearer(token("mallory"))).status_code == 403
        assert_unauthorized(put(process, name, None))
        assert get(process, name).status_code == 200
    finally:
        process.stop()


def test_make_token_needs_a_user_from_the_command_line() -> None:
    """The shell's $USER is not whose token is wanted."""
    done = subprocess.run(
        ["make", "-s", "token"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "USER": "someone"},
    )
    assert done.returncode != 0
    assert "make token USER=alice" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--parameter-overrides", "JwtIssuer=https://issuer.example.com"),
            "rule JwtIssuerAndAudienceTogether: JwtIssuer and JwtAudience are set together",
        ),
        (
            ("--parameter-overrides", "JwtProtectGet=true"),
            "rule JwtProtectGetNeedsTheAuthorizer",
        ),
        (
            ("--dev-issuer", "--dev-issuer-port", "0", "--parameter-overrides", "JwtAudience=mine"),
            "JWT=dev (--dev-issuer) sets JwtAudience itself; leave it out of PARAMETER_OVERRIDES",
        ),
    ],
)
def test_half_a_configuration_stops_the_local_api_at_once(args: tuple[str, ...], message: str) -> None:
    done = run_local_api("--port", "0", *args)
    assert done.returncode == 2
    assert message in done.stderr
