"""Packages whose `__init__` runs only when a name that only it can give is asked for.

Python runs a package's `__init__` before any module in it. Some `__init__`s
import every module of their package to re-export its names, so importing one
module costs them all: Powertools' `event_handler` imports every resolver it
has (AppSync and, through it, asyncio; Bedrock agents; VPC Lattice; function
URLs), and `utilities.data_classes` every event class (about forty), while a
function uses one resolver and one event class.

`defer_package_init(name)` registers such a package without running its
`__init__`. Then, asked for an attribute, the package gives:

- a name its `__init__` re-exports with `from <module> import <name>` (read from
  the `__init__`'s source, never run): that name, imported from that module only;
- one of its modules (`from package import module`): that module, imported;
- anything else: the real `__init__` runs once, in the package's own namespace,
  and the name is looked up there, so the package is then as if imported the
  usual way (`__all__`, names the `__init__` defines itself, star imports, and
  the names its own module `__getattr__` gives, if it has one).

A package imported already is left as it is.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from importlib.machinery import ModuleSpec
from typing import Any


def _reexports(spec: ModuleSpec, source: str) -> dict[str, tuple[str, str]]:
    """`{exported name: (module, name there)}` for the `from ... import ...` statements at the top level of `source`."""
    names: dict[str, tuple[str, str]] = {}
    for statement in ast.parse(source).body:
        if not isinstance(statement, ast.ImportFrom):
            continue
        if statement.level:  # `from .module import name`, relative to the package itself
            base = spec.name.rsplit(".", statement.level - 1)[0]
            module = f"{base}.{statement.module}" if statement.module else base
        else:
            module = statement.module or ""
        if module == spec.name or not module.startswith(spec.name + "."):
            continue  # only names the package's own modules define can be had without its `__init__`
        for alias in statement.names:
            if alias.name != "*":
                names[alias.asname or alias.name] = (module, alias.name)
    return names


def defer_package_init(name: str) -> bool:
    """Registers package `name` without running its `__init__` (see the module's docstring).

    False if it is imported already: then there is nothing left to defer.
    """
    if name in sys.modules:
        return False
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        raise ImportError(f"{name} is not a package that can be imported", name=name)
    source = spec.loader.get_source(name) if hasattr(spec.loader, "get_source") else None
    if source is None:
        raise ImportError(f"the source of {name}'s __init__ cannot be read", name=name)
    reexports = _reexports(spec, source)
    package = importlib.util.module_from_spec(spec)
    initialised = False

    def attribute_of_package(attribute: str) -> Any:
        nonlocal initialised
        if not initialised:
            if attribute in reexports:
                module, original = reexports[attribute]
                value = getattr(importlib.import_module(module), original)
                setattr(package, attribute, value)
                return value
            if not attribute.startswith("__") and importlib.util.find_spec(f"{name}.{attribute}") is not None:
                return importlib.import_module(f"{name}.{attribute}")
            initialised = True
            spec.loader.exec_module(package)  # type: ignore[union-attr]  # checked above
            if attribute in package.__dict__:
                return package.__dict__[attribute]
            lazy = package.__dict__.get("__getattr__")
            if lazy is not attribute_of_package and callable(lazy):
                return lazy(attribute)  # an `__init__` with lazy names of its own (PEP 562) has replaced this one
        raise AttributeError(f"module {name!r} has no attribute {attribute!r}")

    package.__dict__["__getattr__"] = attribute_of_package
    sys.modules[name] = package
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, package)
    return True
