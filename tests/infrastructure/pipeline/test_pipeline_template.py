"""pipeline.yaml: the release path, its safety rails, and the roles it runs with.

Conditions are resolved the way CloudFormation resolves them for given parameter values,
so the tests see the pipeline an operator gets, with and without manual approval.
"""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest

from tests.support.authorization import action_resource_types
from tests.support.paths import ROOT
from tests.support.pipeline import read_yaml
from tests.support.sam import LOG_DELIVERY_ACTIONS, sam_template

RELEASE_ORDER = ["Source", "Build", "DeployStaging", "VerifyStaging", "DeployProd", "VerifyProd"]
DEPLOYS = [("DeployStaging", "staging"), ("DeployProd", "prod")]
VERIFICATIONS = [("VerifyStaging", "DeployStaging"), ("VerifyProd", "DeployProd")]
# The outputs template.yaml provides for the verification, and the smoke test's input keys.
SMOKE_TEST_INPUT = {
    "smokeTestStateMachineArn": "SmokeTestStateMachineArn",
    "putFunctionArn": "PutBirthdayLiveAliasArn",
    "getFunctionArn": "GetGreetingLiveAliasArn",
}


# --- resolving the template for given parameters --------------------------------------
class _NoValue:
    """AWS::NoValue: removes the list item or property it stands for."""


def _condition_values(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, bool]:
    values = {name: str(spec.get("Default")) for name, spec in template["Parameters"].items()} | parameters

    def evaluate(node: Any) -> Any:
        if isinstance(node, dict) and "Ref" in node:
            return values[node["Ref"]]
        if isinstance(node, dict) and "Fn::Equals" in node:
            left, right = node["Fn::Equals"]
            return evaluate(left) == evaluate(right)
        if isinstance(node, dict) and "Fn::Not" in node:
            (inner,) = node["Fn::Not"]
            return not evaluate(inner)
        if isinstance(node, str):
            return node
        raise AssertionError(f"condition form not understood by this test: {node!r}")

    return {name: evaluate(body) for name, body in template.get("Conditions", {}).items()}


def _resolve(node: Any, conditions: dict[str, bool]) -> Any:
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            name, when_true, when_false = node["Fn::If"]
            return _resolve(when_true if conditions[name] else when_false, conditions)
        if node == {"Ref": "AWS::NoValue"}:
            return _NoValue()
        resolved = {key: _resolve(value, conditions) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if not isinstance(value, _NoValue)}
    if isinstance(node, list):
        items = [_resolve(item, conditions) for item in node]
        return [item for item in items if not isinstance(item, _NoValue)]
    return node


def stages(template: dict[str, Any], **parameters: str) -> list[dict[str, Any]]:
    pipeline = template["Resources"]["Pipeline"]["Properties"]
    resolved: list[dict[str, Any]] = _resolve(pipeline["Stages"], _condition_values(template, parameters))
    return resolved


def stage(template: dict[str, Any], name: str, **parameters: str) -> dict[str, Any]:
    return next(s for s in stages(template, **parameters) if s["Name"] == name)


def provider(action: dict[str, Any]) -> tuple[str, str, str]:
    type_id = action["ActionTypeId"]
    return type_id["Category"], type_id["Owner"], type_id["Provider"]


def by_run_order(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(actions, key=lambda action: int(action["RunOrder"]))


def _sub_text(value: Any) -> str:
    """The text of a literal or of a `!Sub` string."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return str(sub if isinstance(sub, str) else sub[0])
    return str(value)


# --- the release path -----------------------------------------------------------------
def test_stages_run_from_source_to_verified_prod(pipeline_template: dict[str, Any]) -> None:
    for approval in ("true", "false"):
        names = [s["Name"] for s in stages(pipeline_template, RequireManualApproval=approval)]
        assert names == RELEASE_ORDER


def test_source_is_the_configured_branch_through_the_connection(pipeline_template: dict[str, Any]) -> None:
    (action,) = stage(pipeline_template, "Source")["Actions"]
    assert provider(action) == ("Source", "AWS", "CodeStarSourceConnection")
    config = action["Configuration"]
    assert config["ConnectionArn"] == {"Ref": "ConnectionArn"}
    assert config["FullRepositoryId"] == {"Ref": "FullRepositoryId"}
    assert config["BranchName"] == {"Ref": "BranchName"}
    assert config["DetectChanges"] is True
    assert action["OutputArtifacts"] == [{"Name": "SourceOutput"}]


def test_build_runs_buildspec_on_a_python_313_arm_image(pipeline_template: dict[str, Any]) -> None:
    (action,) = stage(pipeline_template, "Build")["Actions"]
    assert provider(action) == ("Build", "AWS", "CodeBuild")
    assert action["Configuration"]["ProjectName"] == {"Ref": "BuildProject"}
    assert action["InputArtifacts"] == [{"Name": "SourceOutput"}]
    assert action["OutputArtifacts"] == [{"Name": "BuildOutput"}]

    project = pipeline_template["Resources"]["BuildProject"]["Properties"]
    assert project["Source"] == {"Type": "CODEPIPELINE", "BuildSpec": "buildspec.yml"}
    # amazonlinux-aarch64-standard:3.0 is the ARM image whose runtimes include python 3.13.
    assert project["Environment"]["Type"] == "ARM_CONTAINER"
    assert project["Environment"]["Image"] == "aws/codebuild/amazonlinux-aarch64-standard:3.0"
    assert project["EncryptionKey"] == {"Fn::GetAtt": ["ArtifactKey", "Arn"]}


@pytest.mark.parametrize(("stage_name", "environment"), DEPLOYS)
def test_deploy_creates_then_executes_one_change_set(
    pipeline_template: dict[str, Any], stage_name: str, environment: str
) -> None:
    actions = by_run_order(stage(pipeline_template, stage_name)["Actions"])
    create, execute = actions[0], actions[-1]
    assert provider(create) == provider(execute) == ("Deploy", "AWS", "CloudFormation")
    assert create["Configuration"]["ActionMode"] == "CHANGE_SET_REPLACE"
    assert execute["Configuration"]["ActionMode"] == "CHANGE_SET_EXECUTE"
    assert int(execute["RunOrder"]) > int(create["RunOrder"])
    for key in ("StackName", "ChangeSetName"):
        assert create["Configuration"][key] == execute["Configuration"][key]
    assert _sub_text(create["Configuration"]["StackName"]) == f"${{ApplicationName}}-{environment}"
    assert _sub_text(create["Configuration"]["ChangeSetName"]) == f"${{ApplicationName}}-{environment}-pipeline"

    config = create["Configuration"]
    assert config["TemplatePath"] == "BuildOutput::packaged.yaml"
    assert config["TemplateConfiguration"] == f"BuildOutput::deploy/{environment}.json"
    assert set(config["Capabilities"].split(",")) == {"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"}
    # The change set carries the environment's deployment role; executing it needs none.
    assert config["RoleArn"] == {"Fn::GetAtt": [f"{environment.capitalize()}DeployRole", "Arn"]}
    assert create["InputArtifacts"] == [{"Name": "BuildOutput"}]


def test_prod_deploys_the_change_set_only_after_staging_was_verified(pipeline_template: dict[str, Any]) -> None:
    names = [s["Name"] for s in stages(pipeline_template)]
    assert names.index("VerifyStaging") < names.index("DeployProd") < names.index("VerifyProd")


@pytest.mark.parametrize(("stage_name", "deploy_stage"), VERIFICATIONS)
def test_verify_runs_the_smoke_test_against_the_stack_just_deployed(
    pipeline_template: dict[str, Any], stage_name: str, deploy_stage: str
) -> None:
    (action,) = [a for a in stage(pipeline_template, stage_name)["Actions"] if a["Name"] == "SmokeTest"]
    assert provider(action) == ("Invoke", "AWS", "StepFunctions")
    config = action["Configuration"]
    assert config["StateMachineArn"] == {"Ref": "VerifyDeploymentStateMachine"}
    assert config["InputType"] == "Literal"
    assert re.fullmatch(r"[0-9A-Za-z_-]+", config["ExecutionNamePrefix"]), "Express execution names"

    execute = by_run_order(stage(pipeline_template, deploy_stage)["Actions"])[-1]
    namespace = execute["Namespace"]
    expected = {key: f"#{{{namespace}.{output}}}" for key, output in SMOKE_TEST_INPUT.items()}
    assert json.loads(config["Input"]) == expected


@pytest.mark.parametrize(
    ("stage_name", "environment", "read_only"), [("VerifyStaging", "staging", False), ("VerifyProd", "prod", True)]
)
def test_verify_runs_the_end_to_end_suite_over_http_beside_the_smoke_test(
    pipeline_template: dict[str, Any], buildspec: dict[str, Any], stage_name: str, environment: str, read_only: bool
) -> None:
    """Both actions of the stage must pass before the next one starts; prod's run stores nothing (READ_ONLY=1)."""
    actions = {action["Name"]: action for action in stage(pipeline_template, stage_name)["Actions"]}
    assert set(actions) == {"SmokeTest", "EndToEnd"}
    assert actions["EndToEnd"]["RunOrder"] == actions["SmokeTest"]["RunOrder"]
    end_to_end = actions["EndToEnd"]
    assert provider(end_to_end) == ("Test", "AWS", "CodeBuild")
    assert end_to_end["Configuration"]["ProjectName"] == {"Ref": "EndToEndProject"}
    assert end_to_end["InputArtifacts"] == [{"Name": "SourceOutput"}]
    variables = {
        v["name"]: v["value"] for v in json.loads(_sub_text(end_to_end["Configuration"]["EnvironmentVariables"]))
    }
    assert variables == {"STACK": f"${{ApplicationName}}-{environment}", **({"READ_ONLY": "1"} if read_only else {})}
    project = pipeline_template["Resources"]["EndToEndProject"]["Properties"]
    assert project["Source"] == {"Type": "CODEPIPELINE", "BuildSpec": "buildspec-e2e.yml"}
    spec = read_yaml("buildspec-e2e.yml")
    (command,) = spec["phases"]["build"]["commands"]
    assert command.startswith('make e2e STACK="$STACK"')
    assert 'READ_ONLY="$READ_ONLY"' in command
    assert "--junitxml=reports/e2e-junit.xml" in command
    assert spec["reports"]["e2e"]["file-format"] == "JUNITXML"


def test_verification_is_a_standard_state_machine_the_action_waits_for(pipeline_template: dict[str, Any]) -> None:
    """CodePipeline waits for Standard executions; an Express one "succeeds" once started."""
    machine = pipeline_template["Resources"]["VerifyDeploymentStateMachine"]["Properties"]
    assert machine["StateMachineType"] == "STANDARD"
    task = machine["Definition"]["States"]["RunSmokeTest"]
    # Synchronous, so the outcome is the smoke test's, not "started".
    assert task["Resource"].endswith(":states:::aws-sdk:sfn:startSyncExecution")
    assert task["Parameters"]["StateMachineArn.$"] == "$.smokeTestStateMachineArn"


def test_manual_approval_gates_the_prod_change_set_when_required(pipeline_template: dict[str, Any]) -> None:
    actions = by_run_order(stage(pipeline_template, "DeployProd", RequireManualApproval="true")["Actions"])
    assert [a["Name"] for a in actions] == ["CreateChangeSet", "ApproveChangeSet", "ExecuteChangeSet"]
    assert provider(actions[1]) == ("Approval", "AWS", "Manual")
    run_orders = [int(a["RunOrder"]) for a in actions]
    assert run_orders == sorted(set(run_orders)), "each waits for the one before"


def test_no_approval_anywhere_when_not_required(pipeline_template: dict[str, Any]) -> None:
    every_action = [a for s in stages(pipeline_template, RequireManualApproval="false") for a in s["Actions"]]
    assert all(provider(a)[0] != "Approval" for a in every_action)
    actions = by_run_order(stage(pipeline_template, "DeployProd", RequireManualApproval="false")["Actions"])
    assert [a["Name"] for a in actions] == ["CreateChangeSet", "ExecuteChangeSet"]
    assert int(actions[1]["RunOrder"]) > int(actions[0]["RunOrder"])


def test_approval_is_required_unless_the_operator_opts_out(pipeline_template: dict[str, Any]) -> None:
    parameter = pipeline_template["Parameters"]["RequireManualApproval"]
    assert parameter["Default"] == "true"
    assert parameter["AllowedValues"] == ["true", "false"]


# --- the artifact store ---------------------------------------------------------------
def test_artifact_bucket_is_encrypted_versioned_and_private(pipeline_template: dict[str, Any]) -> None:
    resources = pipeline_template["Resources"]
    bucket = resources["ArtifactBucket"]["Properties"]
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": ["ArtifactKey", "Arn"]},
    }
    assert resources["ArtifactKey"]["Properties"]["EnableKeyRotation"] is True
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }

    store = resources["Pipeline"]["Properties"]["ArtifactStore"]
    assert store["Location"] == {"Ref": "ArtifactBucket"}
    assert store["EncryptionKey"] == {"Type": "KMS", "Id": {"Fn::GetAtt": ["ArtifactKey", "Arn"]}}


def test_artifact_bucket_refuses_requests_without_tls(pipeline_template: dict[str, Any]) -> None:
    policy = pipeline_template["Resources"]["ArtifactBucketPolicy"]["Properties"]
    assert policy["Bucket"] == {"Ref": "ArtifactBucket"}
    denials = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    tls_only = [s for s in denials if s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}]
    assert len(tls_only) == 1
    (statement,) = tls_only
    assert statement["Principal"] == "*"
    assert statement["Action"] == "s3:*"
    assert statement["Resource"] == [
        {"Fn::GetAtt": ["ArtifactBucket", "Arn"]},
        {"Fn::Sub": "${ArtifactBucket.Arn}/*"},
    ]


def test_artifact_access_is_logged_to_a_private_bucket_only_s3_logging_writes(
    pipeline_template: dict[str, Any],
) -> None:
    resources = pipeline_template["Resources"]
    logging = resources["ArtifactBucket"]["Properties"]["LoggingConfiguration"]
    assert logging["DestinationBucketName"] == {"Ref": "ArtifactAccessLogBucket"}
    destination = resources["ArtifactAccessLogBucket"]["Properties"]
    assert (
        destination["PublicAccessBlockConfiguration"]
        == resources["ArtifactBucket"]["Properties"]["PublicAccessBlockConfiguration"]
    )
    assert destination["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    statements = resources["ArtifactAccessLogBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    (allow,) = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert allow["Action"] == "s3:PutObject"
    assert allow["Resource"] == {"Fn::Sub": "${ArtifactAccessLogBucket.Arn}/" + logging["LogFilePrefix"] + "*"}
    assert allow["Condition"]["ArnLike"] == {"aws:SourceArn": {"Fn::GetAtt": ["ArtifactBucket", "Arn"]}}
    assert any(s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}} for s in statements)


def test_build_logs_are_encrypted_with_the_pipeline_key_which_logs_may_use_for_that_group_only(
    pipeline_template: dict[str, Any],
) -> None:
    resources = pipeline_template["Resources"]
    group = resources["BuildLogGroup"]["Properties"]
    assert group["KmsKeyId"] == {"Fn::GetAtt": ["ArtifactKey", "Arn"]}
    statements = resources["ArtifactKey"]["Properties"]["KeyPolicy"]["Statement"]
    (logs,) = [s for s in statements if s["Principal"] == {"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}}]
    (arn,) = logs["Condition"]["ArnEquals"].values()
    assert _sub_text(arn).endswith(":log-group:" + _sub_text(group["LogGroupName"]))
    assert not any("*" in action for action in logs["Action"])


def test_make_checkov_scans_both_templates() -> None:
    """checkov runs in `make test` on the pipeline too (a finding there fails the build)."""
    dry_run = subprocess.run(["make", "-n", "checkov"], cwd=ROOT, capture_output=True, text=True, check=True)
    (command,) = [line for line in dry_run.stdout.splitlines() if "/checkov " in line]
    assert "--file template.yaml" in command
    assert "--file pipeline.yaml" in command
    assert "--soft-fail" not in command


# --- the roles ------------------------------------------------------------------------
def _role_statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(role, statement) for every role's inline policies and the stack's managed policies attached to it."""
    statements = []
    resources = template["Resources"]
    for name, resource in resources.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        documents = [policy["PolicyDocument"] for policy in resource["Properties"].get("Policies", [])]
        documents += [
            policy["Properties"]["PolicyDocument"]
            for policy in resources.values()
            if policy["Type"] == "AWS::IAM::ManagedPolicy" and {"Ref": name} in policy["Properties"].get("Roles", [])
        ]
        statements += [(name, s) for document in documents for s in _statements_of(document)]
    return statements


def _statements_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    """A policy's statements, a conditional one (`!If [cond, statement, AWS::NoValue]`) taken as present."""
    return [s["Fn::If"][1] if set(s) == {"Fn::If"} else s for s in document["Statement"]]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_pipeline_codebuild_and_deployment_roles_exist(pipeline_template: dict[str, Any]) -> None:
    resources = pipeline_template["Resources"]
    assert resources["Pipeline"]["Properties"]["RoleArn"] == {"Fn::GetAtt": ["PipelineRole", "Arn"]}
    assert resources["BuildProject"]["Properties"]["ServiceRole"] == {"Fn::GetAtt": ["BuildRole", "Arn"]}
    roles = {name for name, _ in _role_statements(pipeline_template)}
    assert {"PipelineRole", "BuildRole", "StagingDeployRole", "ProdDeployRole", "VerifyDeploymentRole"} <= roles


def test_roles_name_every_action_they_allow(pipeline_template: dict[str, Any]) -> None:
    for role, statement in _role_statements(pipeline_template):
        assert statement["Effect"] in {"Allow", "Deny"}, role
        assert "NotAction" not in statement, role
        for action in _as_list(statement["Action"]):
            assert "*" not in action, f"{role} allows a wildcard action: {action}"


def test_roles_use_a_wildcard_resource_only_where_iam_offers_nothing_narrower(
    pipeline_template: dict[str, Any],
) -> None:
    """ "*" only for the actions the Service Authorization Reference gives no resource type."""
    wildcards = 0
    for role, statement in _role_statements(pipeline_template):
        if statement["Effect"] == "Allow" and "*" in _as_list(statement["Resource"]):
            for action in _as_list(statement["Action"]):
                assert action_resource_types(action) == [], f"{role} {statement['Sid']}: {action} takes a resource"
                wildcards += 1
    assert wildcards >= len(LOG_DELIVERY_ACTIONS)


def test_only_cloudformation_may_be_handed_the_deployment_role(pipeline_template: dict[str, Any]) -> None:
    passes = [(role, s) for role, s in _role_statements(pipeline_template) if "iam:PassRole" in _as_list(s["Action"])]
    pipeline_passes = [s for role, s in passes if role == "PipelineRole"]
    assert pipeline_passes == [
        {
            "Sid": "HandDeploymentRolesToCloudFormation",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": [{"Fn::GetAtt": ["StagingDeployRole", "Arn"]}, {"Fn::GetAtt": ["ProdDeployRole", "Arn"]}],
            "Condition": {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
        }
    ]
    for _role, statement in passes:
        assert "iam:PassedToService" in statement["Condition"]["StringEquals"]


def test_verification_may_start_only_the_application_stacks_smoke_tests(pipeline_template: dict[str, Any]) -> None:
    """template.yaml names its state machine <stack>-smoke-test; the deployment roles create them."""
    statements = {(role, s.get("Sid")): s for role, s in _role_statements(pipeline_template)}
    start = statements[("VerifyDeploymentRole", "RunTheApplicationsSmokeTests")]
    assert start["Action"] == "states:StartSyncExecution"
    named = sam_template()["Resources"]["SmokeTestStateMachine"]["Properties"]["Name"]["Fn::Sub"]
    expected = {named.replace("${AWS::StackName}", f"${{ApplicationName}}-{env}") for _, env in DEPLOYS}
    assert {_sub_text(arn).rsplit(":stateMachine:", 1)[1] for arn in start["Resource"]} == expected
    for role in ("StagingDeployRole", "ProdDeployRole"):
        manage = statements[(role, "ManageSmokeTestStateMachine")]
        (pattern,) = [_sub_text(arn).rsplit(":stateMachine:", 1)[1] for arn in manage["Resource"]]
        assert pattern == "${ApplicationName}-${!aws:PrincipalTag/DeployEnvironment}-*"


def test_deployment_roles_attach_only_the_managed_policies_sam_uses(pipeline_template: dict[str, Any]) -> None:
    for role in ("StagingDeployRole", "ProdDeployRole"):
        statements = {s["Sid"]: s for r, s in _role_statements(pipeline_template) if r == role}
        attach = statements["AttachOnlySamManagedPoliciesUnderTheBoundary"]
        assert set(attach["Action"]) == {"iam:AttachRolePolicy", "iam:DetachRolePolicy"}
        allowed = [_sub_text(arn) for arn in attach["Condition"]["ArnEquals"]["iam:PolicyARN"]]
        assert all(arn.startswith("arn:${AWS::Partition}:iam::aws:policy/") for arn in allowed)
        attach_anywhere = [
            s
            for s in statements.values()
            if s["Effect"] == "Allow" and {"iam:AttachRolePolicy", "iam:PutRolePolicy"} & set(_as_list(s["Action"]))
        ]
        for statement in attach_anywhere:
            for resource in _as_list(statement["Resource"]):
                assert _sub_text(resource).endswith(":role/${ApplicationName}-${!aws:PrincipalTag/DeployEnvironment}-*")
