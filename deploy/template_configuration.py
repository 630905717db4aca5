"""The pipeline's stack settings, written from samconfig.toml: one source for both ways to deploy.

`sam deploy --config-env <env>` reads samconfig.toml; CodePipeline's CloudFormation
actions read a template configuration file per stack (deploy/<env>.json). The build
writes those files from samconfig.toml with the SAM CLI's own readers, so the two ways
cannot drift, and refuses a samconfig stack name the pipeline would not deploy:

    python -m deploy.template_configuration --application-name birthday-greeter --output-dir deploy
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from samcli.cli.types import CfnParameterOverridesType, CfnTags
from samcli.lib.config.samconfig import SamConfig

ROOT = Path(__file__).resolve().parents[1]
SAMCONFIG = ROOT / "samconfig.toml"
PIPELINE_ENVIRONMENTS = ("staging", "prod")
"""The environments the pipeline deploys; dev is `sam deploy` from a developer's machine."""


@dataclass(frozen=True)
class StackSettings:
    """What one environment's stack is deployed with: its name, parameter values and tags."""

    stack_name: str
    parameters: dict[str, str]
    tags: dict[str, str]

    def template_configuration(self) -> dict[str, Any]:
        """The CloudFormation template configuration file CodePipeline's deploy action reads."""
        return {"Parameters": self.parameters, "Tags": self.tags}


class SettingsError(Exception):
    """samconfig.toml does not describe a stack the pipeline can deploy."""


def samconfig_settings(environment: str, samconfig: Path = SAMCONFIG) -> StackSettings:
    """The environment's `sam deploy` options, read as `sam deploy --config-env` reads them
    (its global section under its deploy section), with the SAM CLI's own parsers."""
    options: dict[str, Any] = SamConfig(samconfig.parent, samconfig.name).get_all(
        ["deploy"], "parameters", env=environment
    )
    if "stack_name" not in options:
        raise SettingsError(f"{samconfig.name} has no stack_name for [{environment}]")
    parameters: dict[str, str] = CfnParameterOverridesType().convert(options.get("parameter_overrides", ""), None, None)
    tags: dict[str, str] = CfnTags().convert(options.get("tags", ""), None, None)
    return StackSettings(stack_name=str(options["stack_name"]), parameters=parameters, tags=tags)


def pipeline_stack_name(application_name: str, environment: str) -> str:
    """The stack pipeline.yaml deploys an environment to: <ApplicationName>-<environment>."""
    return f"{application_name}-{environment}"


def write_template_configurations(application_name: str, output_dir: Path, samconfig: Path = SAMCONFIG) -> list[Path]:
    """deploy/<env>.json for every environment the pipeline deploys; nothing is written on an error."""
    settings = {environment: samconfig_settings(environment, samconfig) for environment in PIPELINE_ENVIRONMENTS}
    for environment, stack in settings.items():
        expected = pipeline_stack_name(application_name, environment)
        if stack.stack_name != expected:
            raise SettingsError(
                f"{samconfig.name} deploys [{environment}] to stack {stack.stack_name}, "
                f"but the pipeline (ApplicationName={application_name}) deploys it to {expected}"
            )
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for environment, stack in settings.items():
        path = output_dir / f"{environment}.json"
        path.write_text(json.dumps(stack.template_configuration(), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--application-name", required=True, help="pipeline.yaml's ApplicationName parameter")
    parser.add_argument("--output-dir", type=Path, default=ROOT / "deploy")
    parser.add_argument("--samconfig", type=Path, default=SAMCONFIG)
    arguments = parser.parse_args(argv)
    try:
        written = write_template_configurations(arguments.application_name, arguments.output_dir, arguments.samconfig)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
