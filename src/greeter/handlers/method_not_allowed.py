"""OPTIONS /hello/{username} while the API has no CORS configuration: 405 with Allow, like other methods.

The resolver has no routes, so every request reaches the error mapping's
"no route" answer (greeter.transport), the same 405 GetGreeting gives.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from greeter import transport
from greeter.handlers import init_done

logger = Logger()
app = transport.make_resolver()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


init_done()  # the last line of the init phase (greeter/handlers/__init__.py)
