"""What AWS says a call needs, as cfn-lint 1.58.0 bundles it: resource handlers' permissions and IAM's resource types.

- The CloudFormation resource provider schemas (`cfnlint.schema`): the IAM actions each
  handler (create, read, update, delete, list) of a resource type calls, and its tagging.
- AWS's programmatic Service Authorization Reference
  (https://servicereference.us-east-1.amazonaws.com, the machine-readable form of
  https://docs.aws.amazon.com/service-authorization/latest/reference/), which cfn-lint keeps
  as `cfnlint/data/AdditionalSpecs/Policies.json` (`cfnlint.maintenance.update_iam_policies`)
  for its own IAM rules: per service prefix, the resource types each action takes (none: IAM
  accepts only "*" for it) and each resource type's ARN formats (identifiers as `.*`).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from cfnlint.data import AdditionalSpecs
from cfnlint.helpers import load_resource
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from tests.support.cloudformation import ACCOUNT
from tests.support.sam import REGION

STACK_HANDLERS = ("create", "read", "update", "delete")
"""The handlers CloudFormation calls in stack operations; `list` only lists a type's resources
(https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-develop.html)."""


@cache
def service_reference() -> dict[str, Any]:
    reference: dict[str, Any] = load_resource(AdditionalSpecs, "Policies.json")
    return reference


def action_resource_types(action: str) -> list[str] | None:
    """The IAM resource types (`service:type`, lower case) the action takes: [] for none ("*" only),
    None when the reference has no such action."""
    service, name = action.split(":", 1)
    entry = service_reference().get(service, {}).get("Actions", {}).get(name.lower())
    if entry is None:
        return None
    return [f"{service}:{kind.lower()}" for kind in entry.get("Resources", [])]


def arn_pattern(resource_type: str) -> re.Pattern[str]:
    """The ARNs the reference gives the resource type, in this project's partition, region and account."""
    service, kind = resource_type.split(":", 1)
    formats: list[str] = service_reference()[service]["Resources"][kind]["ARNFormats"]
    concrete = [
        f.replace("${Partition}", "aws").replace("${Region}", REGION).replace("${Account}", ACCOUNT) for f in formats
    ]
    return re.compile("|".join(".*".join(re.escape(part) for part in f.split(".*")) for f in concrete))


@cache
def handler_permissions(resource_type: str) -> dict[str, tuple[str, ...]]:
    """What the type's stack handlers call, by handler, and what tagging it takes when it is taggable."""
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, resource_type).schema
    handlers = schema["handlers"]
    found = {name: tuple(handlers[name]["permissions"]) for name in STACK_HANDLERS if name in handlers}
    if schema.get("tagging", {}).get("taggable") and schema["tagging"].get("permissions"):
        found["tagging"] = tuple(schema["tagging"]["permissions"])
    return found
