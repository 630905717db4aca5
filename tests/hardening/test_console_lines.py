"""Nothing a client sends can write a line of its own on the local API's console.

A token's header is JSON inside base64, so its `kid` can hold any character:
CR and LF that would start a forged line, ESC that would drive the terminal.
Whatever the local API prints, every character a client chose is escaped
(`\\r`, `\\n`, `\\x1b`, ...) so each line it prints is one line of its own.
"""

from __future__ import annotations

import json

import pytest
import requests

from tests.support.issuer import TestIssuer
from tests.support.local_api import LocalApiProcess

pytestmark = pytest.mark.integration
TIMEOUT = 10
FORGED = '2024-01-01 00:00:00,000 localapi.access 10.0.0.1 "PUT /hello/admin" 204 0B 1.0ms'


def put_with(api: LocalApiProcess, token: str) -> int:
    headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
    body = json.dumps({"dateOfBirth": "1990-05-10"})
    return requests.put(f"{api.url}/hello/alice", data=body, headers=headers, timeout=TIMEOUT).status_code


@pytest.mark.parametrize("breaker", ["\r\n", "\n", "\r", "\x85", "\u2028", "\x1b[2K\r"])
def test_a_kid_cannot_forge_a_console_line(guarded_api: LocalApiProcess, issuer: TestIssuer, breaker: str) -> None:
    marker = f"kid-{len(guarded_api.output)}-{ord(breaker[0])}"
    assert put_with(guarded_api, issuer.token("alice", headers={"kid": f"{marker}{breaker}{FORGED}"})) == 401
    line = guarded_api.wait_for_line(marker)  # the 401's console line names the kid
    assert FORGED in line  # on the same line, escaped
    assert not any(printed.startswith(FORGED) for printed in guarded_api.output)
    assert all(ch == "\n" or (ch.isprintable() and ch not in "\x85\u2028") for ch in "".join(guarded_api.output))


def test_a_long_kid_is_cut_on_the_console(guarded_api: LocalApiProcess, issuer: TestIssuer) -> None:
    marker = f"long-{len(guarded_api.output)}"
    assert put_with(guarded_api, issuer.token("alice", headers={"kid": marker + "k" * 6000})) == 401
    assert len(guarded_api.wait_for_line(marker)) < 1000


def test_a_client_cannot_name_its_own_address(guarded_api: LocalApiProcess) -> None:
    """The source address is the connection's, as API Gateway's `sourceIp` is: `X-Forwarded-For` changes nothing.

    Before, uvicorn took the header from any client on 127.0.0.1 (its trusted proxy by default),
    so a client printed any address it liked (ESC sequences escaped) on the access line and in the
    event's `requestContext.http.sourceIp`.
    """
    marker = "forwarded" + "".join(chr(ord("a") + int(digit)) for digit in str(len(guarded_api.output)))
    response = requests.get(
        f"{guarded_api.url}/hello/{marker}", headers={"x-forwarded-for": "203.0.113.9"}, timeout=TIMEOUT
    )
    assert response.status_code == 404  # no such user: the GET function ran
    line = guarded_api.wait_for_line(marker)
    assert "203.0.113.9" not in line
    assert " 127.0.0.1 " in line
