"""The README's deployment claim, as written, holds for every function behind a route.

Every function an API route calls is deployed through its `live` alias with a
CodeDeploy canary, a pre-traffic smoke-test hook and alarms, except
OptionsNotAllowedFunction (a fixed 405), whose exception rests on premises
this file keeps true: no policy (it reads no table), its code the canaried
functions' code, and no setting that depends on a parameter of its own. The
README and docs/deployment.md say so; the claim that *every* change is
canaried, which was not true of it, is gone.
"""

from __future__ import annotations

from typing import Any

from tests.support import sam
from tests.support.cloudformation import references
from tests.support.paths import ROOT

EXCEPTION = "OptionsNotAllowedFunction"
NOT_CONFIGURATION = {"Events", "ReservedConcurrentExecutions", "Tags", "Description"}
"""Properties that are not what a published version runs (the routes, the shared concurrency, labels)."""


def routed_functions() -> dict[str, dict[str, Any]]:
    resources = sam.sam_template()["Resources"]
    return {
        name: resource["Properties"]
        for name, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
        and any(event["Type"] == "HttpApi" for event in resource["Properties"].get("Events", {}).values())
    }


def test_every_other_routed_function_goes_out_through_a_verified_canary() -> None:
    functions = routed_functions()
    assert EXCEPTION in functions
    canaried = {name: properties for name, properties in functions.items() if name != EXCEPTION}
    assert canaried
    for name, properties in canaried.items():
        assert properties["AutoPublishAlias"] == "live", name
        assert properties["AutoPublishAliasAllProperties"] is True, name
        assert "VersionDescription" in properties, name
        preference = properties["DeploymentPreference"]
        assert "PreTraffic" in preference["Hooks"], name
        assert preference["Alarms"]["Fn::If"][1], name  # alarms, unless the break-glass parameter disables them


def test_the_options_function_rests_on_its_premises() -> None:
    document = sam.sam_template()
    options = document["Resources"][EXCEPTION]["Properties"]
    assert "AutoPublishAlias" not in options  # the decision itself; change the docs with it
    assert "Policies" not in options  # it reads no table
    assert "CodeUri" not in options  # the API functions' code (Globals): a change of code is canaried with them
    assert options["Handler"].startswith("greeter.handlers.")
    own = {key: value for key, value in options.items() if key not in NOT_CONFIGURATION}
    inputs = references(own, document.get("Conditions", {}))
    assert inputs <= {"OptionsNotAllowedLogGroup"}, inputs  # its log group is named after the stack, nothing else


def test_the_readme_claims_only_what_holds() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "Every change goes out through a CodeDeploy canary" not in readme
    assert "docs/deployment.md#the-options-function" in readme
    assert "### The OPTIONS function" in (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
