"""Every name and description the templates build fits CloudFormation's limit for it, at the longest values allowed.

A deploy that builds a 257-character version description or a 66-character
function name fails in CloudFormation, on the first try, for a parameter value
or stack name the project itself accepts. So both templates are resolved with
every parameter at the longest value it allows, the longest stack names the
pipeline and samconfig.toml allow, the longest region name and CloudFormation's
generated names (`<stack>-<LogicalId>-<12 characters>`,
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-name.html),
and every string property is checked against the length and pattern the
resource type's own schema gives (the CloudFormation registry schemas cfn-lint
ships), and a few limits the schemas leave out, from each service's documentation.
A parameter no pattern or list bounds must not reach any of those properties.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import cfnlint
import pytest

from deploy.preflight import MAX_STACK_NAME_LENGTH
from deploy.template_configuration import samconfig_settings
from tests.support.cloudformation import Deployment, physical_ids, references
from tests.support.pipeline import PIPELINE_PARAMETERS, read_yaml
from tests.support.sam import translate

SCHEMAS = Path(cfnlint.__file__).parent / "data" / "schemas"
STAND_IN = re.compile(r"\.[A-Za-z]+-value|-physical-id")
"""What tests.support.cloudformation gives for an id only a deployment knows (a version number, a key ARN)."""
LONGEST_REGION = "ap-southeast-7"
"""14 characters, as long as any commercial region's name."""

EXTRA_LIMITS = {
    # Limits the registry schemas do not state, from the service's own documentation.
    ("AWS::CloudWatch::Dashboard", "DashboardName"): 255,  # CloudWatch PutDashboard API reference
    ("AWS::SNS::Topic", "DisplayName"): 100,  # SNS CreateTopic API reference, DisplayName attribute
    ("AWS::IAM::ManagedPolicy", "ManagedPolicyName"): 128,  # IAM CreatePolicy API reference
    ("AWS::CodePipeline::Pipeline", "Name"): 100,  # CodePipeline PipelineDeclaration API reference
    ("AWS::CodeBuild::Project", "Name"): 255,  # CodeBuild CreateProject API reference
    ("AWS::Lambda::Function", "FunctionName"): 64,  # Lambda CreateFunction API reference
}

LONGEST_TEMPLATE_VALUES = {
    # template.yaml parameters that reach a name or a description, at the longest value each allows.
    "Environment": "staging",
    "LogLevel": "WARNING",
    "SnapStart": "disabled",
    "FunctionMemorySize": "3008",
    "JwtUsernameClaim": "c" * 64,
    "PermissionsBoundaryPolicyName": "p" * 128,
    "SyntheticCanarySchedule": "rate(" + "1" * 200 + ")",
}
FEATURES_ON = {
    # Every optional resource exists, so every name is built.
    "AlarmEmail": "oncall@example.com",
    "DomainName": "greeter.example.com",
    "CertificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
    "HostedZoneId": "Z0EXAMPLE1234",
    "ReservedConcurrency": "10",
    "JwtIssuer": "https://issuer.example.com",
    "JwtAudience": "greeter",
    "JwtProtectGet": "true",
}


@cache
def schema(resource_type: str) -> dict[str, Any]:
    registry = json.loads((SCHEMAS / "providers" / "us-east-1.json").read_text())
    found: dict[str, Any] = json.loads((SCHEMAS / "resources" / f"{registry[resource_type]}.json").read_text())
    return found


def longest_match(pattern: str, filler: str = "a") -> str:
    """The longest value of `filler` characters a `^...{m,n}$` pattern allows; checked, and one more refused."""
    bounds = re.findall(r"\{\d+,(\d+)\}", pattern)
    assert bounds, pattern
    value = filler * (int(bounds[-1]) + 1 - len(bounds) + 1)
    while value and not re.fullmatch(pattern.strip("^$"), value):
        value = value[:-1]
    assert value, pattern
    assert not re.fullmatch(pattern.strip("^$"), value + filler), pattern
    return value


def stack_names() -> list[str]:
    """The longest stack names that can exist: the pipeline's (its ApplicationName pattern) and samconfig.toml's."""
    pattern = read_yaml("pipeline.yaml")["Parameters"]["ApplicationName"]["AllowedPattern"]
    application = longest_match(pattern)
    return [f"{application}-staging", f"{application}-prod", samconfig_settings("default").stack_name]


def problems(template: dict[str, Any], parameters: dict[str, str], stack: str) -> list[str]:
    """Each string property, resolved as CloudFormation would, that breaks its type's limit or pattern."""
    deployment = Deployment(template, parameters, physical_ids(template, stack), stack_name=stack)
    deployment.pseudo["AWS::Region"] = LONGEST_REGION
    found = []
    for logical_id, resource in template["Resources"].items():
        if "Condition" in resource and not deployment.condition(resource["Condition"]):
            continue
        declared = schema(resource["Type"]).get("properties", {})
        for name, raw in resource.get("Properties", {}).items():
            value = deployment.resolve(raw)
            if not isinstance(value, str) or STAND_IN.search(value):
                continue
            rules = declared.get(name, {})
            limit = min(rules.get("maxLength", 10**9), EXTRA_LIMITS.get((resource["Type"], name), 10**9))
            where = f"{logical_id}.{name} ({len(value)} characters, stack {stack})"
            if len(value) > limit:
                found.append(f"{where} is over {limit}: {value}")
            if "pattern" in rules and not re.search(rules["pattern"], value):
                found.append(f"{where} breaks {rules['pattern']}: {value}")
    return found


def test_the_longest_values_are_the_longest_the_parameters_allow() -> None:
    declared = translate()["Parameters"]
    for name, value in LONGEST_TEMPLATE_VALUES.items():
        spec = declared[name]
        if "AllowedValues" in spec:
            assert value == max((str(allowed) for allowed in spec["AllowedValues"]), key=len), name
        elif "MaxValue" in spec:
            assert value == str(spec["MaxValue"]), name
        elif name == "SyntheticCanarySchedule":
            assert re.fullmatch(spec["AllowedPattern"], value), name
            assert not re.fullmatch(spec["AllowedPattern"], value.replace("(", "(1")), name
        elif "AllowedPattern" in spec and value:
            assert value == longest_match(spec["AllowedPattern"], value[0]), name
    assert max(map(len, stack_names())) == MAX_STACK_NAME_LENGTH


@pytest.mark.parametrize("stack", stack_names())
def test_every_name_and_description_of_template_yaml_fits_at_the_longest_values(stack: str) -> None:
    parameters = {**LONGEST_TEMPLATE_VALUES, **FEATURES_ON}
    assert problems(translate(parameters), parameters, stack) == []


def test_a_stack_name_one_character_longer_breaks_a_limit() -> None:
    """MAX_STACK_NAME_LENGTH is the real bound: the pipeline's pattern and the preflight check stop at it."""
    parameters = {**LONGEST_TEMPLATE_VALUES, **FEATURES_ON}
    found = problems(translate(parameters), parameters, "s" * (MAX_STACK_NAME_LENGTH + 1))
    assert any("SmokeTestHook.FunctionName" in problem for problem in found), found


def test_the_version_description_is_within_lambdas_256_characters_with_a_few_to_spare() -> None:
    parameters = {**LONGEST_TEMPLATE_VALUES, **FEATURES_ON}
    template = translate(parameters)
    stack = max(stack_names(), key=len)
    deployment = Deployment(template, parameters, physical_ids(template, stack), stack_name=stack)
    versions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Version"]
    lengths = [len(deployment.resolve(version["Properties"]["Description"])) for version in versions]
    assert lengths
    assert max(lengths) <= 256 - 4, lengths  # the generated table name's suffix is documented by example only


def test_no_unbounded_parameter_reaches_a_limited_property() -> None:
    """A parameter neither a list nor a length-bounded pattern limits could break any limit: none may feed one."""
    template = translate({**LONGEST_TEMPLATE_VALUES, **FEATURES_ON})
    declared = template["Parameters"]
    bounded = {
        name
        for name, spec in declared.items()
        if "AllowedValues" in spec
        or "MaxValue" in spec
        or (
            re.search(r"\{\d+,\d+\}", spec.get("AllowedPattern", ""))
            and not re.search(r"(?<!\\)[*+]", re.sub(r"\[[^\]]*\]", "", spec["AllowedPattern"]))
        )
    }
    for logical_id, resource in template["Resources"].items():
        declared_properties = schema(resource["Type"]).get("properties", {})
        for name, raw in resource.get("Properties", {}).items():
            limited = "maxLength" in declared_properties.get(name, {}) or (resource["Type"], name) in EXTRA_LIMITS
            if limited:
                fed = references(raw, template.get("Conditions", {})) & set(declared)
                assert fed <= bounded, f"{logical_id}.{name} takes {sorted(fed - bounded)}, which nothing bounds"


def test_every_name_of_pipeline_yaml_fits_at_the_longest_application_name() -> None:
    template = read_yaml("pipeline.yaml")
    application = longest_match(template["Parameters"]["ApplicationName"]["AllowedPattern"])
    parameters = {**PIPELINE_PARAMETERS, "ApplicationName": application}
    assert problems(template, parameters, f"{application}-pipeline") == []
