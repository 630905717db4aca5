"""Shared fixtures. Nothing here reaches AWS: moto answers, with fake credentials."""

from __future__ import annotations

import os
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import moto  # imported before boto3 clients exist, so moto can intercept every client
import pytest

from localapi.template import SamTemplate
from tests.support import smoke_test
from tests.support.authorizer import guarded_local_api
from tests.support.issuer import TestIssuer, running_issuer
from tests.support.local_api import LocalApiProcess

TABLE_NAME = "BirthdaysTable"

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "TABLE_NAME": TABLE_NAME,
        "POWERTOOLS_SERVICE_NAME": "greeter",
        "POWERTOOLS_METRICS_NAMESPACE": "BirthdayGreeter",
    }
)
os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture(scope="session")
def template() -> SamTemplate:
    return SamTemplate()


@pytest.fixture
def dynamodb(template: SamTemplate) -> Iterator[Any]:
    """A moto DynamoDB with the table built from template.yaml's key schema."""
    with moto.mock_aws():
        import boto3

        client = boto3.client("dynamodb")
        client.create_table(**template.create_table_request(TABLE_NAME))
        yield client


@pytest.fixture
def put_handler(dynamodb: Any) -> ModuleType:
    from greeter.handlers import put_birthday

    return put_birthday


@pytest.fixture
def get_handler(dynamodb: Any) -> ModuleType:
    from greeter.handlers import get_greeting

    return get_greeting


@pytest.fixture
def lambda_context() -> Any:
    return smoke_test.lambda_context(
        "test", "arn:aws:lambda:eu-west-1:123456789012:function:test", "00000000-0000-0000-0000-000000000000"
    )


@pytest.fixture(scope="session")
def local_api() -> Iterator[LocalApiProcess]:
    """The local API as `make run` starts it, on a free port, for the whole session.

    With 20 workers a function rather than 10: the load tests' users must not be throttled on a
    machine slow enough to stretch cold starts; throttling itself is tested on pools of its own.
    """
    process = LocalApiProcess(args=("--concurrency", "20"))
    yield process
    process.stop()


@pytest.fixture(scope="module")
def issuer() -> Iterator[TestIssuer]:
    """The tests' OpenID issuer (tests/support/issuer.py), one per module."""
    with running_issuer() as running:
        yield running


@pytest.fixture(scope="module")
def guarded_api(issuer: TestIssuer) -> Iterator[LocalApiProcess]:
    """`make run` with JwtIssuer and JwtAudience naming the module's issuer: PUT needs its token."""
    process = guarded_local_api(issuer)
    yield process
    process.stop()
