"""A username claim that is not a JSON string names no one: no token writes a user its issuer never named.

API Gateway passes the function each verified claim as a string and does not
document how it renders one that is not (`true`, `null`, a number); an
emulator that measured it reports `true` as "true" and null left out. So the
function cannot tell the JSON `true` from the string "true", and it refuses
the three renderings that are usernames (`true`, `false`, `null`) as names no
issuer meant. The local API never turns a missing or null claim into text
(Python would say "None", a username), and a number too large for a double
becomes "+Inf", which is no username, never "inf", which is one.
"""

from __future__ import annotations

import json

import pytest
import requests

from greeter.domain import NotThatUserError, check_token_user
from localapi.authorizer import claim_text
from tests.support.issuer import TestIssuer
from tests.support.local_api import LocalApiProcess

pytestmark = pytest.mark.integration
TIMEOUT = 10
BODY = json.dumps({"dateOfBirth": "1990-05-10"})


@pytest.mark.parametrize("rendering", ["true", "false", "null"])
def test_the_renderings_of_json_literals_name_no_one(rendering: str) -> None:
    with pytest.raises(NotThatUserError):
        check_token_user(rendering, rendering)


@pytest.mark.parametrize(("path", "claimed"), [("True", "True"), ("nullify", "nullify"), ("Falsey", "falsey")])
def test_usernames_that_merely_look_like_literals_still_match(path: str, claimed: str) -> None:
    check_token_user(path, claimed)


@pytest.mark.parametrize(
    ("value", "text"),
    [(True, "true"), (False, "false"), (0, "0"), (1.5, "1.5"), (float("inf"), "+Inf"), (float("-inf"), "-Inf")],
)
def test_the_local_api_renders_non_strings_as_no_username(value: object, text: str) -> None:
    assert claim_text(value) == text


@pytest.mark.parametrize(
    ("claim", "path"),
    [("true", "true"), ("false", "false"), ("null", "None"), ("null", "null"), ("1e400", "inf"), ("1e400", "Infinity")],
)
def test_a_signed_token_whose_username_claim_is_not_a_string_writes_no_one(
    guarded_api: LocalApiProcess, issuer: TestIssuer, claim: str, path: str
) -> None:
    """Signed by the issuer, so the gateway lets it through; the function then answers 403 and stores nothing.

    `claim` is the claim's JSON text (1e400 is a valid JSON number that overflows a double).
    """
    token = issuer.token_with_raw_claim(path, "username", claim)
    response = requests.put(
        f"{guarded_api.url}/hello/{path}",
        data=BODY,
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 403, response.text
    assert requests.get(f"{guarded_api.url}/hello/{path}", timeout=TIMEOUT).status_code == 404


def test_a_signed_token_with_a_deeply_nested_claim_is_the_gateways_401(
    guarded_api: LocalApiProcess, issuer: TestIssuer
) -> None:
    """Claims are rendered as text for the event; a list 3,000 deep (under the 10,240-byte head limit) cannot be.

    Before, rendering it raised RecursionError out of the authorizer: a plain-text 500 and a
    traceback of thousands of lines on the console. How API Gateway renders such a claim is not
    documented; the local API refuses the token as the gateway refuses one it cannot read.
    """
    token = issuer.token_with_raw_claim("alice", "groups", "[" * 3000 + "]" * 3000)
    response = requests.put(
        f"{guarded_api.url}/hello/alice",
        data=BODY,
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})
