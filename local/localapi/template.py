"""What the local tools read from template.yaml: routes, functions, the table.

Parsed with the SAM CLI's own YAML loader, so short-form intrinsics (`!Ref`)
read exactly as `sam` reads them. This is the only list of routes outside
API Gateway; nothing else in the repo names them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samcli.yamlhelper import yaml_parse

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"


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


@dataclass(frozen=True)
class Table:
    logical_id: str
    key_schema: list[dict[str, str]]
    attribute_definitions: list[dict[str, str]]


class SamTemplate:
    """Reads template.yaml; `!Ref` to a resource resolves to its logical id, as `sam local` does."""

    def __init__(self, path: Path = TEMPLATE_PATH) -> None:
        self.path = path
        self.document: dict[str, Any] = yaml_parse(path.read_text())
        self.resources: dict[str, dict[str, Any]] = self.document["Resources"]

    def parameter_defaults(self) -> dict[str, str]:
        return {
            name: str(spec["Default"])
            for name, spec in self.document.get("Parameters", {}).items()
            if "Default" in spec
        }

    def resolve(self, value: Any, parameters: dict[str, str] | None = None) -> str:
        """A template value as a string: literals, `!Ref` to parameters and resources."""
        if isinstance(value, str | int | float | bool):
            return str(value).lower() if isinstance(value, bool) else str(value)
        if isinstance(value, dict) and set(value) == {"Ref"}:
            name = value["Ref"]
            known = {**self.parameter_defaults(), **(parameters or {})}
            if name in known:
                return known[name]
            if name in self.resources:
                return str(name)
        raise ValueError(f"template value {value!r} cannot be resolved locally")

    def api_functions(self, parameters: dict[str, str] | None = None) -> list[Function]:
        """The functions behind HTTP API routes (hooks and other functions are not served)."""
        globals_ = self.document.get("Globals", {}).get("Function", {})
        functions = []
        for logical_id, resource in self.resources.items():
            events = resource.get("Properties", {}).get("Events", {}).values()
            if resource.get("Type") != "AWS::Serverless::Function" or not any(
                event.get("Type") == "HttpApi" for event in events
            ):
                continue
            props = {**globals_, **resource.get("Properties", {})}
            variables = {
                **globals_.get("Environment", {}).get("Variables", {}),
                **resource.get("Properties", {}).get("Environment", {}).get("Variables", {}),
            }
            routes = tuple(
                Route(
                    method=str(event["Properties"]["Method"]).upper(),
                    path=str(event["Properties"]["Path"]),
                    function_id=logical_id,
                )
                for event in resource.get("Properties", {}).get("Events", {}).values()
                if event.get("Type") == "HttpApi"
            )
            functions.append(
                Function(
                    logical_id=logical_id,
                    handler=str(props["Handler"]),
                    code_uri=(self.path.parent / str(props["CodeUri"])).resolve(),
                    environment={name: self.resolve(value, parameters) for name, value in variables.items()},
                    timeout_seconds=int(self.resolve(props.get("Timeout", 3), parameters)),
                    memory_mb=int(self.resolve(props.get("MemorySize", 128), parameters)),
                    routes=routes,
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
