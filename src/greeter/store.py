"""Where dates of birth are kept: one DynamoDB table, one call per request.

The adapter turns botocore's failures into two errors the API maps once:
`StoreUnavailableError` (transient: throttled, unreachable, timed out; the caller
may retry) and `StoreMisconfiguredError` (the table or its permissions are wrong;
retrying will not help). Nothing here is called at import.

A call slower than `SLOW_CALL_SECONDS` is logged with its operation, duration
and retries: the functions' traces are Lambda's own, which time the whole
invocation but not the DynamoDB call inside it (docs/deployment.md, "A slow
DynamoDB call").
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

import botocore.session
from aws_lambda_powertools import Logger
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from greeter.domain import DEFAULT_TIME_ZONE, Birthday, InvalidTimeZoneError, parse_time_zone

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

CONNECT_TIMEOUT_SECONDS = 0.5
READ_TIMEOUT_SECONDS = 1.0
MAX_ATTEMPTS = 2
"""One try and one retry: with the first backoff (at most 1 s) the worst case
is 2 x (0.5 + 1.0) + 1 = 4 s, under the functions' 6 s timeout."""

CLIENT_CONFIG = Config(
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=READ_TIMEOUT_SECONDS,
    retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
)

SLOW_CALL_SECONDS = 0.2
"""DynamoDB answers a GetItem or PutItem in single-digit milliseconds; a call
(its retry included) that takes longer than this is logged as a warning."""
SLOW_CALL_MESSAGE = "slow DynamoDB call"

logger = Logger(child=True)

# botocore's DEBUG lines quote every request's parameters, dates of birth included,
# and Lambda's ApplicationLogLevel=DEBUG lowers the root logger: keep botocore at INFO.
logging.getLogger("botocore").setLevel(logging.INFO)

TRANSIENT_ERROR_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


def worst_case_seconds() -> float:
    """The longest one store call can take before the adapter gives up."""
    backoff = sum(float(2**retry) for retry in range(MAX_ATTEMPTS - 1))
    return MAX_ATTEMPTS * (CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS) + backoff


class StoreError(Exception):
    """The store failed; the message is for the log, never for the caller."""


class StoreUnavailableError(StoreError):
    """Transient: throttled, unreachable or too slow. Worth retrying later."""


class StoreMisconfiguredError(StoreError):
    """Permanent: missing table, denied access, bad request. Retrying won't help."""


class BirthdayStore(Protocol):
    def get(self, key: str) -> Birthday | None: ...

    def put(self, key: str, birthday: Birthday) -> None: ...


class DynamoDBBirthdayStore:
    """Items are `{username: <lower-case key>, dateOfBirth: YYYY-MM-DD, timeZone: IANA key, updatedAt: ISO time}`.

    Items written before zones existed have no `timeZone`: they read as UTC.
    """

    KEY = "username"
    TIME_ZONE = "timeZone"

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    @classmethod
    def from_environment(cls) -> DynamoDBBirthdayStore:
        """Builds the client (no network call); `AWS_ENDPOINT_URL_DYNAMODB` points it elsewhere.

        A botocore session, not boto3: boto3 would also import s3transfer and
        its thread and process pools at every cold start (see docs/performance.md).
        """
        client = botocore.session.get_session().create_client("dynamodb", config=CLIENT_CONFIG)
        return cls(cast("DynamoDBClient", client), os.environ["TABLE_NAME"])

    def get(self, key: str) -> Birthday | None:
        try:
            response = _timed(
                "GetItem",
                self._client.get_item,
                TableName=self._table_name,
                Key={self.KEY: {"S": key}},
                # TIMEZONE is a DynamoDB reserved word: it is named through a placeholder.
                ProjectionExpression="dateOfBirth, #zone",
                ExpressionAttributeNames={"#zone": self.TIME_ZONE},
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as error:
            raise _translate(error, "GetItem") from error
        item = response.get("Item")
        if item is None:
            return None
        try:
            born = date.fromisoformat(item["dateOfBirth"]["S"])
        except (KeyError, ValueError):
            # ValueError's text quotes the stored value, a date of birth: name the fault, never the value.
            raise StoreMisconfiguredError("DynamoDB GetItem returned an item without an ISO dateOfBirth") from None
        try:
            zone = parse_time_zone(item.get(self.TIME_ZONE, {"S": DEFAULT_TIME_ZONE}).get("S"))
        except InvalidTimeZoneError:
            raise StoreMisconfiguredError(
                "DynamoDB GetItem returned an item whose timeZone tzdata does not know"
            ) from None
        return Birthday(born, zone)

    def put(self, key: str, birthday: Birthday) -> None:
        try:
            _timed(
                "PutItem",
                self._client.put_item,
                TableName=self._table_name,
                Item={
                    self.KEY: {"S": key},
                    "dateOfBirth": {"S": birthday.born.isoformat()},
                    self.TIME_ZONE: {"S": birthday.time_zone},
                    "updatedAt": {"S": datetime.now(UTC).isoformat(timespec="milliseconds")},
                },
            )
        except (ClientError, BotoCoreError) as error:
            raise _translate(error, "PutItem") from error


def _timed[**P, R](operation: str, call: Callable[P, R], /, *args: P.args, **parameters: P.kwargs) -> R:
    """`call(...)`, logged as a slow call (operation, milliseconds, retries; never a parameter) if it was."""
    started = time.perf_counter()
    metadata: Mapping[str, Any] = {}
    try:
        response = call(*args, **parameters)
        metadata = cast("Mapping[str, Any]", response).get("ResponseMetadata", {})
        return response
    except ClientError as error:
        metadata = cast("Mapping[str, Any]", error.response.get("ResponseMetadata", {}))
        raise
    finally:
        elapsed = time.perf_counter() - started
        if elapsed > SLOW_CALL_SECONDS:
            logger.warning(
                SLOW_CALL_MESSAGE,
                extra={
                    "operation": operation,
                    "milliseconds": round(elapsed * 1000),
                    "retries": metadata.get("RetryAttempts"),
                },
            )


def _translate(error: ClientError | BotoCoreError, operation: str) -> StoreError:
    """Classifies a botocore failure; the text names the cause, never a value."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "Unknown")
        if code in TRANSIENT_ERROR_CODES:
            return StoreUnavailableError(f"DynamoDB {operation} failed: {code}")
        return StoreMisconfiguredError(f"DynamoDB {operation} failed: {code}")
    if isinstance(error, BotocoreConnectionError | HTTPClientError):
        return StoreUnavailableError(f"DynamoDB {operation} failed: {type(error).__name__}")
    return StoreMisconfiguredError(f"DynamoDB {operation} failed: {type(error).__name__}")
