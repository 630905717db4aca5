"""Tracing option (c): the function as deployed, traced with the OpenTelemetry SDK in its own process.

What an X-Ray-compatible OpenTelemetry set-up does in the function, written
here from the upstream packages: X-Ray trace ids (`AwsXRayIdGenerator`), the
invocation's span a child of Lambda's trace (`_X_AMZN_TRACE_ID`, read with
`AwsXRayPropagator`, whose sampling decision it follows), a span for each
DynamoDB call (`BotocoreInstrumentor`), and every finished span encoded as OTLP
protobuf and sent in one UDP datagram to the X-Ray daemon's address, before
the invocation returns (Lambda freezes the process after it).

A lower bound of what the ADOT Lambda layer costs: the layer also starts the
SDK through a wrapper script that loads an instrumentation for every library
it finds, and ships more of OpenTelemetry. The bench imports this module as
the function's handler (BENCH_TRACED_HANDLER names the real one).
"""

import importlib
import os
import socket
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
from opentelemetry.propagators.aws import AwsXRayPropagator
from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

TRACE_HEADER = "X-Amzn-Trace-Id"


class DaemonExporter(SpanExporter):
    """Finished spans, OTLP protobuf, one UDP datagram each time to AWS_XRAY_DAEMON_ADDRESS."""

    def __init__(self) -> None:
        host, _, port = os.environ.get("AWS_XRAY_DAEMON_ADDRESS", "127.0.0.1:2000").rpartition(":")
        self._address = (host, int(port))
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            self._socket.sendto(encode_spans(spans).SerializeToString(), self._address)
        except OSError:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._socket.close()


provider = TracerProvider(id_generator=AwsXRayIdGenerator())
provider.add_span_processor(SimpleSpanProcessor(DaemonExporter()))
trace.set_tracer_provider(provider)
BotocoreInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
tracer = trace.get_tracer(__name__)
propagator = AwsXRayPropagator()

_module, _, _name = os.environ["BENCH_TRACED_HANDLER"].rpartition(".")
_handler: Callable[[dict[str, Any], Any], dict[str, Any]] = getattr(importlib.import_module(_module), _name)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    parent = propagator.extract({TRACE_HEADER: os.environ.get("_X_AMZN_TRACE_ID", "")})
    with tracer.start_as_current_span(context.function_name, context=parent, kind=trace.SpanKind.SERVER):
        return _handler(event, context)
