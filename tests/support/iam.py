"""IAM's decision for one request against resolved policy statements, for the few forms this project writes.

AWS evaluates: an explicit Deny wins, then an Allow, otherwise the request is
denied. A statement applies when the action and resource match (`*` and `?`
wildcards, case-insensitive actions) and every condition holds. The condition
operators are the ones pipeline.yaml and template.yaml use; a key missing from
the request fails a plain operator, and passes `ForAllValues:` and
`StringNotEquals` (as in IAM). `${aws:PrincipalTag/<key>}` takes the caller's tag.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any, Literal

Decision = Literal["Allow", "Deny", "ImplicitDeny"]
_PRINCIPAL_TAG = re.compile(r"\$\{aws:PrincipalTag/([^}]+)\}")


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: dict[str, str | list[str]] = field(default_factory=dict)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _with_tags(text: str, principal_tags: dict[str, str]) -> str:
    return _PRINCIPAL_TAG.sub(lambda match: principal_tags.get(match.group(1), "\0missing-tag\0"), text)


def _matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    if ignore_case:
        return fnmatch.fnmatchcase(value.lower(), pattern.lower())
    return fnmatch.fnmatchcase(value, pattern)


def _condition_holds(operator: str, key: str, expected: Any, request: Request, tags: dict[str, str]) -> bool:
    wanted = [_with_tags(str(value), tags) for value in _as_list(expected)]
    qualifier, _, base = operator.rpartition(":")
    if key not in request.context:
        return qualifier == "ForAllValues" or base == "StringNotEquals"
    given = _as_list(request.context[key])
    if base in {"StringEquals", "ArnEquals"}:
        match = [value in wanted for value in given]
    elif base in {"StringLike", "ArnLike"}:
        match = [any(_matches(pattern, value) for pattern in wanted) for value in given]
    elif base == "StringNotEquals":
        return all(value not in wanted for value in given)
    elif base == "Bool":
        match = [value.lower() in [w.lower() for w in wanted] for value in given]
    else:
        raise AssertionError(f"condition operator not understood by this evaluator: {operator}")
    return all(match) if qualifier == "ForAllValues" else any(match)


def applies(statement: dict[str, Any], request: Request, principal_tags: dict[str, str]) -> bool:
    assert not {"NotAction", "NotResource", "NotPrincipal"} & set(statement), "not written in this project"
    if not any(_matches(action, request.action, ignore_case=True) for action in _as_list(statement["Action"])):
        return False
    resources = [_with_tags(resource, principal_tags) for resource in _as_list(statement["Resource"])]
    if not any(_matches(resource, request.resource) for resource in resources):
        return False
    return all(
        _condition_holds(operator, key, expected, request, principal_tags)
        for operator, keys in statement.get("Condition", {}).items()
        for key, expected in keys.items()
    )


def decide(
    statements: list[dict[str, Any]], request: Request, principal_tags: dict[str, str] | None = None
) -> Decision:
    tags = principal_tags or {}
    matching = [statement for statement in statements if applies(statement, request, tags)]
    if any(statement["Effect"] == "Deny" for statement in matching):
        return "Deny"
    if any(statement["Effect"] == "Allow" for statement in matching):
        return "Allow"
    return "ImplicitDeny"


def allowed(
    identity: list[dict[str, Any]],
    request: Request,
    principal_tags: dict[str, str] | None = None,
    boundary: list[dict[str, Any]] | None = None,
) -> bool:
    """What a role may do: its policies allow it and, if it has one, its permissions boundary does too."""
    if decide(identity, request, principal_tags) != "Allow":
        return False
    return boundary is None or decide(boundary, request, principal_tags) == "Allow"
