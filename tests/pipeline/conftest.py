"""pipeline.yaml and buildspec.yml, read the way CloudFormation and CodeBuild read them.

Both are parsed with the SAM CLI's YAML loader (as local/localapi/template.py does), so
short-form intrinsics such as `!If` and `!Ref` arrive as their long forms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from samcli.yamlhelper import yaml_parse

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def read_yaml(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml_parse((PROJECT_ROOT / name).read_text())
    return document


@pytest.fixture(scope="session")
def pipeline_template() -> dict[str, Any]:
    return read_yaml("pipeline.yaml")


@pytest.fixture(scope="session")
def buildspec() -> dict[str, Any]:
    return read_yaml("buildspec.yml")
