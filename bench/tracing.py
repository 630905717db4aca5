"""The tracing options `make bench` measures beside the function as deployed (docs/performance.md, "Tracing").

(b), the choice, is the function as deployed: Lambda's Active tracing records
the invocation and its init phase itself, with no library in the function.
The others wrap the same handler in a bench module (`traced_*.py`) and put
what they need on the function's path, linked from the virtualenv as
`pip install --target` would lay it out: (a) the Powertools Tracer on the
X-Ray SDK, as the functions traced before, (c) OpenTelemetry in the function.
They are measured on the GET function only: both functions make one DynamoDB
call, so what tracing adds is the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import lambda_package

from bench import lambda_env

DEPLOYED_OPTION = "(b) Active tracing, no library in the function (deployed)"
TRACED_HANDLER_VARIABLE = "BENCH_TRACED_HANDLER"
MEASURED_METHOD = "GET"


@dataclass(frozen=True)
class TracingOption:
    key: str
    label: str
    handler: str
    """The bench module's handler, which wraps the function's own (named by BENCH_TRACED_HANDLER)."""
    distributions: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"({self.key}) {self.label}"


OPTIONS = (
    TracingOption("a", "Powertools Tracer on aws-xray-sdk", "traced_xray_sdk.lambda_handler", ("aws-xray-sdk",)),
    TracingOption(
        "c",
        "OpenTelemetry SDK in the function",
        "traced_opentelemetry.lambda_handler",
        (
            "opentelemetry-sdk",
            "opentelemetry-sdk-extension-aws",
            "opentelemetry-propagator-aws-xray",
            "opentelemetry-instrumentation-botocore",
            "opentelemetry-exporter-otlp-proto-common",
        ),
    ),
)


def subject_name(function_name: str, option: TracingOption) -> str:
    return f"{function_name} {option.name}"


def provided_distributions(task_root: Path) -> set[str]:
    """What the function's package and the runtime hold already: an option adds only the rest."""
    in_package = {path.name.removesuffix(".dist-info").rsplit("-", 1)[0] for path in task_root.glob("*.dist-info")}
    return {lambda_env.normalised(name) for name in in_package | set(lambda_package.RUNTIME_DISTRIBUTIONS)}


def prepare(option: TracingOption, task_root: Path, workdir: Path) -> tuple[Path, dict[str, int]]:
    """The folder to put first on the function's path; the unzipped bytes of each distribution it adds."""
    folder = workdir / "tracing" / option.key
    sizes = lambda_env.link_distributions(option.distributions, folder, provided_distributions(task_root))
    return folder, sizes


def environment(function_environment: dict[str, str], folder: Path, handler: str) -> dict[str, str]:
    """The function's environment with `folder` first on its path and the real handler named for the wrapper."""
    return {
        **function_environment,
        "PYTHONPATH": str(folder) + ":" + function_environment["PYTHONPATH"],
        TRACED_HANDLER_VARIABLE: handler,
    }
