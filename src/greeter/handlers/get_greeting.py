"""GET /hello/{username}: greet a stored user; every other method answers 405 here."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from greeter import service, transport
from greeter.handlers import init_done
from greeter.store import DynamoDBBirthdayStore

logger = Logger()
metrics = Metrics()
app = transport.make_resolver()
store = DynamoDBBirthdayStore.from_environment()


@app.get("/hello/<username>")
def get_greeting(**_raw_path: str) -> dict[str, str]:
    # The route regex sees the encoded path; API Gateway's decoded name is the one that counts.
    username = transport.path_username(app.current_event)
    transport.check_token_is_for(app.current_event, username)  # only when JwtProtectGet guards the route
    message = service.greet(store, username, smoke_test_run=transport.smoke_test_run(app.current_event))
    metrics.add_metric(name="GreetingsServed", unit=MetricUnit.Count, value=1)
    return {"message": message}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


init_done()  # the last line of the init phase (greeter/handlers/__init__.py)
