"""Checks before a deploy, for what would otherwise fail it late or leave it paging nobody.

    python -m deploy.preflight --environment dev|staging|prod [--offline]

Run by `make deploy` before `sam deploy` (dev) and by the pipeline's Build stage for
staging and prod, with the deployer's credentials. It reads the environment's settings
from samconfig.toml, as `sam deploy --config-env` does, and checks:

- the stack name fits every name the template builds from it (MAX_STACK_NAME_LENGTH);
- staging and prod name someone their alarms page (AlarmEmail), as the template's own
  AlarmsPageSomeoneOutsideDev rule does at deploy time, but before anything is built;
- the reserved concurrency the functions would take fits the account: Lambda keeps 100
  unreserved (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html),
  and a new account's quota can be as low as 10, which any ReservedConcurrency > 0 exceeds.
  Read from lambda:GetAccountSettings; what this stack's functions reserve already is
  counted back (cloudformation:DescribeStackResources, lambda:GetFunctionConcurrency).

`--offline` runs the first two only (no AWS call), as `make test` can.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from deploy.template_configuration import StackSettings, samconfig_settings
from localapi.template import SamTemplate

MAX_STACK_NAME_LENGTH = 37
"""The longest stack name all of template.yaml's names fit: `CodeDeployHook_<stack>-GetGreeting` is 64, Lambda's
limit. tests/infrastructure/test_name_limits.py shows names fit at 37 and break at 38."""
MIN_UNRESERVED_CONCURRENCY = 100
"""What Lambda keeps for functions without a reservation; a reservation that would leave less is refused."""
SAMCONFIG_ENVIRONMENTS = {"dev": "default", "staging": "staging", "prod": "prod"}


@dataclass(frozen=True)
class Concurrency:
    """The account's concurrency in the region, as Lambda reports it."""

    limit: int
    unreserved: int


def stack_name_problems(settings: StackSettings) -> list[str]:
    name = settings.stack_name
    if len(name) > MAX_STACK_NAME_LENGTH:
        return [
            f"stack name {name} has {len(name)} characters; names built from it (CodeDeployHook_<stack>-GetGreeting,"
            f" 64 at most) need it to be at most {MAX_STACK_NAME_LENGTH}"
        ]
    return []


def alarm_problems(environment: str, settings: StackSettings) -> list[str]:
    """The template's AlarmsPageSomeoneOutsideDev rule, checked before the build (its mirror; test_preflight.py)."""
    if settings.parameters.get("Environment", "dev") != "dev" and not settings.parameters.get("AlarmEmail"):
        return [
            f"samconfig.toml's [{environment}] sets no AlarmEmail: its alarms would page nobody. Add"
            " AlarmEmail=<address> to its parameter_overrides (the address confirms the SNS subscription)"
        ]
    return []


def reserved_by_template(settings: StackSettings) -> tuple[int, int]:
    """(total reserved concurrency, number of functions reserving), with the environment's parameter values."""
    functions = SamTemplate(parameter_overrides=settings.parameters).api_functions()
    reserving = [function.reserved_concurrency for function in functions if function.reserved_concurrency]
    return sum(reserving), len(reserving)


def reserved_by_stack(stack_name: str, cloudformation: Any, lambda_client: Any) -> int:
    """What the stack's functions reserve now (0 for a stack that does not exist yet)."""
    try:
        resources = cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
    except cloudformation.exceptions.ClientError as error:
        if "does not exist" in str(error):
            return 0
        raise
    total = 0
    for resource in resources:
        if resource["ResourceType"] == "AWS::Lambda::Function" and resource.get("PhysicalResourceId"):
            answer = lambda_client.get_function_concurrency(FunctionName=resource["PhysicalResourceId"])
            total += int(answer.get("ReservedConcurrentExecutions") or 0)
    return total


def account_concurrency(lambda_client: Any) -> Concurrency:
    limits = lambda_client.get_account_settings()["AccountLimit"]
    return Concurrency(
        limit=int(limits["ConcurrentExecutions"]), unreserved=int(limits["UnreservedConcurrentExecutions"])
    )


def concurrency_problems(
    environment: str, settings: StackSettings, account: Concurrency, reserved_now: int
) -> list[str]:
    """Lambda refuses a reservation that leaves less than 100 unreserved; this says so before CloudFormation does."""
    wanted, functions = reserved_by_template(settings)
    can_reserve = account.unreserved + reserved_now - MIN_UNRESERVED_CONCURRENCY
    if wanted <= max(can_reserve, 0):
        return []
    value = settings.parameters.get("ReservedConcurrency", "0")
    return [
        f"ReservedConcurrency={value} reserves {wanted} ({functions} functions) of the account's concurrency, but"
        f" only {max(can_reserve, 0)} can be reserved here (quota {account.limit}, unreserved {account.unreserved},"
        f" this stack's {reserved_now} counted back; Lambda keeps {MIN_UNRESERVED_CONCURRENCY} unreserved)."
        f" Lower ReservedConcurrency in samconfig.toml's [{environment}] (0 reserves none), or ask for a higher"
        " 'Concurrent executions' quota in Service Quotas (AWS Lambda, L-B99A9384)"
    ]


def check(environment: str, *, offline: bool = False, session: Any = None) -> list[str]:
    """Every problem found for the environment; an empty list when the deploy may go ahead."""
    settings = samconfig_settings(SAMCONFIG_ENVIRONMENTS.get(environment, environment))
    found = stack_name_problems(settings) + alarm_problems(environment, settings)
    if not offline:
        import boto3  # noqa: PLC0415 - only the online checks need it
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        try:
            session = session or boto3.session.Session()
            lambda_client = session.client("lambda")
            reserved_now = reserved_by_stack(settings.stack_name, session.client("cloudformation"), lambda_client)
            account = account_concurrency(lambda_client)
        except (BotoCoreError, ClientError) as error:  # no credentials, no region, a call refused: say so, in one line
            return [*found, f"cannot read the account's Lambda concurrency with these AWS credentials: {error}"]
        found += concurrency_problems(environment, settings, account, reserved_now)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.preflight", description=__doc__.splitlines()[0])
    parser.add_argument("--environment", required=True, choices=sorted(SAMCONFIG_ENVIRONMENTS))
    parser.add_argument("--offline", action="store_true", help="only the checks that need no AWS call")
    arguments = parser.parse_args(argv)
    found = check(arguments.environment, offline=arguments.offline)
    for problem in found:
        print(f"preflight ({arguments.environment}): {problem}", file=sys.stderr)
    if not found:
        print(f"preflight ({arguments.environment}): ok")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
