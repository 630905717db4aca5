"""The performance settings docs/performance.md chose, as CloudFormation will deploy them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.sam import translate

API_FUNCTIONS = ("PutBirthdayFunction", "GetGreetingFunction")


def _resolved(value: Any, parameters: dict[str, str]) -> Any:
    """`Fn::If` on UseSnapStart, `Ref` to a parameter: the few intrinsics these properties use."""
    if isinstance(value, dict) and "Fn::If" in value:
        condition, when_true, when_false = value["Fn::If"]
        assert condition == "UseSnapStart"
        return _resolved(when_true if parameters.get("SnapStart") == "enabled" else when_false, parameters)
    return value


@pytest.mark.parametrize(("setting", "applied"), [("disabled", "None"), ("enabled", "PublishedVersions")])
def test_snapstart_is_a_parameter_applied_to_published_versions(setting: str, applied: str) -> None:
    parameters = {"Environment": "prod", "SnapStart": setting}
    resources = translate(parameters)["Resources"]
    for name in API_FUNCTIONS:
        snap_start = resources[name]["Properties"]["SnapStart"]
        assert _resolved(snap_start["ApplyOn"], parameters) == applied


def test_functions_default_to_512_mb() -> None:
    template = translate({"Environment": "prod"})
    assert template["Parameters"]["FunctionMemorySize"]["Default"] == 512
    for name in API_FUNCTIONS:
        assert template["Resources"][name]["Properties"]["MemorySize"] == {"Ref": "FunctionMemorySize"}
