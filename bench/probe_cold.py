"""One cold start, run as a script in a fresh, Lambda-like process (see `lambda_env`).

    probe_cold.py RESULT_FD floor OPERATION TABLE
    probe_cold.py RESULT_FD function HANDLER EVENT_FILE

`floor` is the least any Python function can do: import boto3, create a DynamoDB
client (`floor_init.py`), make one call. `function` imports the handler named in the template and
answers one event. Both write their timestamps (`time.perf_counter_ns`, the
system-wide monotonic clock, so the parent can subtract its own start time) as
JSON to RESULT_FD. Nothing is imported before the code under test but `sys`,
`os` and `time`, which the interpreter has loaded anyway.
"""

import os
import sys
import time
from typing import Any

INJECTED_CPU_VARIABLE = "BENCH_INJECTED_CPU_MS"
"""Set by `make bench BENCH_ARGS="--inject-cold-cpu-ms N"` only: the function's cold start burns N ms of CPU first."""


class LambdaContext:
    """What the handlers and Powertools read from Lambda's context object."""

    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "bench")
    memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"))
    invoked_function_arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{function_name}"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 6000


def peak_rss_kb() -> int:
    """This process's resident high-water mark (`ru_maxrss` would count the parent's before `exec`)."""
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def cpu_ns() -> int:
    """CPU time of this process so far, user and system: what waiting for a busy core does not add."""
    return time.process_time_ns()


def floor(operation: str, table: str) -> dict[str, object]:
    from floor_init import client  # type: ignore[import-not-found]  # import boto3, create the client

    initialised = time.perf_counter_ns()
    response: Any
    if operation == "GetItem":
        response = client.get_item(TableName=table, Key={"username": {"S": "nobody"}})
    else:
        response = client.put_item(
            TableName=table, Item={"username": {"S": "nobody"}, "dateOfBirth": {"S": "1990-05-10"}}
        )
    done, cpu = time.perf_counter_ns(), cpu_ns()
    return {
        "initialised": initialised,
        "done": done,
        "cpu": cpu,
        "status": response["ResponseMetadata"]["HTTPStatusCode"],
    }


def burn_cpu(milliseconds: float) -> None:
    """A regression of a known size, for proving the budget: `milliseconds` of CPU time spent doing nothing useful."""
    deadline = cpu_ns() + milliseconds * 1e6
    while cpu_ns() < deadline:
        pass


def function(handler_name: str, event_file: str) -> dict[str, object]:
    import importlib

    burn_cpu(float(os.environ.get(INJECTED_CPU_VARIABLE) or 0))
    module_name, _, attribute = handler_name.rpartition(".")
    handler = getattr(importlib.import_module(module_name), attribute)
    initialised = time.perf_counter_ns()
    import json  # after the init phase: the handler has imported it already, the floor has not

    with open(event_file, encoding="utf-8") as source:
        event = json.load(source)
    response = handler(event, LambdaContext())
    done, cpu = time.perf_counter_ns(), cpu_ns()
    return {"initialised": initialised, "done": done, "cpu": cpu, "status": response["statusCode"]}


def main() -> None:
    result_fd, mode, *args = sys.argv[1:]
    result = floor(*args) if mode == "floor" else function(*args)
    import json

    result["peak_rss_kb"] = peak_rss_kb()
    os.write(int(result_fd), json.dumps(result).encode())


if __name__ == "__main__":
    main()
