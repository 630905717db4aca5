"""pipeline.yaml is deployed the way docs/pipeline.md says (`make pipeline`), and fits the limit that way implies.

`make pipeline` runs `sam deploy --resolve-s3`, which uploads the template to S3 and hands
CloudFormation its URL: the 1 MB of a TemplateURL applies, not the 51,200 bytes of an
inline TemplateBody (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html).
The SAM CLI is run here on the very command make builds, stopped where it would deploy.
"""

from __future__ import annotations

import inspect
import shlex
import subprocess
from typing import Any

from click.testing import CliRunner

from tests.support.paths import ROOT

TEMPLATE_URL_LIMIT = 1_048_576
"""The most CloudFormation reads from a template's S3 URL."""
ARGUMENTS = ["CONNECTION_ARN=arn:aws:codeconnections:eu-west-1:123456789012:connection/x", "REPOSITORY=org/repo"]


def make_pipeline_command(*make_args: str) -> list[str]:
    dry_run = subprocess.run(
        ["make", "-n", "pipeline", *ARGUMENTS, *make_args], cwd=ROOT, capture_output=True, text=True, check=True
    )
    (command,) = [line for line in dry_run.stdout.replace("\\\n", " ").splitlines() if " deploy " in line]
    return shlex.split(command)


def sam_deploy_as_make_runs_it(*make_args: str) -> dict[str, Any]:
    """The arguments `sam deploy` would deploy with, as its own option handling (samconfig.toml too) leaves them."""
    import samcli.commands.deploy.command as deploy_command
    from samcli.cli.main import cli

    command = make_pipeline_command(*make_args)
    assert command[0].endswith("/sam")
    recorded: dict[str, Any] = {}
    real_do_cli = deploy_command.do_cli

    def record(*args: Any, **kwargs: Any) -> None:
        recorded.update(inspect.signature(real_do_cli).bind(*args, **kwargs).arguments)

    deploy_command.do_cli = record
    try:
        result = CliRunner().invoke(cli, command[1:], catch_exceptions=False, env={"SAM_CLI_TELEMETRY": "0"})
    finally:
        deploy_command.do_cli = real_do_cli
    assert result.exit_code == 0, result.output
    return recorded


def test_the_documented_deploy_is_make_pipeline() -> None:
    guide = (ROOT / "docs" / "pipeline.md").read_text()
    assert "make pipeline CONNECTION_ARN=" in guide
    assert "aws cloudformation deploy \\" not in guide


def test_make_pipeline_sends_the_template_through_s3_and_it_fits_what_cloudformation_reads_there() -> None:
    deployed = sam_deploy_as_make_runs_it()
    assert deployed["template_file"].endswith("pipeline.yaml")
    assert deployed["resolve_s3"] is True  # an S3 uploader: sam deploy then passes TemplateURL
    assert (ROOT / "pipeline.yaml").stat().st_size <= TEMPLATE_URL_LIMIT


def test_make_pipeline_takes_nothing_from_the_applications_samconfig() -> None:
    """samconfig.toml's [default] deploys dev; none of its settings may reach the pipeline stack."""
    deployed = sam_deploy_as_make_runs_it(
        "APPLICATION_NAME=greeter-x", "BRANCH=release", "HOSTED_ZONE_ID=Z0EXAMPLE1234"
    )
    assert deployed["stack_name"] == "greeter-x-pipeline"
    assert deployed["parameter_overrides"] == {
        "ConnectionArn": ARGUMENTS[0].split("=", 1)[1],
        "FullRepositoryId": "org/repo",
        "ApplicationName": "greeter-x",
        "BranchName": "release",
        "HostedZoneId": "Z0EXAMPLE1234",
    }
    assert set(deployed["capabilities"]) == {"CAPABILITY_NAMED_IAM"}
    assert not deployed["tags"]


def test_make_pipeline_without_its_two_required_values_says_so() -> None:
    done = subprocess.run(["make", "-s", "pipeline"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "make pipeline CONNECTION_ARN=<arn> REPOSITORY=<owner>/<name>" in done.stderr
