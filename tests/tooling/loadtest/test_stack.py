"""`STACK=<name>`: the target URL is the stack's ApiUrl output (moto's CloudFormation answers)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import moto
import pytest

from loadtest.stack import StackLookupError, api_url

URL = "https://abcdef1234.execute-api.eu-west-1.amazonaws.com"


def template(outputs: dict[str, str]) -> str:
    return json.dumps(
        {
            "Resources": {"Marker": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {key: {"Value": value} for key, value in outputs.items()},
        }
    )


@pytest.fixture
def cloudformation() -> Iterator[Any]:
    with moto.mock_aws():
        yield boto3.client("cloudformation", region_name="eu-west-1")


def test_api_url_is_the_stacks_output(cloudformation: Any) -> None:
    cloudformation.create_stack(
        StackName="birthday-greeter-dev", TemplateBody=template({"BirthdaysTableName": "t", "ApiUrl": URL + "/"})
    )
    assert api_url("birthday-greeter-dev", cloudformation) == URL


def test_a_stack_without_the_output_is_an_error(cloudformation: Any) -> None:
    cloudformation.create_stack(StackName="other", TemplateBody=template({"Something": "else"}))
    with pytest.raises(StackLookupError, match="'other' has no ApiUrl output"):
        api_url("other", cloudformation)


def test_a_missing_stack_is_an_error(cloudformation: Any) -> None:
    with pytest.raises(StackLookupError, match=r"cannot describe stack 'nowhere'.*does not exist"):
        api_url("nowhere", cloudformation)
