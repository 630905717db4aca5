"""Every method on /hello/{username} reaches the same function in the cloud, in `sam local` and in `make run`.

Three route tables, each built by the tool that serves it: SAM CLI's own
route provider (what `sam local start-api` mounts), the local API's matcher
(what `make run` serves) and the OpenAPI body samtranslator generates (what
API Gateway deploys). They must agree method by method. The old template's
`ANY` route is rebuilt here in memory to show what it did: the same in the
cloud, but `sam local` sent PUT to the GET function (aws/aws-sam-cli#1064).
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
from tests.support.events import EVENTS_DIR
from tests.support.sam import TEMPLATE_PATH, sam_template, translate

# SAM CLI's providers call samtranslator APIs that warn about their own deprecation.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
PATH = "/hello/{username}"
# The methods an HTTP API route can name (besides ANY); `ANY` means these.
METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS")
EXPECTED = dict.fromkeys(METHODS, "GetGreetingFunction") | {"PUT": "PutBirthdayFunction"}
NOT_ALLOWED_EVENTS = ("PostNotAllowed", "DeleteNotAllowed", "PatchNotAllowed", "HeadNotAllowed", "OptionsNotAllowed")


def with_any_route(document: dict[str, Any]) -> dict[str, Any]:
    """The template as it was: one `ANY /hello/{username}` event instead of one event per other method."""
    old = copy.deepcopy(document)
    events = old["Resources"]["GetGreetingFunction"]["Properties"]["Events"]
    for name in NOT_ALLOWED_EVENTS:
        del events[name]
    events["OtherMethods"] = {
        "Type": "HttpApi",
        "Properties": {"ApiId": {"Ref": "GreeterApi"}, "Path": PATH, "Method": "ANY"},
    }
    return old


def sam_local_table(document: dict[str, Any] | None = None) -> dict[str, list[str]]:
    """Method -> the functions `sam local start-api` mounts for it on PATH (more than one is a clash)."""
    if document is None:
        stacks, _ = SamLocalStackProvider.get_stacks(str(TEMPLATE_PATH))
    else:
        stacks, _ = SamLocalStackProvider.get_stacks(template_dictionary=document)
    table: dict[str, list[str]] = {}
    for route in ApiProvider(stacks).api.routes:
        assert route.path == PATH, route.path
        assert route.event_type == SamRoute.HTTP, route.event_type
        for method in route.methods:
            table.setdefault(method, []).append(str(route.function_name))
    return table


def deployed_table(document: dict[str, Any] | None = None) -> dict[str, str]:
    """Method -> the function whose live alias API Gateway integrates, as the translated template says.

    A method-specific operation wins over `x-amazon-apigateway-any-method`,
    as API Gateway matches them; the alias must also allow API Gateway to
    invoke it for that method.
    """
    resources = translate(document=document)["Resources"]
    operations = resources["GreeterApi"]["Properties"]["Body"]["paths"][PATH]
    permitted = {
        (permission["Properties"]["FunctionName"]["Ref"], arn.split("/")[2])
        for permission in resources.values()
        if permission["Type"] == "AWS::Lambda::Permission"
        for arn in [permission["Properties"]["SourceArn"]["Fn::Sub"][0]]
    }
    table = {}
    for method in METHODS:
        operation = operations.get(method.lower(), operations.get("x-amazon-apigateway-any-method"))
        assert operation is not None, method
        uri = operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
        alias = uri.split("/functions/${")[1].split("}")[0]
        assert alias.endswith("Aliaslive"), uri
        assert (alias, method) in permitted or (alias, "*") in permitted, (alias, method)
        table[method] = alias.removesuffix("Aliaslive")
    return table


def test_http_api_methods_are_what_sam_means_by_any() -> None:
    assert sorted(SamRoute.ANY_HTTP_METHODS) == sorted(METHODS)


def test_sam_local_start_api_routes_each_method_to_one_function() -> None:
    assert sam_local_table() == {method: [function] for method, function in EXPECTED.items()}


def test_sam_local_start_api_sent_put_to_the_get_function_under_the_any_route() -> None:
    """Why the template names every method: with `ANY`, PUT never reached PutBirthday in `sam local`."""
    table = sam_local_table(with_any_route(sam_template()))
    assert table["PUT"] == ["GetGreetingFunction"]


def test_make_run_routes_each_method_to_the_same_function(template: SamTemplate) -> None:
    api = LocalApi(template.routes(), {})
    table = {}
    for method in METHODS:
        matched = api.match(method, "/hello/bob")
        assert matched is not None, method
        route, parameters = matched
        assert parameters == {"username": "bob"}
        table[method] = route.function_id
    assert table == EXPECTED


def test_the_deployed_api_routes_each_method_to_the_same_function() -> None:
    assert deployed_table() == EXPECTED


def test_the_deployed_api_routes_every_method_as_the_any_route_did() -> None:
    assert deployed_table() == deployed_table(with_any_route(sam_template()))


@pytest.mark.parametrize("name", NOT_ALLOWED_EVENTS)
def test_each_not_allowed_event_names_its_method(name: str) -> None:
    event = sam_template()["Resources"]["GetGreetingFunction"]["Properties"]["Events"][name]
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
