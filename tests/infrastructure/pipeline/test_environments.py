"""One truth per environment: the pipeline deploys the stack `sam deploy --config-env <env>` would.

Both ways are followed to the stack CloudFormation would get. `sam deploy` is the SAM
CLI itself, run on samconfig.toml with its deploy step replaced by a recorder; the
pipeline is pipeline.yaml's deploy action reading the template configuration file that
`make template-configuration` writes, as the Build stage runs it. Each way's parameter
values are translated with samtranslator; the stacks must be equal.
"""

from __future__ import annotations

import inspect
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from deploy.template_configuration import PIPELINE_ENVIRONMENTS, main
from tests.infrastructure.pipeline.test_pipeline_template import by_run_order, stage
from tests.support.cloudformation import Deployment
from tests.support.paths import ROOT
from tests.support.sam import sam_template, translate

DEPLOY_STAGES = {"staging": "DeployStaging", "prod": "DeployProd"}


@dataclass(frozen=True)
class Stack:
    """What CloudFormation is asked for: which stack, with which template, parameter values and tags."""

    name: str
    template: dict[str, Any]
    parameters: dict[str, str]
    tags: dict[str, str]
    capabilities: frozenset[str]

    @classmethod
    def of(cls, name: str, overrides: dict[str, str], tags: dict[str, str], capabilities: set[str]) -> Stack:
        template = translate(overrides)
        # What a stack created with these overrides runs with: the template's defaults for the rest.
        values = Deployment(template, overrides).parameters
        return cls(name, template, values, dict(tags), frozenset(capabilities))


def by_sam_deploy(environment: str) -> Stack:
    """`sam deploy --config-env <env>`: the SAM CLI's own option handling, stopped where it would deploy."""
    import samcli.commands.deploy.command as deploy_command
    from samcli.cli.main import cli

    recorded: dict[str, Any] = {}

    def record(*args: Any, **kwargs: Any) -> None:
        recorded.update(inspect.signature(real_do_cli).bind(*args, **kwargs).arguments)

    real_do_cli = deploy_command.do_cli
    deploy_command.do_cli = record
    try:
        arguments = ["deploy", "--config-env", environment, "--config-file", str(ROOT / "samconfig.toml")]
        result = CliRunner().invoke(cli, arguments, catch_exceptions=False, env={"SAM_CLI_TELEMETRY": "0"})
    finally:
        deploy_command.do_cli = real_do_cli
    assert result.exit_code == 0, result.output
    return Stack.of(
        recorded["stack_name"],
        recorded["parameter_overrides"] or {},
        recorded["tags"] or {},
        set(recorded["capabilities"]),
    )


@pytest.fixture(scope="module")
def built_configurations(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Build stage's template configuration files, written by the command buildspec.yml runs."""
    output = tmp_path_factory.mktemp("build")
    subprocess.run(
        ["make", "-s", "template-configuration", f"TEMPLATE_CONFIGURATION_DIR={output}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return output


def by_pipeline(environment: str, pipeline_template: dict[str, Any], built: Path) -> Stack:
    """pipeline.yaml's change-set action for the environment, with the configuration file the build wrote."""
    create = by_run_order(stage(pipeline_template, DEPLOY_STAGES[environment])["Actions"])[0]
    config = create["Configuration"]
    application = pipeline_template["Parameters"]["ApplicationName"]["Default"]
    stack_name = config["StackName"]["Fn::Sub"].replace("${ApplicationName}", application)
    artifact, path = config["TemplateConfiguration"].split("::")
    assert artifact == "BuildOutput"
    assert path.startswith("deploy/")
    configuration = json.loads((built / path.removeprefix("deploy/")).read_text())
    return Stack.of(
        stack_name, configuration["Parameters"], configuration["Tags"], set(config["Capabilities"].split(","))
    )


@pytest.fixture(scope="module")
def both_ways(pipeline_template: dict[str, Any], built_configurations: Path) -> dict[str, tuple[Stack, Stack]]:
    """{environment: (the stack `sam deploy` asks for, the stack the pipeline asks for)}."""
    return {
        environment: (by_sam_deploy(environment), by_pipeline(environment, pipeline_template, built_configurations))
        for environment in PIPELINE_ENVIRONMENTS
    }


@pytest.mark.parametrize("environment", PIPELINE_ENVIRONMENTS)
def test_the_pipeline_deploys_the_stack_sam_deploy_would(
    environment: str, both_ways: dict[str, tuple[Stack, Stack]]
) -> None:
    sam_way, pipeline_way = both_ways[environment]

    assert pipeline_way.name == sam_way.name
    assert pipeline_way.parameters == sam_way.parameters
    assert pipeline_way.tags == sam_way.tags
    assert pipeline_way.template == sam_way.template
    assert sam_way.capabilities <= pipeline_way.capabilities


def documented_settings() -> dict[str, dict[str, str]]:
    """docs/deployment.md's table of environments: {row: {environment: value}}."""
    lines = (ROOT / "docs" / "deployment.md").read_text().splitlines()
    start = lines.index("| | dev | staging | prod |")
    table = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        table.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return {row[0]: dict(zip(("dev", "staging", "prod"), row[1:], strict=True)) for row in table}


@pytest.mark.parametrize("environment", PIPELINE_ENVIRONMENTS)
def test_each_way_keeps_the_documented_retention_and_deletion_protection(
    environment: str, both_ways: dict[str, tuple[Stack, Stack]]
) -> None:
    documented = documented_settings()
    retention_days = re.fullmatch(r"(\d+) days", documented["log retention"][environment])
    assert retention_days
    protected = {"on": "true", "off": "false"}[documented["table deletion protection"][environment]]
    for stack in both_ways[environment]:
        assert stack.parameters["LogRetentionInDays"] == retention_days.group(1)
        assert stack.parameters["TableDeletionProtection"] == protected
    if environment == "prod":
        assert protected == "true"


def test_the_pipeline_reads_only_generated_configuration(buildspec: dict[str, Any]) -> None:
    """No deploy/*.json is kept in git, so a hand-kept second copy cannot come back unnoticed."""
    tracked = subprocess.run(
        ["git", "ls-files", "deploy/*.json"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert tracked == ""
    build = [" ".join(str(c).split()) for c in buildspec["phases"]["build"]["commands"]]
    assert 'make template-configuration APPLICATION_NAME="$APPLICATION_NAME"' in build


def test_the_build_refuses_a_samconfig_that_names_other_stacks(tmp_path: Path) -> None:
    """An ApplicationName that samconfig.toml's stack names do not share fails the build, writing nothing."""
    assert main(["--application-name", "other-app", "--output-dir", str(tmp_path)]) == 1
    assert list(tmp_path.iterdir()) == []


def test_the_build_is_told_the_pipelines_application_name(pipeline_template: dict[str, Any]) -> None:
    variables = pipeline_template["Resources"]["BuildProject"]["Properties"]["Environment"]["EnvironmentVariables"]
    assert {"Name": "APPLICATION_NAME", "Value": {"Ref": "ApplicationName"}} in variables


def test_dev_is_not_the_pipelines(pipeline_template: dict[str, Any]) -> None:
    """dev is `make deploy` from a developer's machine: the pipeline deploys staging and prod only."""
    stacks = {
        action["Configuration"]["StackName"]["Fn::Sub"]
        for stage_name in DEPLOY_STAGES.values()
        for action in stage(pipeline_template, stage_name)["Actions"]
        if "StackName" in action["Configuration"]
    }
    assert stacks == {f"${{ApplicationName}}-{environment}" for environment in PIPELINE_ENVIRONMENTS}
    assert set(sam_template()["Parameters"]["Environment"]["AllowedValues"]) == {"dev", *PIPELINE_ENVIRONMENTS}


@pytest.mark.parametrize("environment", PIPELINE_ENVIRONMENTS)
def test_make_deploy_refuses_what_the_pipeline_deploys(environment: str) -> None:
    result = subprocess.run(
        ["make", "-n", "deploy", f"ENV={environment}"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "deployed only by the pipeline" in result.stderr
    assert "sam deploy" not in result.stdout
