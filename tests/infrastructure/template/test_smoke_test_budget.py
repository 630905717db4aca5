"""The smoke test always gets to clean up, and everyone waiting for it waits long enough.

A Step Functions execution that reaches its own `TimeoutSeconds` stops where it
is, clean-up or not. So every Task has a timeout, and the longest path through
the definition (every attempt timing out, every back-off taken) still ends
before the execution's; the pre-traffic hook and the pipeline's verification
wait longer than that, and the hook still has time to report to CodeDeploy.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

from hooks import smoke_test_hook
from tests.support.pipeline import read_yaml
from tests.support.sam import sam_template, state_machine_definition

LAMBDA_INIT_LIMIT_SECONDS = 10  # Lambda's limit on a function's init phase (outside its Timeout)
BOTOCORE_MAX_BACKOFF_SECONDS = 20  # botocore's standard retry mode: min(20, 2 ** attempt) at most


def task_worst_case_seconds(state: dict[str, Any]) -> float:
    """Every attempt of the Task times out, with the longest back-off between attempts."""
    timeout = state["TimeoutSeconds"]
    retries = [0.0]
    for retrier in state.get("Retry", []):
        interval, rate = retrier.get("IntervalSeconds", 1), retrier.get("BackoffRate", 2.0)
        cap = retrier.get("MaxDelaySeconds", math.inf)
        retries.append(sum(timeout + min(cap, interval * rate**k) for k in range(retrier.get("MaxAttempts", 3))))
    return timeout + max(retries)


def longest_path_seconds(definition: dict[str, Any]) -> float:
    states = definition["States"]

    @cache
    def from_state(name: str, depth: int = 0) -> float:
        assert depth <= len(states), "the definition loops; its longest path would be unbounded"
        state = states[name]
        assert state["Type"] in {"Task", "Pass", "Choice", "Succeed", "Fail"}, state["Type"]
        own = task_worst_case_seconds(state) if state["Type"] == "Task" else 0.0
        following = [state[key] for key in ("Next", "Default") if key in state]
        following += [choice["Next"] for choice in state.get("Choices", [])]
        following += [catch["Next"] for catch in state.get("Catch", [])]
        return own + max((from_state(n, depth + 1) for n in following), default=0.0)

    return from_state(definition["StartAt"])


def test_every_task_has_a_timeout() -> None:
    for name, state in state_machine_definition()["States"].items():
        if state["Type"] == "Task":
            assert state.get("TimeoutSeconds"), name


def test_a_lambda_task_outlasts_any_invocation_so_no_write_lands_after_the_clean_up() -> None:
    function_timeout = sam_template()["Globals"]["Function"]["Timeout"]
    for name, state in state_machine_definition()["States"].items():
        if state["Type"] == "Task" and state["Resource"] == "arn:aws:states:::lambda:invoke":
            assert state["TimeoutSeconds"] > LAMBDA_INIT_LIMIT_SECONDS + function_timeout, name


def test_the_longest_path_ends_before_the_execution_times_out() -> None:
    definition = state_machine_definition()
    assert longest_path_seconds(definition) <= definition["TimeoutSeconds"]


def test_the_hook_waits_for_the_whole_smoke_test_and_still_reports() -> None:
    execution_timeout = state_machine_definition()["TimeoutSeconds"]
    waits = smoke_test_hook.SMOKE_TEST_CONFIG
    reports = smoke_test_hook.REPORT_CONFIG
    assert waits.read_timeout > execution_timeout
    attempts = reports.retries["total_max_attempts"]
    report_seconds = attempts * (reports.connect_timeout + reports.read_timeout) + sum(
        min(BOTOCORE_MAX_BACKOFF_SECONDS, 2**k) for k in range(attempts - 1)
    )
    resources = sam_template()["Resources"]
    for hook in ("PutBirthdaySmokeTestHook", "GetGreetingSmokeTestHook"):
        hook_timeout = resources[hook]["Properties"]["Timeout"]
        assert hook_timeout >= waits.connect_timeout + waits.read_timeout + report_seconds, hook


def test_the_pipeline_waits_for_the_whole_smoke_test() -> None:
    verify = read_yaml("pipeline.yaml")["Resources"]["VerifyDeploymentStateMachine"]["Properties"]["Definition"]
    assert verify["States"]["RunSmokeTest"]["TimeoutSeconds"] > state_machine_definition()["TimeoutSeconds"]
