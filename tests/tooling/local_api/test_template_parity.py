"""The local tools read template.yaml; these tests keep the files they rely on in step with it."""

from __future__ import annotations

import json

from localapi.template import SamTemplate
from tests.support.paths import ROOT


def test_routes_come_from_the_template_most_specific_first(template: SamTemplate) -> None:
    routes = [(route.route_key, route.function_id) for route in template.routes()]
    assert routes == [
        ("PUT /hello/{username}", "PutBirthdayFunction"),
        ("GET /hello/{username}", "GetGreetingFunction"),
        *[(f"{method} /hello/{{username}}", "GetGreetingFunction") for method in ("POST", "DELETE", "PATCH", "HEAD")],
        ("OPTIONS /hello/{username}", "OptionsNotAllowedFunction"),
    ]


def test_with_cors_the_options_route_and_its_function_do_not_exist() -> None:
    """A resource whose Condition is false is not served, as CloudFormation does not create it."""
    template = SamTemplate(parameter_overrides={"CorsAllowedOrigins": "https://app.example.com"})
    assert "OPTIONS" not in {route.method for route in template.routes()}
    assert "OptionsNotAllowedFunction" not in {function.logical_id for function in template.api_functions()}
    assert "OptionsNotAllowedLogGroup" not in template.resolved["Resources"]
    assert len(template.routes()) == 6


def test_api_functions_are_python313_arm64_under_src(template: SamTemplate) -> None:
    globals_ = template.document["Globals"]["Function"]
    assert globals_["Runtime"] == "python3.13"
    assert globals_["Architectures"] == ["arm64"]
    for function in template.api_functions():
        assert function.code_uri == ROOT / "src"
        module, _, attribute = function.handler.rpartition(".")
        assert (function.code_uri / (module.replace(".", "/") + ".py")).is_file()
        assert attribute == "lambda_handler"
        assert function.environment["TABLE_NAME"] == "BirthdaysTable"  # !Ref BirthdaysTable, as sam local resolves it


def test_table_is_on_demand_with_username_key(template: SamTemplate) -> None:
    props = template.resources["BirthdaysTable"]["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [{"AttributeName": "username", "KeyType": "HASH"}]


def test_sam_local_env_vars_only_name_declared_variables(template: SamTemplate) -> None:
    """`sam local --env-vars` ignores variables the template does not declare."""
    env_vars = json.loads((ROOT / "local/env.json").read_text())
    functions = {function.logical_id: function for function in template.api_functions()}
    assert set(env_vars) == set(functions)
    for logical_id, variables in env_vars.items():
        assert set(variables) <= set(functions[logical_id].environment), logical_id
        assert variables["AWS_ENDPOINT_URL_DYNAMODB"] == "http://dynamodb-local:8000"
