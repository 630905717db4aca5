"""CorsAllowedOrigins, as API Gateway gets it: the translated template, resolved as CloudFormation resolves it.

SAM copies a CorsConfiguration given as an intrinsic (`!If`) into the
OpenAPI body's `x-amazon-apigateway-cors` as it is, its property names
lower-cased; CloudFormation then picks the branch. With origins, the API has
a CORS configuration and no OPTIONS route (API Gateway answers preflight
only when no route takes OPTIONS); without, it has no CORS configuration and
OPTIONS is the route that answers 405.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from deploy.template_configuration import samconfig_settings
from tests.support.cloudformation import Deployment
from tests.support.sam import sam_template, translate

PATH = "/hello/{username}"
ORIGINS = "https://app.example.com,http://localhost:5173"
OPTIONS_RESOURCES = {
    "OptionsNotAllowedFunction",
    "OptionsNotAllowedFunctionRole",
    "OptionsNotAllowedFunctionOptionsNotAllowedPermission",
    "OptionsNotAllowedLogGroup",
}


def deployed(parameters: dict[str, str]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The API's OpenAPI body as CloudFormation hands it to API Gateway, and the resources it creates."""
    translated = translate(parameters)
    deployment = Deployment(translated, parameters)
    created = {
        name: resource
        for name, resource in translated["Resources"].items()
        if "Condition" not in resource or deployment.condition(resource["Condition"])
    }
    body = deployment.resolve(created["GreeterApi"]["Properties"]["Body"])
    return body, created


def test_by_default_the_api_has_no_cors_configuration_and_options_is_a_route() -> None:
    body, created = deployed({})
    assert "x-amazon-apigateway-cors" not in body
    assert "options" in body["paths"][PATH]
    assert set(created) >= OPTIONS_RESOURCES


def test_with_origins_the_api_answers_preflight_for_them_and_no_route_takes_options() -> None:
    body, created = deployed({"CorsAllowedOrigins": ORIGINS})
    assert body["x-amazon-apigateway-cors"] == {
        "allowOrigins": ["https://app.example.com", "http://localhost:5173"],
        "allowMethods": ["GET", "PUT"],
        "allowHeaders": ["content-type"],
        "maxAge": 300,
    }
    assert set(body["paths"][PATH]) == {"get", "put", "post", "delete", "patch", "head"}
    assert not OPTIONS_RESOURCES & set(created)


def test_cors_changes_nothing_else_of_the_api() -> None:
    off, _ = deployed({})
    on, _ = deployed({"CorsAllowedOrigins": ORIGINS})
    del on["x-amazon-apigateway-cors"]
    del off["paths"][PATH]["options"]
    assert on == off


def test_browsers_may_send_authorization_when_writes_need_a_token() -> None:
    """SPEC.md: header content-type, and authorization when the JWT authorizer guards writes."""
    jwt = {"JwtIssuer": "https://issuer.example.com", "JwtAudience": "greeter"}
    with_token, _ = deployed({"CorsAllowedOrigins": ORIGINS, **jwt})
    assert with_token["x-amazon-apigateway-cors"]["allowHeaders"] == ["content-type", "authorization"]
    without, _ = deployed({"CorsAllowedOrigins": ORIGINS})
    assert without["x-amazon-apigateway-cors"]["allowHeaders"] == ["content-type"]
    cors = sam_template()["Resources"]["GreeterApi"]["Properties"]["CorsConfiguration"]["Fn::If"]
    assert (cors[0], cors[2]) == ("HasCors", {"Ref": "AWS::NoValue"})


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("", True),
        ("*", True),
        ("https://app.example.com", True),
        ("https://app.example.com,http://localhost:5173", True),
        ("https://app.example.com, http://localhost:5173", False),  # a space would be part of the origin
        ("https://app.example.com/", False),  # an origin has no path: a browser never sends this
        ("app.example.com", False),
        ("https://app.example.com,", False),
        ("https://*", True),  # API Gateway's scheme wildcards
        ("http://*,https://app.example.com", True),
        ("http://localhost:5173", True),
        ("https://a.example.com?x", False),  # no query, fragment, user info or odd characters
        ("https://a.example.com#x", False),
        ("https://user@a.example.com", False),
        ("https://a.example.com\\x", False),
        ("https://*.example.com", False),  # not a form API Gateway documents
        ("https://a.example.com:", False),
    ],
)
def test_the_parameter_accepts_only_what_a_browser_sends_as_origin(value: str, accepted: bool) -> None:
    """CloudFormation matches AllowedPattern against the whole value, as re.fullmatch does."""
    pattern = sam_template()["Parameters"]["CorsAllowedOrigins"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is accepted


def test_the_pipeline_hands_a_list_of_origins_to_cloudformation_as_written_in_samconfig(tmp_path: Path) -> None:
    """Commas stay inside the value through SAM CLI's parser, which `sam deploy` and the pipeline share."""
    samconfig = tmp_path / "samconfig.toml"
    samconfig.write_text(
        'version = 0.1\n[prod.deploy.parameters]\nstack_name = "birthday-greeter-prod"\n'
        f'parameter_overrides = "Environment=prod CorsAllowedOrigins={ORIGINS}"\n'
    )
    parameters = samconfig_settings("prod", samconfig).template_configuration()["Parameters"]
    assert parameters == {"Environment": "prod", "CorsAllowedOrigins": ORIGINS}
    body, _ = deployed(parameters)
    assert body["x-amazon-apigateway-cors"]["allowOrigins"] == ORIGINS.split(",")
