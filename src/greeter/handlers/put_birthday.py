"""PUT /hello/{username}: store a date of birth (204, creates or replaces)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from greeter import service, transport
from greeter.domain import DEFAULT_TIME_ZONE
from greeter.handlers import init_done
from greeter.store import DynamoDBBirthdayStore

logger = Logger()
metrics = Metrics()
app = transport.make_resolver()
store = DynamoDBBirthdayStore.from_environment()


@app.put("/hello/<username>")
def put_birthday(**_raw_path: str) -> Response[None]:
    # The route regex sees the encoded path; API Gateway's decoded name is the one that counts.
    username = transport.path_username(app.current_event)
    transport.check_token_is_for(app.current_event, username)  # before the body: a 403 reads and stores nothing
    body = transport.json_object_body(app.current_event)
    run = transport.smoke_test_run(app.current_event)
    zone = body.get(transport.TIME_ZONE_FIELD, DEFAULT_TIME_ZONE)  # absent: UTC, as before zones existed
    service.save_birthday(store, username, body.get("dateOfBirth"), zone, smoke_test_run=run)
    metrics.add_metric(name="BirthdaysSaved", unit=MetricUnit.Count, value=1)
    return Response(status_code=204)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


init_done()  # the last line of the init phase (greeter/handlers/__init__.py)
