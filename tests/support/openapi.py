"""openapi.yaml as a checker: does one answer (status, headers, body) match what the contract documents?

Used where schemathesis cannot reach: store faults (500, 503) and the 405 the
document keeps under `components`, since OpenAPI has no operation to hang it on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tests.support.paths import ROOT

SPEC_PATH = ROOT / "openapi.yaml"
RESOURCE = "/hello/{username}"


class OpenApiContract:
    def __init__(self, path: Path = SPEC_PATH) -> None:
        self.path = path
        self.document: dict[str, Any] = yaml.safe_load(path.read_text())

    def resolve(self, node: Any) -> Any:
        """The node with every local `$ref` replaced by what it points to (the document has no cycles)."""
        if isinstance(node, dict):
            if "$ref" in node:
                target: Any = self.document
                for part in node["$ref"].removeprefix("#/").split("/"):
                    target = target[part]
                return self.resolve(target)
            return {key: self.resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [self.resolve(item) for item in node]
        return node

    def operations(self) -> dict[str, dict[str, Any]]:
        """Documented methods (upper case) of the one resource."""
        item = self.document["paths"][RESOURCE]
        methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
        return {method.upper(): self.resolve(spec) for method, spec in item.items() if method in methods}

    def response(self, method: str, status: int) -> dict[str, Any] | None:
        """What the document says `method` answers with `status`; other methods get `MethodNotAllowed`."""
        operation = self.operations().get(method.upper())
        if operation is None:
            if status != 405:
                return None
            return dict(self.resolve(self.document["components"]["responses"]["MethodNotAllowed"]))
        found = operation["responses"].get(str(status))
        return dict(found) if found is not None else None

    def documented_statuses(self) -> set[int]:
        statuses = {int(code) for operation in self.operations().values() for code in operation["responses"]}
        return statuses | {405}

    def problems(self, method: str, status: int, headers: dict[str, str], body: bytes | str | None) -> list[str]:
        """Every way the answer departs from the document; empty when it conforms."""
        documented = self.response(method, status)
        if documented is None:
            return [f"{method} {RESOURCE} answering {status} is not documented"]
        found: list[str] = []
        lower = {name.lower(): value for name, value in headers.items()}
        for name, header in documented.get("headers", {}).items():
            value = lower.get(name.lower())
            if value is None:
                if header.get("required"):
                    found.append(f"{status}: required header {name} is missing")
                continue
            found.extend(
                f"{status}: header {name}: {error}" for error in _errors(header["schema"], _typed(header, value))
            )
        text = body.decode() if isinstance(body, bytes) else (body or "")
        content = documented.get("content")
        if not content:
            if text:
                found.append(f"{status}: the document says no body, got {text[:80]!r}")
            return found
        media_type = lower.get("content-type", "").split(";", 1)[0].strip()
        if media_type not in content:
            return [*found, f"{status}: Content-Type {media_type!r} is not one of {sorted(content)}"]
        try:
            document = json.loads(text) if text else None
        except ValueError:
            return [*found, f"{status}: the body is not JSON: {text[:80]!r}"]
        found.extend(f"{status}: body: {error}" for error in _errors(content[media_type]["schema"], document))
        return found


def _typed(header: dict[str, Any], value: str) -> Any:
    """Header values are text on the wire; an `integer` header must read as one."""
    if header["schema"].get("type") == "integer":
        try:
            return int(value)
        except ValueError:
            return value
    return value


def _errors(schema: dict[str, Any], instance: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return [error.message for error in validator.iter_errors(instance)]
