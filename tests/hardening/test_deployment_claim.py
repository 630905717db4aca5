"""The README's deployment claim, as written, holds for every function behind a route.

Every function an API route calls is deployed through its `live` alias with a
CodeDeploy canary, a pre-traffic smoke-test hook and alarms, except
OptionsNotAllowedFunction (a fixed 405), whose exception rests on premises
this file keeps true: no policy (it reads no table), its code the canaried
functions' code, and no setting that depends on a parameter of its own. The
README and docs/deployment.md say so; the claim that *every* change is
canaried, which was not true of it, is gone. Nor is every change to a canaried
function canaried: what applies to the function as a whole (its concurrency, its
role) reaches live traffic at once, and the README and the docs name each such
property.
"""

from __future__ import annotations

from typing import Any

from tests.support import sam
from tests.support.cloudformation import references
from tests.support.paths import ROOT

EXCEPTION = "OptionsNotAllowedFunction"
NOT_CONFIGURATION = {"Events", "ReservedConcurrentExecutions", "Tags", "Description"}
"""Properties that are not what a published version runs (the routes, the shared concurrency, labels)."""


VERSIONED = {
    *("Architectures", "CodeUri", "Environment", "Handler", "LoggingConfig", "MemorySize"),
    *("Runtime", "SnapStart", "Timeout", "Tracing"),
}
"""What a published version is a snapshot of: a change goes out through the canary."""
FUNCTION_WIDE = {"ReservedConcurrentExecutions", "Policies", "PermissionsBoundary"}
"""Settings of the function or its role that every version shares: a change applies at once."""
NOT_THE_FUNCTIONS = {
    *("AutoPublishAlias", "AutoPublishAliasAllProperties", "DeploymentPreference", "VersionDescription"),
    *("Events", "Description", "Tags"),
}
"""How it is deployed, the API's routes, labels."""


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


def test_every_setting_of_a_canaried_function_is_sorted_and_the_function_wide_ones_are_named() -> None:
    """A new property must be sorted here; one that skips the canary must be named in the docs."""
    document = sam.sam_template()
    shared = set(document["Globals"]["Function"])
    guide = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    section = guide.split("**What takes effect without the canary.**", 1)[1].split("\n\n**", 1)[0]
    for name in routed_functions():
        if name == EXCEPTION:
            continue
        settings = shared | set(document["Resources"][name]["Properties"])
        unsorted = settings - VERSIONED - FUNCTION_WIDE - NOT_THE_FUNCTIONS
        assert not unsorted, f"{name}: sort {sorted(unsorted)} in this file, and name a function-wide one in the docs"
        for setting in sorted(settings & FUNCTION_WIDE):
            assert f"`{setting}`" in section, f"docs/deployment.md does not say {setting} skips the canary"


def test_the_readme_says_what_skips_the_canary() -> None:
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "Every change to the GET and PUT functions (code or configuration)" not in readme
    assert "reserved concurrency and the execution role apply to every version at once" in readme
