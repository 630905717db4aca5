"""pipeline.yaml and buildspec.yml, read the way CloudFormation and CodeBuild read them.

Both are parsed with the SAM CLI's YAML loader (as local/localapi/template.py does), so
short-form intrinsics such as `!If` and `!Ref` arrive as their long forms.
"""

from __future__ import annotations

from typing import Any

from samcli.yamlhelper import yaml_parse

from tests.support.cloudformation import ACCOUNT, Deployment
from tests.support.paths import ROOT
from tests.support.sam import REGION


def read_yaml(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml_parse((ROOT / name).read_text())
    return document


PIPELINE_STACK = "birthday-greeter-pipeline"
HOSTED_ZONE = "Z0EXAMPLE1234"
PIPELINE_PARAMETERS = {
    "ConnectionArn": f"arn:aws:codeconnections:{REGION}:{ACCOUNT}:connection/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
    "FullRepositoryId": "example/birthday-greeter",
    "HostedZoneId": HOSTED_ZONE,
}
"""What an operator deploys pipeline.yaml with (the required parameters, and a hosted zone)."""


def deployed_pipeline(template: dict[str, Any], **parameters: str) -> Deployment:
    """pipeline.yaml as CloudFormation resolves it, with the physical ids its policies refer to."""
    application = template["Parameters"]["ApplicationName"]["Default"]
    iam = f"arn:aws:iam::{ACCOUNT}"
    physical_ids = {
        "StagingPermissionsBoundary": f"{iam}:policy/{application}-staging-boundary",
        "ProdPermissionsBoundary": f"{iam}:policy/{application}-prod-boundary",
        "ArtifactBucket.Arn": f"arn:aws:s3:::{PIPELINE_STACK}-artifactbucket-1a2b3c4d",
        "ArtifactKey.Arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
        **{
            f"{role}.Arn": f"{iam}:role/{PIPELINE_STACK}-{role}-1A2B3C4D"
            for role, resource in template["Resources"].items()
            if resource["Type"] == "AWS::IAM::Role"
        },
    }
    return Deployment(template, {**PIPELINE_PARAMETERS, **parameters}, physical_ids, stack_name=PIPELINE_STACK)


def role_statements(deployment: Deployment, role: str) -> list[dict[str, Any]]:
    """Every statement of a role's policies: inline, and managed policies of the stack attached to it."""
    resources = deployment.template["Resources"]
    documents = [policy["PolicyDocument"] for policy in resources[role]["Properties"].get("Policies", [])]
    documents += [
        resource["Properties"]["PolicyDocument"]
        for resource in resources.values()
        if resource["Type"] == "AWS::IAM::ManagedPolicy" and {"Ref": role} in resource["Properties"].get("Roles", [])
    ]
    statements: list[dict[str, Any]] = [s for document in documents for s in deployment.resolve(document)["Statement"]]
    return statements


def role_tags(deployment: Deployment, role: str) -> dict[str, str]:
    tags = deployment.resolve(deployment.template["Resources"][role]["Properties"].get("Tags", []))
    return {tag["Key"]: tag["Value"] for tag in tags}


def role_boundary(deployment: Deployment, role: str) -> list[dict[str, Any]] | None:
    """The statements of the permissions boundary a role carries (a managed policy of the stack), or None."""
    reference = deployment.template["Resources"][role]["Properties"].get("PermissionsBoundary")
    if reference is None:
        return None
    assert set(reference) == {"Ref"}, f"{role}: a boundary this evaluator does not resolve: {reference}"
    policy = deployment.template["Resources"][reference["Ref"]]
    statements: list[dict[str, Any]] = deployment.resolve(policy["Properties"]["PolicyDocument"])["Statement"]
    return statements
