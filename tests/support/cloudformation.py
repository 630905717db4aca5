"""What CloudFormation makes of a translated template's values at deploy time, for given parameter values.

samtranslator leaves intrinsic functions for CloudFormation to resolve; to say
what a property *will be* (the description of a version, the boundary of a
role) a test resolves them the way CloudFormation does: parameters (with their
defaults), pseudo parameters, conditions, `Ref`, `Fn::Sub`, `Fn::If`,
`Fn::Join`, `Fn::Split`, `Fn::FindInMap` and `Fn::GetAtt`. Resources resolve to the physical
ids the test gives them (or a stand-in), since only a deployment knows those.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from tests.support.sam import REGION

ACCOUNT = "123456789012"
STACK_NAME = "birthday-greeter-staging"
_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class _NoValue:
    """AWS::NoValue: the property (or list item) it stands for is removed."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


class Deployment:
    """One template deployed with one set of parameter values, resolved as CloudFormation resolves it."""

    def __init__(
        self,
        template: dict[str, Any],
        parameters: dict[str, str] | None = None,
        physical_ids: dict[str, str] | None = None,
        stack_name: str = STACK_NAME,
    ) -> None:
        self.template = template
        declared = template.get("Parameters", {})
        unknown = set(parameters or {}) - set(declared)
        assert not unknown, f"not parameters of the template: {unknown}"
        self.parameters = {name: str(spec["Default"]) for name, spec in declared.items() if "Default" in spec}
        self.parameters.update(parameters or {})
        self.physical_ids = physical_ids or {}
        self.pseudo = {
            "AWS::Partition": "aws",
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": stack_name,
            "AWS::URLSuffix": "amazonaws.com",
        }
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self.resolve(self.template["Conditions"][name]))
        return self._conditions[name]

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        assert name in self.template["Resources"], f"Ref to nothing: {name}"
        return self.physical_ids.get(name, f"{name}-physical-id")

    def get_att(self, name: str, attribute: str) -> str:
        assert name in self.template["Resources"], f"GetAtt of nothing: {name}"
        return self.physical_ids.get(f"{name}.{attribute}", f"{name}.{attribute}-value")

    def sub(self, text: str, variables: dict[str, Any]) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name and name.split(".", 1)[0] in self.template["Resources"]:
                return self.get_att(*name.split(".", 1))
            return str(self.ref(name))

        return _VARIABLE.sub(value, text).replace("${!", "${")

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            items = [self.resolve(item) for item in node]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1 and next(iter(node)) in self._FUNCTIONS:
            ((name, argument),) = node.items()
            return self._FUNCTIONS[name](self, argument)
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not NO_VALUE}

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        return self.sub(text, variables)

    def _if(self, argument: list[Any]) -> Any:
        name, when_true, when_false = argument
        return self.resolve(when_true if self.condition(name) else when_false)

    def _get_att(self, argument: Any) -> str:
        name, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
        return self.get_att(name, attribute)

    def _join(self, argument: list[Any]) -> str:
        separator, items = argument
        return str(separator).join(str(item) for item in self.resolve(items))

    def _split(self, argument: list[Any]) -> list[str]:
        separator, text = argument
        return str(self.resolve(text)).split(separator)

    def _find_in_map(self, argument: list[Any]) -> Any:
        mapping, top, second = (self.resolve(part) for part in argument)
        return self.template["Mappings"][mapping][top][second]

    def _equals(self, argument: list[Any]) -> bool:
        left, right = (self.resolve(part) for part in argument)
        return str(left) == str(right)

    _FUNCTIONS: ClassVar[dict[str, Callable[[Deployment, Any], Any]]] = {
        "Ref": lambda self, name: self.ref(name),
        "Fn::Sub": _sub,
        "Fn::If": _if,
        "Fn::GetAtt": _get_att,
        "Fn::Join": _join,
        "Fn::Split": _split,
        "Fn::FindInMap": _find_in_map,
        "Fn::Equals": _equals,
        "Fn::Not": lambda self, argument: not self.resolve(argument[0]),
        "Fn::And": lambda self, argument: all(self.resolve(part) for part in argument),
        "Fn::Or": lambda self, argument: any(self.resolve(part) for part in argument),
        "Condition": lambda self, name: self.condition(name),
    }
    """The intrinsic functions (and condition functions) CloudFormation resolves, by name."""


def references(node: Any, conditions: dict[str, Any]) -> set[str]:
    """Every parameter or resource a value depends on: `Ref`, `Fn::Sub` and `Fn::GetAtt` targets,
    and, through `Fn::If` and `Condition`, whatever the conditions it tests depend on."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= references(item, conditions)
    elif isinstance(node, dict):
        for key, argument in node.items():
            if key == "Ref":
                found.add(argument)
            elif key == "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else argument
                found |= {name.split(".", 1)[0] for name in _VARIABLE.findall(text)} - set(variables)
                found |= references(variables, conditions)
            elif key == "Fn::GetAtt":
                found.add(argument[0] if isinstance(argument, list) else argument.split(".", 1)[0])
            elif key in {"Fn::If", "Condition"}:
                name = argument[0] if key == "Fn::If" else argument
                found |= references(conditions[name], conditions)
                found |= references(argument[1:] if key == "Fn::If" else [], conditions)
            else:
                found |= references(argument, conditions)
    return {name for name in found if not name.startswith("AWS::")}


_ARN_FORMATS: dict[str, tuple[str | None, str, str]] = {
    # type: (property naming it, Ref gives ..., ARN format)
    "AWS::Lambda::Function": ("FunctionName", "name", "arn:aws:lambda:{region}:{account}:function:{name}"),
    "AWS::DynamoDB::Table": ("TableName", "name", "arn:aws:dynamodb:{region}:{account}:table/{name}"),
    "AWS::StepFunctions::StateMachine": (
        "StateMachineName",
        "arn",
        "arn:aws:states:{region}:{account}:stateMachine:{name}",
    ),
    "AWS::SNS::Topic": ("TopicName", "arn", "arn:aws:sns:{region}:{account}:{name}"),
    "AWS::Logs::LogGroup": ("LogGroupName", "name", "arn:aws:logs:{region}:{account}:log-group:{name}:*"),
    "AWS::IAM::Role": ("RoleName", "name", "arn:aws:iam::{account}:role/{name}"),
    "AWS::CodeDeploy::Application": ("ApplicationName", "name", ""),
    "AWS::CodeDeploy::DeploymentGroup": ("DeploymentGroupName", "name", ""),
}


def physical_ids(template: dict[str, Any], stack_name: str = STACK_NAME) -> dict[str, str]:
    """The names and ARNs a deployment would give the template's resources: the name its naming
    property says, else CloudFormation's `<stack>-<LogicalId>-<suffix>` (a state machine's is
    `<LogicalId>-<suffix>`). Keys are logical ids (what `Ref` gives) and `<id>.Arn`, `<id>.Name`."""
    namer = Deployment(template, stack_name=stack_name)
    found: dict[str, str] = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] not in _ARN_FORMATS:
            continue
        name_property, ref_gives, arn_format = _ARN_FORMATS[resource["Type"]]
        properties = resource.get("Properties", {})
        if name_property in properties:
            name = str(namer.resolve(properties[name_property]))
        elif resource["Type"] == "AWS::StepFunctions::StateMachine":
            name = f"{logical_id}-AbCdEf123456"
        else:
            name = f"{stack_name}-{logical_id}-AbCdEf123456"
        arn = arn_format.format(region=REGION, account=ACCOUNT, name=name)
        found[logical_id] = arn if ref_gives == "arn" else name
        found[f"{logical_id}.Name"] = name
        if arn:
            found[f"{logical_id}.Arn"] = arn
    return found
