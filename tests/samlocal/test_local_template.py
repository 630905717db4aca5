"""What `make sam-local` derives from the repository, checked without Docker."""

from __future__ import annotations

import json
from typing import Any

from samlocal.images import ARCHITECTURE, DYNAMODB_PORT, python_version
from samlocal.stack import ENV_VARS_PATH, dynamodb_host_and_port, local_template
from tests.support.sam import ROOT, sam_template


def without_local_changes(document: dict[str, Any]) -> dict[str, Any]:
    """The template with the two properties a local run changes taken out."""
    copy = json.loads(json.dumps(document))
    for properties in [copy["Globals"]["Function"], *(r.get("Properties", {}) for r in copy["Resources"].values())]:
        properties.pop("Architectures", None)
        properties.pop("CodeUri", None)
    return copy


def test_the_local_template_changes_only_the_architecture_and_code_paths() -> None:
    assert without_local_changes(local_template("x86_64")) == without_local_changes(sam_template())


def test_the_local_template_runs_every_function_on_the_given_architecture_from_the_same_code() -> None:
    original = sam_template()
    for architecture in ("x86_64", "arm64"):
        local = local_template(architecture)
        assert local["Globals"]["Function"]["Architectures"] == [architecture]
        assert local["Globals"]["Function"]["CodeUri"] == str(ROOT / original["Globals"]["Function"]["CodeUri"])
        for name, resource in local["Resources"].items():
            properties = resource.get("Properties", {})
            assert properties.get("Architectures", [architecture]) == [architecture], name
            if "CodeUri" in properties:
                expected = ROOT / original["Resources"][name]["Properties"]["CodeUri"]
                assert properties["CodeUri"] == str(expected.resolve()), name


def test_the_deployed_architecture_stays_arm64_and_local_runs_use_the_hosts() -> None:
    assert sam_template()["Globals"]["Function"]["Architectures"] == ["arm64"]
    assert ARCHITECTURE in {"x86_64", "arm64"}


def test_the_functions_reach_the_dynamodb_container_by_its_network_name() -> None:
    assert dynamodb_host_and_port() == ("dynamodb-local", DYNAMODB_PORT)
    for variables in json.loads(ENV_VARS_PATH.read_text()).values():
        assert variables["AWS_ENDPOINT_URL_DYNAMODB"] == f"http://dynamodb-local:{DYNAMODB_PORT}"


def test_the_images_run_the_templates_python() -> None:
    assert python_version() == "3.13"
    dockerfile = (ROOT / "local" / "images" / "lambda-python" / "Dockerfile").read_text()
    assert "ARG PYTHON" in dockerfile  # the version comes from the template, not from the Dockerfile
