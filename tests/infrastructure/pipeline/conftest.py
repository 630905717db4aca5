"""The pipeline tests' fixtures: pipeline.yaml and buildspec.yml as parsed documents (tests/support/pipeline.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.pipeline import read_yaml


@pytest.fixture(scope="session")
def pipeline_template() -> dict[str, Any]:
    return read_yaml("pipeline.yaml")


@pytest.fixture(scope="session")
def buildspec() -> dict[str, Any]:
    return read_yaml("buildspec.yml")
