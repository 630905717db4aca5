"""The optional JWT authorizer, as CloudFormation deploys the translated template with and without it.

samtranslator merges each function event's route into the HTTP API's
DefinitionBody; the body's `!If`s then decide, per deployment, which
operations name the authorizer. These tests translate template.yaml, resolve
the body with the parameters on and off as CloudFormation would, and look at
what API Gateway imports: which methods carry `security`, and the
authorizer's issuer, audience and token source.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from localapi.template import SamTemplate, TemplateError
from tests.support import sam
from tests.support.cloudformation import Deployment

PATH = "/hello/{username}"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEfGhI"
AUDIENCE = "1example23456789,another0client"
ON = {"JwtIssuer": ISSUER, "JwtAudience": AUDIENCE}
JWT_SCHEME = "GreeterJwt"


def deployed_body(parameters: dict[str, str]) -> dict[str, Any]:
    """The OpenAPI body API Gateway imports for these parameter values."""
    template = sam.translate(parameters)
    body: dict[str, Any] = Deployment(template, parameters).resolve(template["Resources"]["GreeterApi"]["Properties"])[
        "Body"
    ]
    return body


def guarded_methods(body: dict[str, Any]) -> set[str]:
    return {method for method, operation in body["paths"][PATH].items() if "security" in operation}


def without_security(body: dict[str, Any]) -> dict[str, Any]:
    """The body less what the authorizer adds: every route and integration as they are without it."""
    stripped = json.loads(json.dumps(body))
    stripped.pop("components", None)
    for operation in stripped["paths"][PATH].values():
        operation.pop("security", None)
    return stripped


def test_by_default_no_route_has_an_authorizer() -> None:
    body = deployed_body({})
    assert guarded_methods(body) == set()
    assert "components" not in body
    assert sorted(body["paths"][PATH]) == sorted(METHODS)


def test_with_issuer_and_audience_only_put_is_guarded() -> None:
    body = deployed_body(ON)
    assert guarded_methods(body) == {"put"}
    assert body["paths"][PATH]["put"]["security"] == [{JWT_SCHEME: []}]


def test_protecting_get_guards_get_and_put_and_no_other_method() -> None:
    body = deployed_body({**ON, "JwtProtectGet": "true"})
    assert guarded_methods(body) == {"put", "get"}
    assert body["paths"][PATH]["get"]["security"] == [{JWT_SCHEME: []}]


def test_protect_get_alone_guards_nothing() -> None:
    """Without issuer and audience there is no authorizer to guard GET with (a Rule refuses the stack too)."""
    assert guarded_methods(deployed_body({"JwtProtectGet": "true"})) == set()


@pytest.mark.parametrize("half", [{"JwtIssuer": ISSUER}, {"JwtAudience": AUDIENCE}])
def test_half_a_configuration_attaches_no_authorizer(half: dict[str, str]) -> None:
    assert guarded_methods(deployed_body(half)) == set()


def test_the_authorizer_is_api_gateways_jwt_authorizer_on_the_authorization_header() -> None:
    schemes = deployed_body(ON)["components"]["securitySchemes"]
    assert schemes == {
        JWT_SCHEME: {
            "type": "oauth2",
            "x-amazon-apigateway-authorizer": {
                "type": "jwt",
                "identitySource": "$request.header.Authorization",
                "jwtConfiguration": {"issuer": ISSUER, "audience": ["1example23456789", "another0client"]},
            },
        }
    }


@pytest.mark.parametrize("parameters", [ON, {**ON, "JwtProtectGet": "true"}])
def test_routes_and_integrations_are_the_same_with_and_without_the_authorizer(parameters: dict[str, str]) -> None:
    """The authorizer changes only `security`: every method keeps its function, POST..OPTIONS still answer 405."""
    assert without_security(deployed_body(parameters)) == without_security(deployed_body({}))


def rule_holds(rule: str, parameters: dict[str, str]) -> bool:
    template = sam.sam_template()
    deployment = Deployment(template, parameters)
    return all(deployment.resolve(assertion["Assert"]) for assertion in template["Rules"][rule]["Assertions"])


@pytest.mark.parametrize(
    ("parameters", "holds"),
    [({}, True), (ON, True), ({"JwtIssuer": ISSUER}, False), ({"JwtAudience": AUDIENCE}, False)],
)
def test_cloudformation_refuses_an_issuer_without_an_audience_and_the_reverse(
    parameters: dict[str, str], holds: bool
) -> None:
    assert rule_holds("JwtIssuerAndAudienceTogether", parameters) is holds


@pytest.mark.parametrize(
    ("parameters", "holds"),
    [({"JwtProtectGet": "true"}, False), ({**ON, "JwtProtectGet": "true"}, True), ({}, True)],
)
def test_cloudformation_refuses_protecting_get_without_the_authorizer(parameters: dict[str, str], holds: bool) -> None:
    assert rule_holds("JwtProtectGetNeedsTheAuthorizer", parameters) is holds


@pytest.mark.parametrize("function", ["PutBirthdayFunction", "GetGreetingFunction"])
def test_the_functions_know_the_username_claim(function: str) -> None:
    template = sam.translate({**ON, "JwtUsernameClaim": "cognito:username"})
    variables = template["Resources"][function]["Properties"]["Environment"]["Variables"]
    assert Deployment(template, ON).resolve(variables["JWT_USERNAME_CLAIM"]) == "username"
    resolved = Deployment(template, {**ON, "JwtUsernameClaim": "cognito:username"}).resolve(variables)
    assert resolved["JWT_USERNAME_CLAIM"] == "cognito:username"


@pytest.mark.parametrize(
    ("parameters", "guarded"),
    [({}, set()), (ON, {f"PUT {PATH}"}), ({**ON, "JwtProtectGet": "true"}, {f"PUT {PATH}", f"GET {PATH}"})],
)
def test_the_local_api_reads_the_same_routes_as_guarded(parameters: dict[str, str], guarded: set[str]) -> None:
    """`make run` takes which routes need a token from the same DefinitionBody."""
    template = SamTemplate(parameter_overrides=parameters)
    config = template.jwt_authorizer()
    if not guarded:
        assert config is None
        return
    assert config is not None
    assert config.issuer == ISSUER
    assert config.audience == ("1example23456789", "another0client")
    assert config.guarded_routes == frozenset(guarded)


@pytest.mark.parametrize("parameters", [{"JwtIssuer": ISSUER}, {"JwtAudience": AUDIENCE}, {"JwtProtectGet": "true"}])
def test_the_local_api_refuses_what_cloudformation_refuses(parameters: dict[str, str]) -> None:
    with pytest.raises(TemplateError, match="Jwt"):
        SamTemplate(parameter_overrides=parameters).jwt_authorizer()


@pytest.mark.parametrize(
    ("claim", "accepted"),
    [
        ("username", True),
        ("cognito:username", True),
        ("preferred_username", True),
        ("custom:employee-id", True),
        ('user"name', False),  # would end the smoke test's JSON string early
        ("user\\name", False),
        ("user name", False),
        ("", False),
        ("x" * 65, False),
    ],
)
def test_the_claim_parameter_takes_claim_names_that_keep_the_smoke_test_json_valid(claim: str, accepted: bool) -> None:
    pattern = sam.sam_template()["Parameters"]["JwtUsernameClaim"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, claim)) is accepted
