"""Nothing a client sends can write a line of its own on the local API's console.

A token's header is JSON inside base64, so its `kid` can hold any character:
CR and LF that would start a forged line, ESC that would drive the terminal.
Whatever the local API prints, every character a client chose is escaped
(`\\r`, `\\n`, `\\x1b`, ...) so each line it prints is one line of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from tests.support.issuer import AUDIENCE, TestIssuer, running_issuer
from tests.support.local_api import LocalApiProcess

pytestmark = pytest.mark.integration
TIMEOUT = 10
FORGED = '2024-01-01 00:00:00,000 localapi.access 10.0.0.1 "PUT /hello/admin" 204 0B 1.0ms'


@pytest.fixture(scope="module")
def issuer() -> Iterator[TestIssuer]:
    with running_issuer() as running:
        yield running


@pytest.fixture(scope="module")
def api(issuer: TestIssuer) -> Iterator[LocalApiProcess]:
    overrides = f"JwtIssuer={issuer.url} JwtAudience={AUDIENCE}"
    process = LocalApiProcess(args=("--parameter-overrides", overrides, "--concurrency", "1", "--no-reload"))
    yield process
    process.stop()


@pytest.mark.parametrize("breaker", ["\r\n", "\n", "\r", "\x85", "\u2028", "\x1b[2K\r"])
def test_a_kid_cannot_forge_a_console_line(api: LocalApiProcess, issuer: TestIssuer, breaker: str) -> None:
    marker = f"kid-{len(api.output)}-{ord(breaker[0])}"
    token = issuer.token("alice", headers={"kid": f"{marker}{breaker}{FORGED}"})
    response = requests.put(
        f"{api.url}/hello/alice",
        data=json.dumps({"dateOfBirth": "1990-05-10"}),
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 401
    line = api.wait_for_line(marker)  # the 401's console line names the kid
    assert FORGED in line  # on the same line, escaped
    assert not any(printed.startswith(FORGED) for printed in api.output)
    assert all(ch == "\n" or (ch.isprintable() and ch not in "\x85\u2028") for ch in "".join(api.output))


def test_a_long_kid_is_cut_on_the_console(api: LocalApiProcess, issuer: TestIssuer) -> None:
    marker = f"long-{len(api.output)}"
    token = issuer.token("alice", headers={"kid": marker + "k" * 6000})
    response = requests.put(
        f"{api.url}/hello/alice",
        data=json.dumps({"dateOfBirth": "1990-05-10"}),
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 401
    assert len(api.wait_for_line(marker)) < 1000
