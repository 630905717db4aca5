"""Values the service's rules define that other files must repeat, each compared with its source.

JSON, YAML and ASL cannot import Python, and the load test and the end-to-end
suite must not import the service. So each such value is written again, with
a comment at the copy naming its source and this test, which fails as soon as
one copy says something its source does not.

- `greeter.domain.greeting`: statemachines/smoke_test.asl.json (CheckGreeting),
  openapi.yaml (Greeting), loadtest/oracle.py
- `greeter.domain.USERNAME`: openapi.yaml (Username, Greeting), loadtest/oracle.py
- `greeter.domain.SMOKE_TEST_KEY_PREFIX`: template.yaml's SmokeTest mapping (the smoke
  test's key and its IAM condition both read it there)
- `greeter.transport.ALLOWED_METHODS`: openapi.yaml (Allow), template.yaml
  (CorsConfiguration AllowMethods)
- `greeter.transport.MAX_BODY_BYTES`: openapi.yaml (PUT, 413)
"""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from typing import Any

import pytest
import yaml

from greeter import domain, transport
from loadtest import oracle
from localapi.template import SamTemplate
from tests.support.paths import ROOT

DAYS = [0, 1, 2, 9, 10, 99, 100, 364, 365]
NAMES = ["A", "alice", "GreeterSmokeTest", "x" * 64]


def openapi() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    return document


def smoke_test_greeting_choices(username: str) -> list[dict[str, Any]]:
    """The comparisons of the smoke test's CheckGreeting state, with the smoke-test user substituted."""
    definition = json.loads(
        (ROOT / "statemachines/smoke_test.asl.json").read_text().replace("${SmokeTestUsername}", username)
    )
    rule = definition["States"]["CheckGreeting"]["Choices"][0]["And"]
    return next(condition["Or"] for condition in rule if "Or" in condition)


def asl_accepts(choices: list[dict[str, Any]], message: str) -> bool:
    """Step Functions' StringEquals and StringMatches (`*` matches any run of characters)."""
    for choice in choices:
        if "StringEquals" in choice and message == choice["StringEquals"]:
            return True
        if "StringMatches" in choice and fnmatchcase(message, choice["StringMatches"].replace("[", "[[]")):
            return True
    return False


@pytest.mark.parametrize("days", DAYS)
def test_the_smoke_test_accepts_every_greeting_the_domain_gives(days: int) -> None:
    user = "GreeterSmokeTest"
    assert asl_accepts(smoke_test_greeting_choices(user), domain.greeting(user, days))
    assert not asl_accepts(smoke_test_greeting_choices(user), domain.greeting("Someoneelse", days))


@pytest.mark.parametrize("days", DAYS)
def test_openapi_and_the_oracle_say_the_greeting_the_domain_gives(days: int) -> None:
    greeting = openapi()["components"]["schemas"]["Greeting"]["properties"]["message"]
    for name in NAMES:
        message = domain.greeting(name, days)
        assert re.search(greeting["pattern"], message), message
        assert oracle.greeting(name, days) == message
        assert oracle.GREETING.fullmatch(message)
    assert greeting["examples"] == [domain.greeting("Alice", 72), domain.greeting("Alice", 0)]


def test_the_username_rule_is_written_the_same_everywhere() -> None:
    username = openapi()["components"]["parameters"]["Username"]["schema"]
    assert username["pattern"] == f"^{domain.USERNAME.pattern}$"
    assert oracle.USERNAME.pattern == domain.USERNAME.pattern
    greeting = openapi()["components"]["schemas"]["Greeting"]["properties"]["message"]["pattern"]
    assert greeting.startswith(f"^Hello, {domain.USERNAME.pattern}! ")
    assert f"(?P<name>{domain.USERNAME.pattern})" in oracle.GREETING.pattern


def test_the_templates_smoke_test_key_prefix_is_the_domains() -> None:
    mapping = SamTemplate().document["Mappings"]["SmokeTest"]
    assert mapping["Run"]["KeyPrefix"] == domain.SMOKE_TEST_KEY_PREFIX
    assert domain.USERNAME.fullmatch(mapping["User"]["Name"])


def test_the_allowed_methods_are_written_the_same_everywhere() -> None:
    assert openapi()["components"]["headers"]["Allow"]["schema"]["const"] == transport.ALLOWED_METHODS
    cors = SamTemplate(parameter_overrides={"CorsAllowedOrigins": "https://app.example.com"}).http_api_cors()
    assert cors is not None
    assert ", ".join(cors["AllowMethods"]) == transport.ALLOWED_METHODS


def test_the_body_limit_is_written_the_same_everywhere() -> None:
    put = openapi()["paths"]["/hello/{username}"]["put"]
    assert f"at most {transport.MAX_BODY_BYTES} bytes" in put["description"]
    assert put["responses"]["413"]["description"] == f"The body is over {transport.MAX_BODY_BYTES} bytes."
