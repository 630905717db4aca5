"""Every configuration change publishes a new version of an API function, which then goes through the canary.

CloudFormation publishes a version only when the `AWS::Lambda::Version` resource is
new: a new logical id, or a new value of a property its resource schema marks
create-only (replacement). SAM's hash of the code alone (`AutoPublishAlias`)
misses configuration, and `AutoPublishAliasAllProperties` hashes the properties
as written, `{"Ref": "FunctionMemorySize"}`, not the value (SAM issue 3820). So
each API function also has a `VersionDescription` naming every parameter and
resource its configuration depends on, which CloudFormation resolves at deploy
time; a new value changes the description, and the description is create-only.

These tests find those parameters and resources by walking the template
(Globals.Function and the function's Properties, through conditions), then
translate with two values of each and resolve the version as CloudFormation
would. A configuration parameter added without its place in the description
fails here.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from tests.support import sam
from tests.support.cloudformation import Deployment, references

API_FUNCTIONS = ("PutBirthdayFunction", "GetGreetingFunction")
NOT_VERSION_CONFIGURATION = {
    "AutoPublishAlias": "names the alias that points at versions",
    "AutoPublishAliasAllProperties": "how SAM names versions",
    "VersionDescription": "the description itself",
    "DeploymentPreference": "how traffic moves to a version, not what the version runs",
    "Events": "the routes, which call the alias",
    "Policies": "the execution role's permissions, which change in place for every version at once",
    "PermissionsBoundary": "the execution role's boundary, likewise",
    "ReservedConcurrentExecutions": "the function's concurrency, shared by all its versions",
    "Tags": "the function's tags, not a version's",
}
"""Function properties that are not part of what a published version runs, and why."""
LONGEST_STACK_NAME = "s" * 37  # docs/deployment.md: hook names keep stack names to 37 characters
LAMBDA_DESCRIPTION_LIMIT = 256


def version_configuration(function: str) -> dict[str, Any]:
    """The properties a published version of `function` freezes: Globals.Function merged under its own."""
    document = sam.sam_template()
    merged = _merged(document.get("Globals", {}).get("Function", {}), document["Resources"][function]["Properties"])
    return {name: value for name, value in merged.items() if name not in NOT_VERSION_CONFIGURATION}


def _merged(globals_: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """As SAM merges Globals into a resource: maps key by key (Environment.Variables), anything else replaced."""
    merged = dict(globals_)
    for name, value in own.items():
        both_maps = isinstance(value, dict) and isinstance(merged.get(name), dict) and not _is_intrinsic(value)
        merged[name] = _merged(merged[name], value) if both_maps else value
    return merged


def _is_intrinsic(value: dict[str, Any]) -> bool:
    return len(value) == 1 and (next(iter(value)).startswith("Fn::") or next(iter(value)) == "Ref")


def configuration_inputs(function: str) -> set[str]:
    """Every parameter and resource the version configuration of `function` depends on."""
    document = sam.sam_template()
    return references(version_configuration(function), document.get("Conditions", {}))


def configuration_parameters(function: str) -> list[str]:
    return sorted(configuration_inputs(function) & set(sam.sam_template()["Parameters"]))


def configuration_resources(function: str) -> list[str]:
    return sorted(configuration_inputs(function) & set(sam.sam_template()["Resources"]))


def two_values(parameter: str) -> tuple[str, str]:
    """The parameter's default and another value it accepts."""
    spec = sam.sam_template()["Parameters"][parameter]
    default = str(spec.get("Default", ""))
    if "AllowedValues" in spec:
        return default, next(str(v) for v in spec["AllowedValues"] if str(v) != default)
    if spec["Type"] == "Number":
        number = int(default or spec.get("MinValue", 1))
        other = number * 2 if number * 2 <= spec.get("MaxValue", number * 2) else number - 1
        return default, str(other)
    return default, default + "changed"


@cache
def _translated(parameters: tuple[tuple[str, str], ...], document_json: str | None) -> str:
    document = None if document_json is None else json.loads(document_json)
    return json.dumps(sam.translate(dict(parameters), document))


def translated(parameters: dict[str, str], document: dict[str, Any] | None = None) -> dict[str, Any]:
    """A fresh copy of the translation of template.yaml (or of `document`) with these parameter values."""
    text = None if document is None else json.dumps(document)
    result: dict[str, Any] = json.loads(_translated(tuple(sorted(parameters.items())), text))
    return result


def version_of(template: dict[str, Any], function: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (name, resource)
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Version" and name.startswith(f"{function}Version")
    ]
    return found


def replacing_properties() -> list[str]:
    """AWS::Lambda::Version properties whose change replaces the version (createOnlyProperties)."""
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(sam.REGION, "AWS::Lambda::Version").schema
    return [pointer.removeprefix("/properties/") for pointer in schema["createOnlyProperties"]]


def published_version(
    function: str, parameters: dict[str, str], physical_ids: dict[str, str] | None = None
) -> tuple[str, dict[str, Any]]:
    """What identifies the version CloudFormation keeps or publishes: its logical id and its
    create-only properties, resolved with these parameter values as CloudFormation would."""
    template = translated(parameters)
    logical_id, version = version_of(template, function)
    deployment = Deployment(template, parameters, physical_ids)
    properties = version["Properties"]
    return logical_id, {
        name: deployment.resolve(properties[name]) for name in replacing_properties() if name in properties
    }


def test_the_description_is_what_replaces_a_version() -> None:
    """The mechanism rests on this line of the resource schema."""
    assert "Description" in replacing_properties()


@pytest.mark.parametrize("function", API_FUNCTIONS)
def test_the_walk_finds_the_configuration_parameters_the_issue_names(function: str) -> None:
    """Memory, log level and SnapStart (through the UseSnapStart condition), and nothing deployment-only."""
    parameters = configuration_parameters(function)
    assert {"FunctionMemorySize", "LogLevel", "SnapStart"} <= set(parameters)
    assert not {"DeploymentType", "DeploymentAlarms", "ReservedConcurrency", "PermissionsBoundaryPolicyName"} & set(
        parameters
    )


@pytest.mark.parametrize(
    ("function", "parameter"),
    [(function, parameter) for function in API_FUNCTIONS for parameter in configuration_parameters(function)],
)
def test_a_new_value_of_a_configuration_parameter_publishes_a_new_version(function: str, parameter: str) -> None:
    before, after = two_values(parameter)

    old = published_version(function, {parameter: before})
    new = published_version(function, {parameter: after})

    assert old != new, f"{parameter}={before} and ={after} leave {function}'s version as it is: {old}"


@pytest.mark.parametrize(
    ("function", "resource"),
    [(function, resource) for function in API_FUNCTIONS for resource in configuration_resources(function)],
)
def test_a_replaced_resource_the_configuration_names_publishes_a_new_version(function: str, resource: str) -> None:
    """E.g. a new table or log group: its physical id reaches $LATEST, so it must reach a version too."""
    old = published_version(function, {}, {resource: f"{resource}-before"})
    new = published_version(function, {}, {resource: f"{resource}-after"})

    assert old != new, f"a new {resource} leaves {function}'s version as it is: {old}"


@pytest.mark.parametrize("function", API_FUNCTIONS)
def test_a_parameter_that_configures_nothing_keeps_the_version(function: str) -> None:
    """The converse: a deployment-only parameter must not start a canary by itself."""
    assert published_version(function, {"DeploymentType": "AllAtOnce"}) == published_version(
        function, {"DeploymentType": "Canary10Percent5Minutes"}
    )


@pytest.mark.parametrize(
    ("section", "name", "value"),
    [("Globals", "Timeout", 5), ("Globals", "Runtime", "python3.12"), ("PutBirthdayFunction", "Handler", "x.handler")],
)
def test_an_edited_literal_publishes_a_new_version(section: str, name: str, value: Any) -> None:
    """Edits in template.yaml itself, such as a new Timeout or Runtime, change the version's logical id."""
    document = sam.sam_template()
    edited = copy.deepcopy(document)
    target = edited["Globals"]["Function"] if section == "Globals" else edited["Resources"][section]["Properties"]
    assert target[name] != value
    target[name] = value

    before, _ = version_of(translated({}, document), "PutBirthdayFunction")
    after, _ = version_of(translated({}, edited), "PutBirthdayFunction")

    assert before != after


@pytest.mark.parametrize("function", API_FUNCTIONS)
def test_the_description_fits_lambdas_limit_with_the_longest_values(function: str) -> None:
    """A description over 256 characters would fail the deployment: longest values, longest stack name."""
    document = sam.sam_template()
    longest = {}
    for parameter in configuration_parameters(function):
        spec = document["Parameters"][parameter]
        values = [str(v) for v in spec.get("AllowedValues", [spec.get("MaxValue", spec.get("Default", ""))])]
        longest[parameter] = max(values, key=len)
    template = translated(longest)
    _, version = version_of(template, function)
    names = {
        resource: f"{LONGEST_STACK_NAME}-{resource}-ABCDEFGHIJKLM"
        if "LogGroupName" not in document["Resources"][resource].get("Properties", {})
        else document["Resources"][resource]["Properties"]["LogGroupName"]["Fn::Sub"].replace(
            "${AWS::StackName}", LONGEST_STACK_NAME
        )
        for resource in configuration_resources(function)
    }
    description = Deployment(template, longest, names, stack_name=LONGEST_STACK_NAME).resolve(
        version["Properties"]["Description"]
    )
    assert len(description) <= LAMBDA_DESCRIPTION_LIMIT, description
