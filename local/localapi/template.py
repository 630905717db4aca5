"""What the local tools read from template.yaml: routes, functions, the table.

Read the way `sam local` reads it: the SAM CLI's YAML loader (short-form
intrinsics such as `!Ref`), SAM's plugins (Globals merged into each function),
then the SAM CLI's intrinsic resolver with the template's parameter defaults,
`--parameter-overrides` on top, pseudo parameters and conditions; `!Ref` to a
resource is its logical id. A resource whose `Condition` is false does not
exist, as in CloudFormation (`sam local` itself would still serve it). This is
the only list of routes outside API Gateway; nothing else in the repo names them.
"""

from __future__ import annotations

import contextlib
import copy
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from samcli.yamlhelper import yaml_parse

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"
DEFAULT_REGION = "us-east-1"  # what `sam local` assumes without --region


@dataclass(frozen=True)
class Route:
    method: str  # upper case, or "ANY"
    path: str  # API Gateway syntax: /hello/{username}
    function_id: str

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def pattern(self) -> re.Pattern[str]:
        """Matches a raw (still percent-encoded) path; one segment per `{name}`."""
        regex = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(self.path))
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", regex)
        return re.compile(regex)

    @property
    def specificity(self) -> tuple[int, int]:
        """API Gateway prefers a named method to ANY and literal segments to variables."""
        literal_segments = sum(1 for part in self.path.split("/") if part and not part.startswith("{"))
        return (0 if self.method == "ANY" else 1, literal_segments)


@dataclass(frozen=True)
class Function:
    logical_id: str
    handler: str  # module.path.function
    code_uri: Path
    environment: dict[str, str]
    timeout_seconds: int
    memory_mb: int
    routes: tuple[Route, ...] = field(default=())
    reserved_concurrency: int | None = None  # ReservedConcurrentExecutions; None when the template sets none


@dataclass(frozen=True)
class Table:
    logical_id: str
    key_schema: list[dict[str, str]]
    attribute_definitions: list[dict[str, str]]


@dataclass(frozen=True)
class JwtAuthorizer:
    """An HTTP API JWT authorizer: whose tokens, for whom, read from where, and which routes need one."""

    issuer: str
    audience: tuple[str, ...]
    identity_source: str  # $request.header.Authorization
    guarded_routes: frozenset[str]  # route keys: "PUT /hello/{username}"


class TemplateError(ValueError):
    """The template, or an override, cannot be read as `sam local` would read it."""


class _NoValue:
    """`!Ref AWS::NoValue` chosen by an `!If`: the property is absent, as in CloudFormation."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


def parse_parameter_overrides(text: str | None) -> dict[str, str]:
    """`Name=value Other=value` (or `ParameterKey=...,ParameterValue=...`, or `file://...`), as `sam` parses it."""
    if not text:
        return {}
    import click
    from samcli.cli.types import CfnParameterOverridesType

    try:
        parsed: dict[str, str] = CfnParameterOverridesType().convert(text, None, None)
    except click.BadParameter as error:
        raise TemplateError(f"--parameter-overrides: {error.message}") from None
    return parsed


class SamTemplate:
    """template.yaml, resolved for one set of parameter values (the defaults unless overridden)."""

    def __init__(
        self,
        path: Path = TEMPLATE_PATH,
        parameter_overrides: Mapping[str, str] | None = None,
        region: str = DEFAULT_REGION,
    ) -> None:
        self.path = path
        self.document: dict[str, Any] = yaml_parse(path.read_text())
        self.resources: dict[str, dict[str, Any]] = self.document["Resources"]
        self.region = region
        declared = self.document.get("Parameters", {})
        unknown = sorted(set(parameter_overrides or {}) - set(declared))
        if unknown:
            raise TemplateError(f"{path.name} declares no parameter {', '.join(unknown)}")
        for name, value in (parameter_overrides or {}).items():
            # CloudFormation refuses the stack the same way, before anything is created.
            pattern, allowed = declared[name].get("AllowedPattern"), declared[name].get("AllowedValues")
            if pattern is not None and not re.fullmatch(pattern, value):
                reason = declared[name].get("ConstraintDescription", f"must match {pattern}")
                raise TemplateError(f"parameter {name}={value!r}: {reason}")
            if allowed is not None and value not in [str(choice) for choice in allowed]:  # compared as strings
                choices = ", ".join(str(choice) for choice in allowed)
                raise TemplateError(f"parameter {name}={value!r}: must be one of {choices}")
            _check_bounds(name, value, declared[name])
        self.parameter_overrides = dict(parameter_overrides or {})

    def parameter_values(self) -> dict[str, Any]:
        """Pseudo parameters, then each parameter's Default, then the overrides.

        CloudFormation compares parameters as strings; the SAM CLI's resolver
        compares Python values, and YAML reads `Default: 0` as a number. So a
        `Type: Number` override is given as a number too, or `!Equals
        [!Ref ReservedConcurrency, 0]` would never hold for `ReservedConcurrency=0`.
        """
        from samcli.lib.intrinsic_resolver.intrinsics_symbol_table import IntrinsicsSymbolTable

        declared = self.document.get("Parameters", {})
        values: dict[str, Any] = {**IntrinsicsSymbolTable.DEFAULT_PSEUDO_PARAM_VALUES, "AWS::Region": self.region}
        values.update({name: spec["Default"] for name, spec in declared.items() if "Default" in spec})
        for name, value in self.parameter_overrides.items():
            values[name] = _as_number(name, value) if declared[name].get("Type") == "Number" else value
        return values

    @cached_property
    def resolved(self) -> dict[str, Any]:
        """The template after SAM's plugins and the SAM CLI's intrinsic resolver, as `sam local` sees it.

        A resource whose `Condition` is false does not exist, as in CloudFormation.
        """
        self.check_rules()  # as CloudFormation: before anything is resolved or created
        resolver, expanded = self._resolver, self._expanded
        conditions = expanded.get("Conditions", {})
        resolved: dict[str, Any] = resolver.resolve_template(ignore_errors=True)
        holds: dict[str, bool] = {}
        for logical_id, resource in expanded["Resources"].items():
            name = resource.get("Condition")
            if name is None:
                continue
            if name not in conditions:
                raise TemplateError(f"{logical_id}: Condition {name} is not defined in {self.path.name}")
            if name not in holds:
                holds[name] = bool(resolver.intrinsic_property_resolver(conditions[name], True))
            if not holds[name]:
                resolved["Resources"].pop(logical_id, None)
        return resolved

    @cached_property
    def _expanded(self) -> dict[str, Any]:
        """The template after SAM's plugins (Globals merged, implicit APIs), with these parameters."""
        from samcli.lib.samlib.wrapper import SamTranslatorWrapper

        wrapper = SamTranslatorWrapper(copy.deepcopy(self.document), parameter_values=self.parameter_values())
        expanded: dict[str, Any] = wrapper.run_plugins()
        return expanded

    @cached_property
    def _resolver(self) -> Any:
        """The SAM CLI's intrinsic resolver over the template after SAM's plugins, with these parameters."""
        from samcli.lib.intrinsic_resolver.intrinsic_property_resolver import IntrinsicResolver
        from samcli.lib.intrinsic_resolver.intrinsics_symbol_table import IntrinsicsSymbolTable

        parameters = self.parameter_values()
        expanded = self._expanded
        resolver = IntrinsicResolver(
            template=expanded,
            symbol_resolver=IntrinsicsSymbolTable(logical_id_translator=dict(parameters), template=expanded),
        )
        conditions = expanded.get("Conditions", {})

        def fn_if(arguments: Any, ignore_errors: bool) -> Any:
            """`Fn::If` evaluating only the branch the condition picks, as CloudFormation does.

            The SAM CLI's own handler resolves both branches first and fails on
            `!Ref AWS::NoValue` (None), leaving the whole property unresolved.
            """
            name, when_true, when_false = arguments
            if name not in conditions:
                raise TemplateError(f"Fn::If names a condition the template does not define: {name}")
            chosen = when_true if resolver.intrinsic_property_resolver(conditions[name], ignore_errors) else when_false
            if chosen == {"Ref": "AWS::NoValue"}:
                return NO_VALUE
            return resolver.intrinsic_property_resolver(chosen, ignore_errors)

        resolver.set_conditional_function_map({**resolver.default_conditional_key_map(), "Fn::If": fn_if})
        return resolver

    def check_rules(self) -> None:
        """The template's `Rules` assertions, as CloudFormation checks them before it creates anything."""
        for name, rule in (self.document.get("Rules") or {}).items():
            if "RuleCondition" in rule and not self._resolver.intrinsic_property_resolver(rule["RuleCondition"], False):
                continue
            for assertion in rule.get("Assertions", []):
                if not self._resolver.intrinsic_property_resolver(assertion["Assert"], False):
                    raise TemplateError(f"rule {name}: {assertion.get('AssertDescription', 'assertion failed')}")

    def jwt_authorizer(self) -> JwtAuthorizer | None:
        """The HTTP API's JWT authorizer and the routes it guards, from the API's DefinitionBody; None when off.

        Read from the OpenAPI body the template gives API Gateway (its
        `securitySchemes` and each operation's `security`), so `make run` guards
        exactly the routes the deployed API guards.
        """
        found = None
        for logical_id, resource in self.resolved["Resources"].items():
            if resource.get("Type") != "AWS::Serverless::HttpApi":
                continue
            body = (resource.get("Properties") or {}).get("DefinitionBody") or {}
            components = body.get("components") or {}
            schemes = components.get("securitySchemes") if isinstance(components, dict) else None
            if not isinstance(schemes, dict):
                continue
            for scheme_name, scheme in schemes.items():
                authorizer = scheme.get("x-amazon-apigateway-authorizer") or {}
                if authorizer.get("type") != "jwt":
                    continue
                configuration = authorizer.get("jwtConfiguration") or {}
                guarded = frozenset(
                    f"{method.upper()} {path}"
                    for path, operations in (body.get("paths") or {}).items()
                    for method, operation in operations.items()
                    if isinstance(operation, dict)
                    and isinstance(operation.get("security"), list)
                    and any(scheme_name in requirement for requirement in operation["security"])
                )
                if found is not None:
                    raise TemplateError("the local API emulates one JWT authorizer; the template declares more")
                found = JwtAuthorizer(
                    issuer=_text(logical_id, "issuer", configuration.get("issuer")),
                    audience=tuple(_text(logical_id, "audience", item) for item in configuration.get("audience") or []),
                    identity_source=_text(logical_id, "identitySource", authorizer.get("identitySource")),
                    guarded_routes=guarded,
                )
        return found

    def http_api_cors(self) -> dict[str, Any] | None:
        """The HTTP API's CorsConfiguration as resolved (None when it has none), for localapi.cors to read."""
        apis: dict[str, dict[str, Any]] = {
            logical_id: resource.get("Properties", {})
            for logical_id, resource in self.resolved["Resources"].items()
            if resource.get("Type") == "AWS::Serverless::HttpApi"
        }
        if len(apis) > 1:
            raise TemplateError(f"the local API serves one HTTP API; {self.path.name} has {', '.join(sorted(apis))}")
        value = next(iter(apis.values())).get("CorsConfiguration") if apis else None
        if value is NO_VALUE or value is None or value is False:  # !Ref AWS::NoValue: no CORS
            return None
        if value is True:  # SAM's shorthand: every origin
            return {"AllowOrigins": ["*"]}
        if not isinstance(value, dict):
            raise TemplateError(f"CorsConfiguration = {value!r} cannot be resolved locally")
        return value

    def api_functions(self) -> list[Function]:
        """The functions behind HTTP API routes (hooks and other functions are not served)."""
        functions = []
        for logical_id, resource in self.resolved["Resources"].items():
            props = resource.get("Properties", {})
            events = [event for event in (props.get("Events") or {}).values() if event.get("Type") == "HttpApi"]
            if resource.get("Type") != "AWS::Serverless::Function" or not events:
                continue
            variables = (props.get("Environment") or {}).get("Variables") or {}
            routes = tuple(
                Route(
                    method=_text(logical_id, "Method", event["Properties"]["Method"]).upper(),
                    path=_text(logical_id, "Path", event["Properties"]["Path"]),
                    function_id=logical_id,
                )
                for event in events
            )
            reserved = props.get("ReservedConcurrentExecutions", NO_VALUE)
            functions.append(
                Function(
                    logical_id=logical_id,
                    handler=_text(logical_id, "Handler", props["Handler"]),
                    code_uri=(self.path.parent / _text(logical_id, "CodeUri", props.get("CodeUri", "."))).resolve(),
                    environment={name: _text(logical_id, name, value) for name, value in variables.items()},
                    timeout_seconds=int(_text(logical_id, "Timeout", props.get("Timeout", 3))),
                    memory_mb=int(_text(logical_id, "MemorySize", props.get("MemorySize", 128))),
                    routes=routes,
                    reserved_concurrency=None
                    if reserved is NO_VALUE
                    else int(_text(logical_id, "ReservedConcurrentExecutions", reserved)),
                )
            )
        return functions

    def routes(self) -> list[Route]:
        """Every HTTP API route, most specific first, as API Gateway matches them."""
        routes = [route for function in self.api_functions() for route in function.routes]
        return sorted(routes, key=lambda route: route.specificity, reverse=True)

    def table(self, logical_id: str | None = None) -> Table:
        """The DynamoDB table (the only one, unless named), for creating it locally."""
        tables = {
            name: resource
            for name, resource in self.resources.items()
            if resource.get("Type") == "AWS::DynamoDB::Table" and (logical_id is None or name == logical_id)
        }
        if len(tables) != 1:
            raise ValueError(f"expected one DynamoDB table in {self.path.name}, found {sorted(tables)}")
        name, resource = tables.popitem()
        props = resource["Properties"]
        return Table(name, props["KeySchema"], props["AttributeDefinitions"])

    def create_table_request(self, table_name: str | None = None) -> dict[str, Any]:
        """The `CreateTable` arguments that build the template's table anywhere (moto, DynamoDB Local)."""
        table = self.table()
        return {
            "TableName": table_name or table.logical_id,
            "KeySchema": table.key_schema,
            "AttributeDefinitions": table.attribute_definitions,
            "BillingMode": "PAY_PER_REQUEST",
        }


def _as_number(name: str, value: str) -> int | float:
    """A `Type: Number` value: an integer or a finite float in ASCII (Python alone takes `nan`, `1e999`, `٣`)."""
    number: int | float | None = None
    if value.isascii():
        with contextlib.suppress(ValueError):
            number = int(value)
        if number is None:
            with contextlib.suppress(ValueError):
                number = float(value)
    if number is None or not math.isfinite(number):
        raise TemplateError(f"parameter {name} is a Number, got {value!r}")
    return number


def _check_bounds(name: str, value: str, declared: Mapping[str, Any]) -> None:
    """A parameter's MinValue and MaxValue (Number), MinLength and MaxLength (String), as CloudFormation checks them."""
    if declared.get("Type") == "Number":
        number = _as_number(name, value)
        if "MinValue" in declared and number < declared["MinValue"]:
            raise TemplateError(f"parameter {name}={value!r}: must be at least {declared['MinValue']}")
        if "MaxValue" in declared and number > declared["MaxValue"]:
            raise TemplateError(f"parameter {name}={value!r}: must be at most {declared['MaxValue']}")
    elif declared.get("Type", "String") == "String":
        if "MinLength" in declared and len(value) < declared["MinLength"]:
            raise TemplateError(f"parameter {name}={value!r}: must be at least {declared['MinLength']} characters")
        if "MaxLength" in declared and len(value) > declared["MaxLength"]:
            raise TemplateError(f"parameter {name}={value!r}: must be at most {declared['MaxLength']} characters")


def _text(function_id: str, name: str, value: Any) -> str:
    """A resolved value as the string Lambda would see; anything still an intrinsic is an error."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str | int | float):
        return str(value)
    raise TemplateError(f"{function_id}: {name} = {value!r} cannot be resolved locally")
