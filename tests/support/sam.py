"""template.yaml as CloudFormation: translated by samtranslator, offline, as `sam deploy` would have it.

The SAM transform runs here exactly as CloudFormation runs it, minus the
network: no credentials, no IAM lookup of managed policies (the one policy the
template uses by name is the X-Ray policy SAM adds for `Tracing`), and local
paths (`CodeUri`, `DefinitionUri`) replaced by S3 locations, as `sam package`
replaces them.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
from samcli.yamlhelper import yaml_parse
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from tests.support.paths import ROOT

TEMPLATE_PATH = ROOT / "template.yaml"
ARTIFACT_BUCKET = "greeter-artifacts"
LOG_DELIVERY_ACTIONS = frozenset(
    {
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    }
)
"""What a Step Functions log configuration needs; IAM accepts only "*" as their resource."""
REGION = "eu-west-1"


def offline_policy_map() -> dict[str, str]:
    """Managed-policy names SAM may look up, answered from a table instead of IAM."""
    return {
        name: f"arn:aws:iam::aws:policy/{name}" for name in ("AWSXrayWriteOnlyAccess", "AWSLambdaBasicExecutionRole")
    }


def sam_template() -> dict[str, Any]:
    """template.yaml as SAM reads it (short-form intrinsics turned into `Ref`, `Fn::Sub`, ...)."""
    document: dict[str, Any] = yaml_parse(TEMPLATE_PATH.read_text())
    return document


def packaged(document: dict[str, Any]) -> dict[str, Any]:
    """The template as `sam package` uploads it: local code and definitions become S3 objects."""
    packaged_document = copy.deepcopy(document)
    sections = [packaged_document.get("Globals", {}).get("Function", {})]
    sections += [resource.get("Properties", {}) for resource in packaged_document["Resources"].values()]
    for properties in sections:
        for key in ("CodeUri", "DefinitionUri"):
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://{ARTIFACT_BUCKET}/{properties[key].strip('/')}"
    return packaged_document


def translate(parameters: dict[str, str] | None = None, document: dict[str, Any] | None = None) -> dict[str, Any]:
    """The CloudFormation template that CloudFormation's SAM transform would deploy (template.yaml unless given)."""
    # A session names the region; nothing is called with it (no credentials are needed).
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    translated = translator.translate(
        packaged(sam_template() if document is None else document),
        parameter_values=dict(parameters or {}),
        get_managed_policy_map=offline_policy_map,
    )
    result: dict[str, Any] = json.loads(json.dumps(translated))
    return result


def state_machine_definition() -> dict[str, Any]:
    definition: dict[str, Any] = json.loads((ROOT / "statemachines" / "smoke_test.asl.json").read_text())
    return definition
