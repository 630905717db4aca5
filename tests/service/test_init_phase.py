"""What greeter/handlers/__init__.py does for a cold start's init phase.

greeter.lazy_packages (a package's `__init__` runs only when a name only it
gives is asked for) on a package made here, each test its own name; then the
handlers in fresh interpreters: what a cold start imports of Powertools, that
every name Powertools' packages export still resolves, and that the garbage
collector, paused for the init phase, is on again, the init's objects frozen.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from greeter.lazy_packages import defer_package_init
from tests.support.fresh_process import run_fresh

INIT = """\
import sys
sys.modules[__name__].INIT_RAN = True
from {package}.heavy import Heavy
from .light import Light, Light as Renamed
from os import sep
DEFINED_HERE = "init"
__all__ = ["Heavy", "Light", "DEFINED_HERE"]
"""


@pytest.fixture
def package(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A package whose `__init__` re-exports a heavy and a light module's classes and defines a name itself."""
    name = "lazy_" + re.sub(r"\W", "_", request.node.name.removeprefix("test_"))
    folder = tmp_path / name
    folder.mkdir()
    (folder / "__init__.py").write_text(INIT.format(package=name))
    (folder / "heavy.py").write_text("class Heavy:\n    pass\n")
    (folder / "light.py").write_text("class Light:\n    pass\n")
    (folder / "other.py").write_text("VALUE = 1\n")
    sys.path.insert(0, str(tmp_path))
    try:
        yield name
    finally:
        sys.path.remove(str(tmp_path))
        for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[module]


def test_a_reexported_name_loads_only_its_own_module(package: str) -> None:
    assert defer_package_init(package) is True
    namespace: dict[str, object] = {}
    exec(f"from {package} import Light, Renamed", namespace)  # noqa: S102  # the statement under test
    assert namespace["Light"] is namespace["Renamed"] is sys.modules[f"{package}.light"].Light  # type: ignore[attr-defined]
    assert f"{package}.heavy" not in sys.modules
    assert "INIT_RAN" not in vars(sys.modules[package])  # hasattr would ask for it, and so run the __init__


def test_a_submodule_is_imported_without_the_init(package: str) -> None:
    defer_package_init(package)
    namespace: dict[str, object] = {}
    exec(f"from {package} import other", namespace)  # noqa: S102
    assert namespace["other"] is sys.modules[f"{package}.other"]
    assert f"{package}.heavy" not in sys.modules
    assert "INIT_RAN" not in vars(sys.modules[package])


@pytest.mark.parametrize("name", ["DEFINED_HERE", "__all__", "sep"])
def test_a_name_only_the_init_gives_runs_it_once_and_then_all_names_are_there(package: str, name: str) -> None:
    """`sep` comes from a module outside the package: only the real `__init__` can give it."""
    defer_package_init(package)
    module = sys.modules[package]
    assert (
        getattr(module, name)
        == {"DEFINED_HERE": "init", "__all__": ["Heavy", "Light", "DEFINED_HERE"], "sep": os.sep}[name]
    )
    assert vars(module)["INIT_RAN"] is True
    assert module.Heavy is sys.modules[f"{package}.heavy"].Heavy  # type: ignore[attr-defined]


def test_names_the_inits_own_module_getattr_gives_resolve_the_first_time_too(package: str) -> None:
    """Powertools already loads some names lazily through a module `__getattr__` (PEP 562, its parser package):
    once the real `__init__` has run and put its own `__getattr__` in place, the first name asked is its too."""
    folder = next(Path(entry) / package for entry in sys.path if (Path(entry) / package / "__init__.py").exists())
    (folder / "__init__.py").write_text(
        "def __getattr__(name):\n"
        "    if name == 'LazyHeavy':\n"
        f"        from {package}.heavy import Heavy\n"
        "        return Heavy\n"
        "    raise AttributeError(name)\n"
    )
    defer_package_init(package)
    module = sys.modules[package]
    assert module.LazyHeavy is sys.modules[f"{package}.heavy"].Heavy  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        _ = module.no_such_name  # type: ignore[attr-defined]


def test_an_unknown_name_is_an_attribute_error_after_the_init_ran(package: str) -> None:
    defer_package_init(package)
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = sys.modules[package].no_such_name  # type: ignore[attr-defined]
    assert vars(sys.modules[package])["INIT_RAN"] is True
    with pytest.raises(ImportError):
        exec(f"from {package} import no_such_name", {})  # noqa: S102


def test_a_package_imported_already_is_left_as_it_is(package: str) -> None:
    imported = __import__(package)
    assert defer_package_init(package) is False
    assert sys.modules[package] is imported
    assert "__getattr__" not in vars(imported)


def test_a_module_that_is_no_package_is_refused(package: str) -> None:
    with pytest.raises(ImportError, match="not a package"):
        defer_package_init(f"{package}.light")


_COLD_START = """
import json, sys
import greeter.handlers.get_greeting, greeter.handlers.put_birthday, greeter.handlers.method_not_allowed
loaded = sorted(sys.modules)
from aws_lambda_powertools.event_handler import AppSyncResolver, VPCLatticeV2Resolver, __all__ as handlers
from aws_lambda_powertools.utilities.data_classes import SQSEvent, event_source, __all__ as classes
import aws_lambda_powertools.event_handler as event_handler, aws_lambda_powertools.utilities.data_classes as data
missing = [name for name in handlers if not hasattr(event_handler, name)]
missing += [name for name in classes if not hasattr(data, name)]
print(json.dumps({"loaded": loaded, "missing": missing}))
"""


def test_a_cold_start_imports_one_resolver_and_one_event_class_and_every_name_still_resolves() -> None:
    """Without the deferral, importing the handlers also imports asyncio, AppSync's resolver and ~40 event classes."""
    result = run_fresh(_COLD_START)
    loaded = set(result["loaded"])
    assert "aws_lambda_powertools.event_handler.api_gateway" in loaded
    assert "aws_lambda_powertools.utilities.data_classes.api_gateway_proxy_event" in loaded
    never = {
        "asyncio",
        "aws_lambda_powertools.event_handler.appsync",
        "aws_lambda_powertools.event_handler.bedrock_agent",
        "aws_lambda_powertools.utilities.data_classes.kinesis_firehose_event",
        "aws_lambda_powertools.utilities.data_classes.sqs_event",
    }
    assert sorted(loaded & never) == []
    assert result["missing"] == []


_GC_AROUND_ONE_HANDLER = """
import gc, importlib, json, sys
import greeter.handlers
paused = not gc.isenabled()
importlib.import_module(sys.argv[1])
print(json.dumps({"paused": paused, "enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}))
"""


@pytest.mark.parametrize("handler", ["get_greeting", "put_birthday", "method_not_allowed"])
def test_the_collector_is_paused_for_the_init_phase_and_on_after_it_with_the_init_frozen(handler: str) -> None:
    result = run_fresh(_GC_AROUND_ONE_HANDLER, f"greeter.handlers.{handler}")
    assert result["paused"] is True
    assert result["enabled"] is True
    assert result["frozen"] > 10_000  # the modules, the client and its models, Powertools
