"""Every method on /hello/{username} reaches the same function in the cloud, in `sam local` and in `make run`.

Three route tables, each built by the tool that serves it: SAM CLI's own
route provider (what `sam local start-api` mounts, from the template `make
sam-local` derives), the local API's matcher (what `make run` serves) and the
OpenAPI body samtranslator generates (what API Gateway deploys), resolved as
CloudFormation resolves it. They must agree method by method, with CORS off
(the default: OPTIONS is a route that answers 405) and on (no OPTIONS route:
the API's CORS configuration answers preflight). The old template's `ANY`
route is rebuilt here in memory to show what it did: the same in the cloud,
but `sam local` sent PUT to the GET function (aws/aws-sam-cli#1064).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from samcli.lib.providers.api_provider import ApiProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
from samcli.local.apigw.route import Route as SamRoute

from localapi.server import LocalApi
from localapi.template import SamTemplate
from samlocal.stack import local_template
from tests.support.cloudformation import Deployment
from tests.support.paths import EVENTS_DIR
from tests.support.sam import sam_template, translate

# SAM CLI's providers call samtranslator APIs that warn about their own deprecation.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
PATH = "/hello/{username}"
# The methods an HTTP API route can name (besides ANY); `ANY` means these.
METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS")
WITH_CORS = {"CorsAllowedOrigins": "https://app.example.com"}
EXPECTED = dict.fromkeys(METHODS, "GetGreetingFunction") | {
    "PUT": "PutBirthdayFunction",
    "OPTIONS": "OptionsNotAllowedFunction",
}
EXPECTED_WITH_CORS = {method: function for method, function in EXPECTED.items() if method != "OPTIONS"}
"""With CORS on no route takes OPTIONS: API Gateway answers preflight itself (test_cors.py, beside this one)."""
NOT_ALLOWED_EVENTS = {
    "PostNotAllowed": "GetGreetingFunction",
    "DeleteNotAllowed": "GetGreetingFunction",
    "PatchNotAllowed": "GetGreetingFunction",
    "HeadNotAllowed": "GetGreetingFunction",
    "OptionsNotAllowed": "OptionsNotAllowedFunction",
}


def with_any_route(document: dict[str, Any]) -> dict[str, Any]:
    """The template as it was: one `ANY /hello/{username}` event instead of one event per other method."""
    old = copy.deepcopy(document)
    for name, function in NOT_ALLOWED_EVENTS.items():
        del old["Resources"][function]["Properties"]["Events"][name]
    del old["Resources"]["OptionsNotAllowedFunction"]
    del old["Resources"]["OptionsNotAllowedLogGroup"]
    old["Resources"]["GetGreetingFunction"]["Properties"]["Events"]["OtherMethods"] = {
        "Type": "HttpApi",
        "Properties": {"ApiId": {"Ref": "GreeterApi"}, "Path": PATH, "Method": "ANY"},
    }
    return old


def sam_local_table(document: dict[str, Any] | None = None) -> dict[str, list[str]]:
    """Method -> the functions `sam local start-api` mounts for it on PATH (more than one is a clash)."""
    if document is None:
        document = local_template()
    stacks, _ = SamLocalStackProvider.get_stacks(template_dictionary=document)
    table: dict[str, list[str]] = {}
    for route in ApiProvider(stacks).api.routes:
        assert route.path == PATH, route.path
        assert route.event_type == SamRoute.HTTP, route.event_type
        for method in route.methods:
            table.setdefault(method, []).append(str(route.function_name))
    return table


def deployed_table(document: dict[str, Any] | None = None, parameters: dict[str, str] | None = None) -> dict[str, str]:
    """Method -> the function API Gateway integrates, as the translated template resolves for `parameters`.

    A method-specific operation wins over `x-amazon-apigateway-any-method`,
    as API Gateway matches them; the function must also allow API Gateway to
    invoke it for that method. The API functions are called through their
    live alias; OptionsNotAllowedFunction, which has none, directly.
    """
    translated = translate(parameters, document=document)
    # Each resource resolves to its logical id, so an integration's ARN and a permission's target compare.
    names = {name: name for name in translated["Resources"]}
    deployment = Deployment(translated, parameters, physical_ids=names | {f"{name}.Arn": name for name in names})
    existing = {
        name: resource
        for name, resource in translated["Resources"].items()
        if "Condition" not in resource or deployment.condition(resource["Condition"])
    }
    operations = deployment.resolve(existing["GreeterApi"]["Properties"]["Body"]["paths"][PATH])
    permitted = {
        (deployment.resolve(permission["Properties"]["FunctionName"]), source_arn.split("/")[2])
        for permission in existing.values()
        if permission["Type"] == "AWS::Lambda::Permission"
        for source_arn in [deployment.resolve(permission["Properties"]["SourceArn"])]
    }
    table = {}
    for method in METHODS:
        operation = operations.get(method.lower(), operations.get("x-amazon-apigateway-any-method"))
        if operation is None:
            continue
        uri = operation["x-amazon-apigateway-integration"]["uri"]
        target = uri.split("/functions/")[1].removesuffix("/invocations")
        assert target.endswith("Aliaslive") or target == "OptionsNotAllowedFunction", uri
        assert (target, method) in permitted or (target, "*") in permitted, (target, method)
        table[method] = target.removesuffix("Aliaslive")
    return table


def test_http_api_methods_are_what_sam_means_by_any() -> None:
    assert sorted(SamRoute.ANY_HTTP_METHODS) == sorted(METHODS)


def test_sam_local_start_api_routes_each_method_to_one_function() -> None:
    assert sam_local_table() == {method: [function] for method, function in EXPECTED.items()}


def test_sam_local_start_api_with_cors_routes_each_method_to_one_function_and_answers_options_itself() -> None:
    """SAM CLI adds OPTIONS to every route when CORS is on and answers it without a function (samlocal tests)."""
    table = sam_local_table(local_template(parameter_overrides="CorsAllowedOrigins=https://app.example.com"))
    options = table.pop("OPTIONS")
    assert sorted(options) == ["GetGreetingFunction", "PutBirthdayFunction"]
    assert table == {method: [function] for method, function in EXPECTED_WITH_CORS.items()}


@pytest.mark.parametrize("parameters", [{}, WITH_CORS])
def test_sam_local_start_api_misreads_template_yaml_itself_which_is_why_make_sam_local_derives_one(
    parameters: dict[str, str],
) -> None:
    """Given template.yaml as it is, SAM CLI mounts the OPTIONS function whatever its Condition, and takes the
    `!If` of CorsConfiguration for a CORS configuration without origins, CORS off or on."""
    stacks, _ = SamLocalStackProvider.get_stacks(template_dictionary=sam_template(), parameter_overrides=parameters)
    api = ApiProvider(stacks).api
    assert "OptionsNotAllowedFunction" in {route.function_name for route in api.routes}
    assert api.cors is not None
    assert api.cors.allow_origin is None


def test_sam_local_start_api_sent_put_to_the_get_function_under_the_any_route() -> None:
    """Why the template names every method: with `ANY`, PUT never reached PutBirthday in `sam local`."""
    table = sam_local_table(with_any_route(sam_template()))
    assert table["PUT"] == ["GetGreetingFunction"]


@pytest.mark.parametrize(("parameters", "expected"), [({}, EXPECTED), (WITH_CORS, EXPECTED_WITH_CORS)])
def test_make_run_routes_each_method_to_the_same_function(parameters: dict[str, str], expected: dict[str, str]) -> None:
    api = LocalApi(SamTemplate(parameter_overrides=parameters).routes(), {})
    table = {}
    for method in METHODS:
        matched = api.match(method, "/hello/bob")
        if matched is None:
            continue
        route, path_parameters = matched
        assert path_parameters == {"username": "bob"}
        table[method] = route.function_id
    assert table == expected


@pytest.mark.parametrize(("parameters", "expected"), [({}, EXPECTED), (WITH_CORS, EXPECTED_WITH_CORS)])
def test_the_deployed_api_routes_each_method_to_the_same_function(
    parameters: dict[str, str], expected: dict[str, str]
) -> None:
    assert deployed_table(parameters=parameters) == expected


def test_the_deployed_api_routes_every_method_as_the_any_route_did() -> None:
    """OPTIONS now has a function of its own, which answers the same 405 (tests/service)."""
    old = deployed_table(with_any_route(sam_template()))
    assert old == dict.fromkeys(METHODS, "GetGreetingFunction") | {"PUT": "PutBirthdayFunction"}
    assert deployed_table() == old | {"OPTIONS": "OptionsNotAllowedFunction"}


@pytest.mark.parametrize(("name", "function"), NOT_ALLOWED_EVENTS.items())
def test_each_not_allowed_event_names_its_method(name: str, function: str) -> None:
    event = sam_template()["Resources"][function]["Properties"]["Events"][name]
    assert event["Properties"]["Method"] == name.removesuffix("NotAllowed").upper()
    assert event["Properties"]["Path"] == PATH


def test_every_sample_event_names_a_route_of_the_template(template: SamTemplate) -> None:
    """events/ is what `sam local invoke -e` sends: each must be what API Gateway sends for one route."""
    route_keys = {route.route_key for route in template.routes()}
    for path in sorted(EVENTS_DIR.glob("*.json")):
        event = json.loads(path.read_text())
        method = event["requestContext"]["http"]["method"]
        assert event["routeKey"] == event["requestContext"]["routeKey"] == f"{method} {PATH}", path.name
        assert event["routeKey"] in route_keys, path.name
