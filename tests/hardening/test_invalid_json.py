"""`NaN`, `Infinity` and `-Infinity` are not JSON (RFC 8259): refused wherever a client's JSON is read.

Python's `json` accepts them unless told otherwise (its `parse_constant`
hook). The function's body parser answers 400, as for any malformed body;
the local API's JWT authorizer refuses a token whose header or payload holds
them, as it refuses any token that is not JSON (and so would API Gateway,
whose parser follows the RFC). The deployed code and the local API share no
module, so one table of documents is put to both parsers.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import math
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
import time_machine

from greeter import transport
from localapi import authorizer
from tests.service.test_handlers import TODAY, call, stored_item
from tests.support.authorizer import api_for, http
from tests.support.events import load_event, with_body
from tests.support.issuer import TestIssuer

NOT_JSON = [
    '{"dateOfBirth": "1990-05-10", "x": NaN}',
    '{"dateOfBirth": "1990-05-10", "x": Infinity}',
    '{"dateOfBirth": "1990-05-10", "x": -Infinity}',
    '{"dateOfBirth": "1990-05-10", "x": [1, {"y": NaN}]}',
    "NaN",
    "-Infinity",
]
JSON = ['{"dateOfBirth": "1990-05-10", "x": 1e400}', '{"x": -0.0, "y": "NaN", "z": "Infinity"}', "[1, 2.5e-3]"]
"""Valid JSON, however odd: a number beyond a double's range, strings that spell the constants."""


@pytest.fixture(autouse=True)
def frozen_today() -> Iterator[None]:
    with time_machine.travel(TODAY, tick=False):
        yield


def parsers() -> list[Callable[[str], Any]]:
    """The rule in both rooms: the function's (bodies) and the local API's (tokens, issuer documents)."""
    return [transport.parse_json, authorizer.parse_json]


@pytest.mark.parametrize("document", NOT_JSON)
def test_both_parsers_refuse_the_constants(document: str) -> None:
    for parse in parsers():
        with pytest.raises(ValueError, match="not JSON"):
            parse(document)


@pytest.mark.parametrize("document", JSON)
def test_both_parsers_accept_json(document: str) -> None:
    for parse in parsers():
        parse(document)


@pytest.mark.parametrize("body", NOT_JSON)
def test_a_body_with_the_constants_is_400_and_stores_nothing(
    put_handler: ModuleType, dynamodb: Any, lambda_context: Any, body: str
) -> None:
    status, headers, answer = call(put_handler, with_body(load_event("put_birthday.json"), body), lambda_context)
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert answer["message"] == "the request body must be a JSON object"
    assert stored_item(dynamodb, "alice") is None


def test_a_base64_body_with_the_constants_is_400_too(put_handler: ModuleType, lambda_context: Any) -> None:
    event = copy.deepcopy(load_event("put_birthday_base64.json"))
    assert event["isBase64Encoded"] is True
    event["body"] = base64.b64encode(NOT_JSON[0].encode()).decode()
    assert call(put_handler, event, lambda_context)[0] == 400


@pytest.mark.parametrize(
    ("where", "value"), [("payload", float("nan")), ("payload", float("inf")), ("header", float("-inf"))]
)
def test_a_signed_token_with_the_constants_is_refused(issuer: TestIssuer, where: str, value: float) -> None:
    """Signed by the issuer's own key, so only the JSON can be wrong (PyJWT writes NaN as json.dumps does)."""
    token = issuer.token("alice", x=value) if where == "payload" else issuer.token("alice", headers={"x": value})
    assert ("NaN" if math.isnan(value) else "Infinity") in _decoded(token)
    api, pools = api_for(issuer)
    response = asyncio.run(api.handle(http("PUT", f"Bearer {token}")))
    assert (response.status, response.body) == (401, b'{"message":"Unauthorized"}')
    assert pools["Put"].events == []
    assert asyncio.run(api.handle(http("PUT", f"Bearer {issuer.token('alice')}"))).status == 204  # the same, valid


def _decoded(token: str) -> str:
    header, payload, _ = token.split(".")
    return "".join(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode() for part in (header, payload))
