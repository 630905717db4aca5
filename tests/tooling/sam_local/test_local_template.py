"""What `make sam-local` derives from the repository, checked without Docker."""

from __future__ import annotations

import json
from typing import Any

import pytest

from samlocal.images import ARCHITECTURE, DYNAMODB_PORT, python_version
from samlocal.stack import (
    ENV_VARS_PATH,
    StartError,
    dynamodb_host_and_port,
    local_template,
    read_template,
    unguarded_routes,
)
from tests.support.paths import ROOT
from tests.support.sam import sam_template

CONDITIONAL = {
    "ApiDomainName": "HasCustomDomain",
    "ApiDomainMapping": "HasCustomDomain",
    "ApiDnsRecord": "HasDnsRecord",
    "AlarmEmailSubscription": "HasAlarmEmail",
    "OptionsNotAllowedFunction": "HasNoCors",
    "OptionsNotAllowedLogGroup": "HasNoCors",
}
CORS = "CorsAllowedOrigins=https://app.example.com,http://localhost:5173"


def without_local_changes(document: dict[str, Any], absent: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    """The template with what a local run changes taken out: two properties, CORS, the resources in `absent`."""
    copy = json.loads(json.dumps(document))
    for name in absent:
        copy["Resources"].pop(name, None)
    copy["Resources"]["GreeterApi"]["Properties"].pop("CorsConfiguration", None)
    for properties in [copy["Globals"]["Function"], *(r.get("Properties", {}) for r in copy["Resources"].values())]:
        properties.pop("Architectures", None)
        properties.pop("CodeUri", None)
    return copy


def test_every_conditional_resource_is_known_here() -> None:
    conditional = {name: r["Condition"] for name, r in sam_template()["Resources"].items() if "Condition" in r}
    assert conditional == CONDITIONAL


@pytest.mark.parametrize(
    ("overrides", "absent"),
    [
        ("", {"ApiDomainName", "ApiDomainMapping", "ApiDnsRecord", "AlarmEmailSubscription"}),
        (CORS, set(CONDITIONAL)),
        ("AlarmEmail=ops@example.com", {"ApiDomainName", "ApiDomainMapping", "ApiDnsRecord"}),
    ],
)
def test_the_local_template_leaves_out_the_resources_whose_condition_is_false(overrides: str, absent: set[str]) -> None:
    local = local_template("x86_64", overrides)
    assert set(sam_template()["Resources"]) - set(local["Resources"]) == absent
    assert without_local_changes(local) == without_local_changes(sam_template(), absent)


def test_the_local_template_gives_sam_the_cors_configuration_resolved() -> None:
    assert "CorsConfiguration" not in local_template("x86_64")["Resources"]["GreeterApi"]["Properties"]
    assert local_template("x86_64", CORS)["Resources"]["GreeterApi"]["Properties"]["CorsConfiguration"] == {
        "AllowOrigins": ["https://app.example.com", "http://localhost:5173"],
        "AllowMethods": ["GET", "PUT"],
        "AllowHeaders": ["content-type"],
        "MaxAge": 300,
    }


def test_a_bad_override_stops_the_run_before_docker_with_the_reason() -> None:
    with pytest.raises(StartError, match="no spaces"):
        local_template("x86_64", "CorsAllowedOrigins='https://a.example.com, https://b.example.com'")


def test_the_local_template_runs_every_function_on_the_given_architecture_from_the_same_code() -> None:
    original = sam_template()
    for architecture in ("x86_64", "arm64"):
        local = local_template(architecture)
        assert local["Globals"]["Function"]["Architectures"] == [architecture]
        assert local["Globals"]["Function"]["CodeUri"] == str(ROOT / original["Globals"]["Function"]["CodeUri"])
        for name, resource in local["Resources"].items():
            properties = resource.get("Properties", {})
            assert properties.get("Architectures", [architecture]) == [architecture], name
            if "CodeUri" in properties:
                expected = ROOT / original["Resources"][name]["Properties"]["CodeUri"]
                assert properties["CodeUri"] == str(expected.resolve()), name


def test_the_deployed_architecture_stays_arm64_and_local_runs_use_the_hosts() -> None:
    assert sam_template()["Globals"]["Function"]["Architectures"] == ["arm64"]
    assert ARCHITECTURE in {"x86_64", "arm64"}


def test_the_functions_reach_the_dynamodb_container_by_its_network_name() -> None:
    assert dynamodb_host_and_port() == ("dynamodb-local", DYNAMODB_PORT)
    for variables in json.loads(ENV_VARS_PATH.read_text()).values():
        assert variables["AWS_ENDPOINT_URL_DYNAMODB"] == f"http://dynamodb-local:{DYNAMODB_PORT}"


def test_the_images_run_the_templates_python() -> None:
    assert python_version() == "3.13"
    dockerfile = (ROOT / "local" / "images" / "lambda-python" / "Dockerfile").read_text()
    assert "ARG PYTHON" in dockerfile  # the version comes from the template, not from the Dockerfile


def test_sam_local_is_told_it_serves_the_guarded_routes_without_a_token() -> None:
    """sam local skips JWT authorizers (aws/aws-sam-cli#6550): make sam-local says so, not guarding silently."""
    jwt = "JwtIssuer=https://issuer.example.com JwtAudience=greeter"
    warning = unguarded_routes(read_template(jwt))
    assert warning is not None
    assert "PUT /hello/{username} answer here without a token" in warning
    assert unguarded_routes(read_template("")) is None


def test_half_a_jwt_configuration_stops_make_sam_local_before_docker() -> None:
    with pytest.raises(StartError, match="JwtIssuer and JwtAudience are set together"):
        read_template("JwtIssuer=https://issuer.example.com")
