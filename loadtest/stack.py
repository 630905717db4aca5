"""Where a deployed stage answers: the `ApiUrl` output of its CloudFormation stack."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

API_URL_OUTPUT = "ApiUrl"
"""The output template.yaml declares for the HTTP API's base URL."""


class StackLookupError(Exception):
    """The stack, or its ApiUrl output, cannot be read; the text says which and why."""


def api_url(stack_name: str, cloudformation: CloudFormationClient | None = None) -> str:
    """The stack's ApiUrl output, without a trailing slash (the workload's paths start with one)."""
    client = cloudformation or boto3.client("cloudformation")
    try:
        stacks = client.describe_stacks(StackName=stack_name)["Stacks"]
    except (ClientError, BotoCoreError) as error:
        raise StackLookupError(f"cannot describe stack {stack_name!r}: {error}") from error
    outputs = {output.get("OutputKey"): output.get("OutputValue") for output in stacks[0].get("Outputs", [])}
    url = outputs.get(API_URL_OUTPUT)
    if not url:
        raise StackLookupError(f"stack {stack_name!r} has no {API_URL_OUTPUT} output (not from template.yaml?)")
    return url.rstrip("/")
