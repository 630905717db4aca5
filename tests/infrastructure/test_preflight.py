"""`deploy.preflight`: a deploy that would fail late, or page nobody, is stopped before anything is built.

The concurrency check runs against moto's Lambda and CloudFormation. moto has
no GetAccountSettings, so the account's figures are handed to the client as
that call's answer (a botocore `before-call` handler); and the check's rule is
compared with moto's own model of Lambda's (MOTO_LAMBDA_CONCURRENCY_QUOTA: a
reservation may not leave less than 100 unreserved).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import moto
import pytest
from botocore.awsrequest import AWSResponse

from deploy.preflight import (
    MAX_STACK_NAME_LENGTH,
    Concurrency,
    alarm_problems,
    check,
    concurrency_problems,
    main,
    reserved_by_stack,
    stack_name_problems,
)
from deploy.template_configuration import StackSettings
from tests.support.cloudformation import Deployment
from tests.support.paths import ROOT
from tests.support.sam import sam_template

NEW_ACCOUNT = Concurrency(limit=10, unreserved=10)
"""A new account's quota can be 10 concurrent executions (Lambda quotas page); none of it can be reserved."""


def settings(**parameters: str) -> StackSettings:
    return StackSettings(stack_name="birthday-greeter-staging", parameters=dict(parameters), tags={})


def test_a_stack_name_longer_than_the_names_built_from_it_allow_is_refused() -> None:
    assert stack_name_problems(StackSettings("s" * MAX_STACK_NAME_LENGTH, {}, {})) == []
    assert "at most 37" in stack_name_problems(StackSettings("s" * (MAX_STACK_NAME_LENGTH + 1), {}, {}))[0]


def rule_holds(parameters: dict[str, str]) -> bool:
    template = sam_template()
    deployment = Deployment(template, parameters)
    rule = template["Rules"]["AlarmsPageSomeoneOutsideDev"]
    return all(deployment.resolve(assertion["Assert"]) for assertion in rule["Assertions"])


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
@pytest.mark.parametrize("email", ["", "oncall@example.com"])
def test_staging_and_prod_page_someone_in_the_template_and_before_the_build(environment: str, email: str) -> None:
    """The template's rule (CloudFormation refuses the change set) and its mirror here give the same verdict."""
    parameters = {"Environment": environment, **({"AlarmEmail": email} if email else {})}
    refused = environment != "dev" and not email
    assert rule_holds(parameters) is not refused
    found = alarm_problems(environment, settings(**parameters))
    assert bool(found) is refused
    if refused:
        assert "AlarmEmail" in found[0]
        assert f"[{environment}]" in found[0]


def test_the_repositorys_staging_and_prod_need_an_alarm_address_before_the_pipeline_can_deploy_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """samconfig.toml ships without one: whoever sets up the pipeline names who is paged (docs/pipeline.md)."""
    for environment in ("staging", "prod"):
        assert main(["--environment", environment, "--offline"]) == 1
        assert "sets no AlarmEmail" in capsys.readouterr().err
    assert main(["--environment", "dev", "--offline"]) == 0
    assert "preflight (dev): ok" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("account", "reserved", "refused"),
    [
        (NEW_ACCOUNT, "0", False),  # no reservation: a new account deploys
        (NEW_ACCOUNT, "1", True),  # any reservation exceeds it
        (Concurrency(1000, 1000), "300", False),  # 3 functions x 300 = 900 leaves 100
        (Concurrency(1000, 1000), "301", True),
        (Concurrency(1000, 700), "200", False),  # others reserve 300 already: 600 of 600
        (Concurrency(1000, 700), "201", True),
    ],
)
def test_reserved_concurrency_is_checked_against_the_account(
    account: Concurrency, reserved: str, refused: bool
) -> None:
    found = concurrency_problems("staging", settings(ReservedConcurrency=reserved), account, reserved_now=0)
    assert bool(found) is refused
    if refused:
        assert f"ReservedConcurrency={reserved} reserves {3 * int(reserved)} (3 functions)" in found[0]
        assert "L-B99A9384" in found[0]


def test_without_cors_three_functions_reserve_and_with_cors_two() -> None:
    """OptionsNotAllowedFunction exists only while CORS is off: the template decides, as CloudFormation would."""
    with_cors = settings(ReservedConcurrency="40", CorsAllowedOrigins="https://app.example.com")
    assert concurrency_problems("staging", with_cors, Concurrency(180, 180), reserved_now=0) == []
    assert concurrency_problems("staging", settings(ReservedConcurrency="40"), Concurrency(180, 180), 0) != []


def answering_account_settings(client: Any, account: Concurrency) -> None:
    """GetAccountSettings, which moto does not have, answered with the account's figures."""
    answer = {
        "AccountLimit": {"ConcurrentExecutions": account.limit, "UnreservedConcurrentExecutions": account.unreserved}
    }

    def respond(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse("https://lambda.eu-west-1.amazonaws.com", 200, {}, None), answer

    client.meta.events.register("before-call.lambda.GetAccountSettings", respond)


@pytest.fixture
def aws() -> Iterator[boto3.session.Session]:
    with moto.mock_aws():
        yield boto3.session.Session(region_name="eu-west-1")


FUNCTION_STACK = {
    "Resources": {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            },
        },
        **{
            name: {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.13",
                    "Handler": "index.handler",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": {"ZipFile": "def handler(event, context): pass"},
                    "ReservedConcurrentExecutions": 5,
                },
            }
            for name in ("PutBirthdayFunction", "GetGreetingFunction")
        },
    }
}


def test_what_the_stack_reserves_already_is_counted_back(aws: boto3.session.Session) -> None:
    cloudformation, lambda_client = aws.client("cloudformation"), aws.client("lambda")
    assert reserved_by_stack("birthday-greeter-staging", cloudformation, lambda_client) == 0  # not created yet
    cloudformation.create_stack(StackName="birthday-greeter-staging", TemplateBody=json.dumps(FUNCTION_STACK))
    assert reserved_by_stack("birthday-greeter-staging", cloudformation, lambda_client) == 10


def test_the_whole_check_runs_against_moto(aws: boto3.session.Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """`check` with a session: samconfig.toml's dev settings, moto's stack, the account's figures."""
    real_client = aws.client

    def client(service: str, **kwargs: Any) -> Any:
        made = real_client(service, **kwargs)
        if service == "lambda":
            answering_account_settings(made, NEW_ACCOUNT)
        return made

    monkeypatch.setattr(aws, "client", client)
    assert check("dev", session=aws) == []  # dev reserves nothing: a new account takes it


@pytest.mark.parametrize("quota", [10, 150, 1000])
@pytest.mark.parametrize("reserved", [1, 16, 17, 300, 301])
def test_the_rule_is_lambdas_as_moto_models_it(
    aws: boto3.session.Session, monkeypatch: pytest.MonkeyPatch, quota: int, reserved: int
) -> None:
    """For the three functions of a stack, the check refuses exactly what moto's Lambda refuses."""
    monkeypatch.setenv("MOTO_LAMBDA_CONCURRENCY_QUOTA", str(quota))
    iam, lambda_client = aws.client("iam"), aws.client("lambda")
    role = iam.create_role(
        RoleName="r",
        AssumeRolePolicyDocument=json.dumps(
            FUNCTION_STACK["Resources"]["Role"]["Properties"]["AssumeRolePolicyDocument"]
        ),
    )
    accepted = True
    for number in range(3):
        name = f"function{number}"
        lambda_client.create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=role["Role"]["Arn"],
            Handler="index.handler",
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        )
        try:
            lambda_client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=reserved)
        except lambda_client.exceptions.InvalidParameterValueException:
            accepted = False
            break
    found = concurrency_problems("staging", settings(ReservedConcurrency=str(reserved)), Concurrency(quota, quota), 0)
    assert (not found) is accepted, (quota, reserved, found)


def test_make_deploy_checks_first_and_verifies_the_stack_over_http_after() -> None:
    """A first deploy runs no pre-traffic hook: the end-to-end suite on the dev stack is what verifies it."""
    shown = subprocess.run(
        ["make", "-n", "deploy"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    ).stdout.splitlines()

    def line_of(text: str) -> int:
        return next(number for number, line in enumerate(shown) if text in line)

    assert line_of("deploy.preflight --environment dev") < line_of("sam deploy --config-env default")
    assert line_of("sam deploy --config-env default") < line_of("E2E_STACK='birthday-greeter-dev'")


def test_without_credentials_every_problem_is_one_line_and_none_is_hidden(tmp_path: Any) -> None:
    """No region and no credentials: the offline findings still print, and the AWS error is a line, not a traceback."""
    nowhere = str(tmp_path / "none")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src"), str(ROOT / "local")]),
        "AWS_CONFIG_FILE": nowhere,
        "AWS_SHARED_CREDENTIALS_FILE": nowhere,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    done = subprocess.run(
        [sys.executable, "-m", "deploy.preflight", "--environment", "staging"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "AlarmEmail" in done.stderr, done.stderr
    assert "cannot read the account's Lambda concurrency" in done.stderr, done.stderr


def test_what_the_stack_reserves_already_is_not_counted_twice() -> None:
    """A stack that reserves 3 x 100 of a 400 quota leaves 100 unreserved; deploying it again with the same 100 is no
    new reservation, and must pass; asking 101 a function is 3 more than the account has."""
    account = Concurrency(limit=400, unreserved=100)
    assert concurrency_problems("staging", settings(ReservedConcurrency="100"), account, reserved_now=300) == []
    assert concurrency_problems("staging", settings(ReservedConcurrency="101"), account, reserved_now=300) != []
