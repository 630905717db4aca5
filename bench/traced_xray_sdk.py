"""Tracing option (a): the function as deployed, under Powertools' Tracer on the AWS X-Ray SDK.

How both handlers traced until issue 20: `Tracer(patch_modules=["botocore"])`
(a subsegment for each DynamoDB call) and `capture_lambda_handler` with
`capture_response=False` around the handler. The bench imports this module as
the function's handler (BENCH_TRACED_HANDLER names the real one), with
aws-xray-sdk and wrapt on the path, so the cold start and the warm invocations
pay what that package paid. The X-Ray SDK reaches its end of support on
25 February 2027; the deployed package no longer holds it.
"""

import importlib
import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Tracer

tracer = Tracer(patch_modules=["botocore"])
_module, _, _name = os.environ["BENCH_TRACED_HANDLER"].rpartition(".")
_handler: Callable[[dict[str, Any], Any], dict[str, Any]] = getattr(importlib.import_module(_module), _name)
lambda_handler = tracer.capture_lambda_handler(_handler, capture_response=False)
