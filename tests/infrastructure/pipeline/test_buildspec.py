"""buildspec.yml: the Build stage tests, builds and packages exactly what the Deploy stages read."""

from __future__ import annotations

import re
import subprocess
from typing import Any

from deploy.template_configuration import PIPELINE_ENVIRONMENTS
from tests.support.iam import Request, allowed
from tests.support.paths import ROOT
from tests.support.pipeline import deployed_pipeline, role_statements

# Variables CodeBuild itself sets in every build.
CODEBUILD_VARIABLES = {"AWS_REGION", "AWS_DEFAULT_REGION", "CODEBUILD_SRC_DIR"}


def commands(buildspec: dict[str, Any]) -> list[str]:
    """Every command, in the order CodeBuild runs the phases."""
    phases = buildspec["phases"]
    ordered = ("install", "pre_build", "build", "post_build")
    return [" ".join(str(c).split()) for phase in ordered for c in phases.get(phase, {}).get("commands", [])]


def index_of(buildspec: dict[str, Any], pattern: str) -> int:
    matches = [i for i, command in enumerate(commands(buildspec)) if re.search(pattern, command)]
    assert len(matches) == 1, f"expected one command matching {pattern!r}, found {len(matches)}"
    return matches[0]


def makefile_recipe(target: str) -> str:
    """The recipe lines of one Makefile target."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{target}:"))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return "\n".join(recipe)


def test_runs_on_the_python_version_the_repo_pins(buildspec: dict[str, Any]) -> None:
    assert str(buildspec["version"]) == "0.2"
    pinned = (ROOT / ".python-version").read_text().strip()
    assert str(buildspec["phases"]["install"]["runtime-versions"]["python"]) == pinned == "3.13"


def test_installs_pinned_dependencies_through_the_repos_bootstrap(buildspec: dict[str, Any]) -> None:
    index_of(buildspec, r"^make venv$")
    # What `make venv` would run, expanded by make itself (-n: print, do not run; -B: as if stale).
    dry_run = subprocess.run(
        ["make", "-n", "-B", ".venv/.installed"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "pip install -qq --require-hashes --no-deps -r requirements/dev.txt" in dry_run


def test_tests_then_builds_then_packages(buildspec: dict[str, Any]) -> None:
    test = index_of(buildspec, r"^make test\b")
    build = index_of(buildspec, r"^make build$")
    package = index_of(buildspec, r"\bsam package\b")
    assert test < build < package
    assert "sam build" in makefile_recipe("build")


def test_packages_to_the_artifact_bucket_with_its_key(buildspec: dict[str, Any]) -> None:
    package = commands(buildspec)[index_of(buildspec, r"\bsam package\b")]
    assert '--s3-bucket "$ARTIFACT_BUCKET"' in package
    assert '--kms-key-id "$ARTIFACT_KEY_ARN"' in package
    assert "--template-file .aws-sam/build/template.yaml" in package
    assert "--output-template-file packaged.yaml" in package


def test_every_variable_it_reads_is_set_somewhere(buildspec: dict[str, Any], pipeline_template: dict[str, Any]) -> None:
    used = {name for command in commands(buildspec) for name in re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", command)}
    project = pipeline_template["Resources"]["BuildProject"]["Properties"]
    from_project = {variable["Name"] for variable in project["Environment"]["EnvironmentVariables"]}
    from_buildspec = set(buildspec.get("env", {}).get("variables", {}))
    assert used, "the commands read variables"
    assert used <= from_project | from_buildspec | CODEBUILD_VARIABLES


def test_packaged_code_lands_where_the_deployment_role_may_read_it(
    buildspec: dict[str, Any], pipeline_template: dict[str, Any]
) -> None:
    prefix = buildspec["env"]["variables"]["PACKAGE_PREFIX"]
    package = commands(buildspec)[index_of(buildspec, r"\bsam package\b")]
    assert '--s3-prefix "$PACKAGE_PREFIX"' in package
    policies = [r for r in pipeline_template["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy"]
    statements = {s.get("Sid"): s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]}
    assert statements["ReadPackagedCode"]["Resource"] == {"Fn::Sub": f"${{ArtifactBucket.Arn}}/{prefix}/*"}


def test_hands_over_every_file_the_deploy_stages_read(
    buildspec: dict[str, Any], pipeline_template: dict[str, Any]
) -> None:
    read_by_pipeline = set(re.findall(r"BuildOutput::([\w./-]+)", str(pipeline_template["Resources"]["Pipeline"])))
    assert read_by_pipeline == {"packaged.yaml", "deploy/staging.json", "deploy/prod.json"}
    assert set(buildspec["artifacts"]["files"]) == read_by_pipeline
    # The template configuration files are what `make template-configuration` writes (by default into deploy/).
    dry_run = subprocess.run(
        ["make", "-n", "template-configuration"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "-m deploy.template_configuration" in dry_run
    assert "--output-dir 'deploy'" in dry_run
    configurations = {f"deploy/{environment}.json" for environment in PIPELINE_ENVIRONMENTS}
    assert read_by_pipeline - {"packaged.yaml"} == configurations


def test_publishes_pytest_results_as_a_junit_report(buildspec: dict[str, Any]) -> None:
    test = commands(buildspec)[index_of(buildspec, r"^make test\b")]
    written = re.search(r"PYTEST_ARGS=\S*--junitxml=(\S+)", test)
    assert written, "make test writes JUnit XML"
    (report,) = buildspec["reports"].values()
    assert report["file-format"] == "JUNITXML"
    assert [f"{report['base-directory']}/{name}" for name in report["files"]] == [written.group(1)]


def test_make_hands_pytest_args_to_pytest() -> None:
    dry_run = subprocess.run(
        ["make", "-n", "pytest", "PYTEST_ARGS=--junitxml=reports/junit.xml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    # One worker per core, a file's tests on one worker (pytest-xdist), then what the build asks for.
    assert re.search(r"/pytest -n auto --dist loadfile --junitxml=reports/junit\.xml$", dry_run.stdout, re.MULTILINE)


def test_the_build_runs_the_preflight_for_both_environments_before_anything_is_built(buildspec: dict[str, Any]) -> None:
    written = index_of(buildspec, r"^make template-configuration")
    built = index_of(buildspec, r"^make build$")
    for environment in PIPELINE_ENVIRONMENTS:
        assert written < index_of(buildspec, rf"^make preflight ENV={environment}$") < built


def assert_decided(
    statements: list[dict[str, Any]], granted: list[tuple[str, str]], refused: list[tuple[str, str]]
) -> None:
    """Each (action, resource) of `granted` allowed by the statements, as IAM would decide, and none of `refused`."""
    for action, resource in granted:
        assert allowed(statements, Request(action, resource)), ("refused", action, resource)
    for action, resource in refused:
        assert not allowed(statements, Request(action, resource)), ("granted", action, resource)


def test_the_build_role_may_make_the_preflights_calls_and_no_more(pipeline_template: dict[str, Any]) -> None:
    """The calls deploy/preflight.py makes, on the two stacks and their functions only."""
    deployment = deployed_pipeline(pipeline_template)
    statements = role_statements(deployment, "BuildRole")
    account = "arn:aws:cloudformation:eu-west-1:123456789012"
    functions = "arn:aws:lambda:eu-west-1:123456789012:function"
    assert_decided(
        statements,
        granted=[
            ("lambda:GetAccountSettings", "*"),
            ("cloudformation:DescribeStackResources", f"{account}:stack/birthday-greeter-staging/0f1e"),
            ("cloudformation:DescribeStackResources", f"{account}:stack/birthday-greeter-prod/0f1e"),
            ("lambda:GetFunctionConcurrency", f"{functions}:birthday-greeter-prod-GetGreetingFunction-AbCdEf123456"),
        ],
        refused=[
            ("cloudformation:DescribeStackResources", f"{account}:stack/another-stack/0f1e"),
            ("lambda:GetFunctionConcurrency", f"{functions}:another-function"),
            ("lambda:PutFunctionConcurrency", f"{functions}:birthday-greeter-prod-GetGreetingFunction-AbCdEf123456"),
        ],
    )


def test_the_end_to_end_role_reads_the_two_stacks_and_the_source_and_writes_only_its_logs_and_report(
    pipeline_template: dict[str, Any],
) -> None:
    statements = role_statements(deployed_pipeline(pipeline_template), "EndToEndRole")
    stacks = "arn:aws:cloudformation:eu-west-1:123456789012:stack"
    reports = "arn:aws:codebuild:eu-west-1:123456789012:report-group"
    bucket = "arn:aws:s3:::birthday-greeter-pipeline-artifactbucket-1a2b3c4d"
    assert_decided(
        statements,
        granted=[
            ("cloudformation:DescribeStacks", f"{stacks}/birthday-greeter-staging/0f1e"),
            ("cloudformation:DescribeStacks", f"{stacks}/birthday-greeter-prod/0f1e"),
            ("s3:GetObject", f"{bucket}/birthday-greeter/SourceOutp/abc.zip"),
            ("codebuild:BatchPutTestCases", f"{reports}/birthday-greeter-e2e-e2e"),
        ],
        refused=[
            ("cloudformation:DescribeStacks", f"{stacks}/another-stack/0f1e"),
            ("s3:PutObject", f"{bucket}/packages/x.zip"),
            ("codebuild:BatchPutTestCases", f"{reports}/birthday-greeter-build-pytest"),
            ("lambda:InvokeFunction", "*"),
        ],
    )
