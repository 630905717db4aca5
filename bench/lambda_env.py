"""A Lambda-like process on this machine: the runtime's packages, the function's package, its environment.

The python3.13 runtime ships boto3 and its dependencies with compiled bytecode;
the function's package (`sam build` output) is mounted read-only at
LAMBDA_TASK_ROOT, first on `sys.path`, so nothing is compiled to disk there:
PYTHONDONTWRITEBYTECODE gives the same here. The interpreter is the base one
under the virtualenv, with only these two directories added to its path.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import re
import sys
from collections.abc import Collection, Iterable
from pathlib import Path

from packaging.requirements import Requirement

from localapi.store import LOCAL_CREDENTIALS
from localapi.template import Function

RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six")
"""What the Lambda Python runtime provides besides the standard library."""

TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
"""A sampled trace, as Lambda sets it: the Tracer records (and sends over UDP) every subsegment.

Cold starts run sampled: X-Ray's default rule samples the first request of each second."""

UNSAMPLED_TRACE_HEADER = TRACE_HEADER.replace("Sampled=1", "Sampled=0")
"""Most warm requests: past the first each second, the default rule samples 5%."""


def interpreter() -> str:
    """The Python under the virtualenv, so the dev tools' packages are not on the path."""
    return str(getattr(sys, "_base_executable", sys.executable))


def link_runtime_packages(target: Path) -> Path:
    """Fills `target` with links to the runtime's packages as installed here (with bytecode and metadata).

    The metadata (`*.dist-info`) is there in Lambda's runtime directory too;
    OpenTelemetry's instrumentations read it to check what they instrument.
    """
    target.mkdir(parents=True, exist_ok=True)
    distributions = importlib.metadata.packages_distributions()
    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{name} is not installed; run `make venv`")
        origin = Path(spec.origin)
        if origin.name == "__init__.py":
            _link(origin.parent, target)
        else:  # a one-module distribution (six): its bytecode is in the folder's __pycache__
            _link(origin, target)
            (target / "__pycache__").mkdir(exist_ok=True)
            _link(Path(importlib.util.cache_from_source(str(origin))), target / "__pycache__")
        for distribution in distributions.get(name, []):
            _link(_metadata_directory(importlib.metadata.distribution(distribution)), target)
    return target


def _link(source: Path, target: Path) -> None:
    link = target / source.name
    if not link.exists():
        link.symlink_to(source)


def normalised(name: str) -> str:
    """A distribution's name as PEP 503 compares them: `Typing_Extensions` and `typing-extensions` are one."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _metadata_directory(distribution: importlib.metadata.Distribution) -> Path:
    path = getattr(distribution, "_path", None)  # PathDistribution: its *.dist-info folder
    if not isinstance(path, Path):
        raise RuntimeError(f"{distribution.metadata['Name']} has no metadata folder")
    return path


def installed_closure(names: Iterable[str], provided: Collection[str]) -> list[importlib.metadata.Distribution]:
    """The distributions `names` and everything they require (markers evaluated here), but those `provided`."""
    wanted, seen, found = list(names), set(map(normalised, provided)), []
    while wanted:
        name = normalised(wanted.pop())
        if name in seen:
            continue
        seen.add(name)
        distribution = importlib.metadata.distribution(name)
        found.append(distribution)
        for line in distribution.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                wanted.append(requirement.name)
    return found


def link_distributions(names: Iterable[str], target: Path, provided: Collection[str]) -> dict[str, int]:
    """Links the distributions `names` and what they require into `target`, as `pip install --target` lays them out.

    Their packages and their metadata, from this virtualenv (this machine's
    builds of native code). `provided` names distributions the function's
    package or the runtime has already. Returns each distribution's unzipped bytes.
    """
    target.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for distribution in installed_closure(names, provided):
        metadata = _metadata_directory(distribution)
        files = [Path(str(file)) for file in distribution.files or [] if not str(file).startswith("..")]
        for top in {file.parts[0] for file in files} - {metadata.name, "__pycache__"}:
            _link(metadata.parent / top, target)
        for bytecode in (file for file in files if file.parts[0] == "__pycache__"):  # of a one-module distribution
            (target / "__pycache__").mkdir(exist_ok=True)
            _link(metadata.parent / bytecode, target / "__pycache__")
        _link(metadata, target)
        sizes[distribution.metadata["Name"]] = sum(
            file.size or 0 for file in distribution.files or [] if not str(file).startswith("..")
        )
    return sizes


def foreign_native_packages(package: Path) -> list[str]:
    """Top-level packages whose compiled extensions are built for another CPU than this one.

    `sam build` fetches wheels for the template's architecture (arm64); here
    their extensions would not load and the pure-Python fallbacks would be timed.
    """
    machine = platform.machine()
    foreign = {
        extension.relative_to(package).parts[0]
        for extension in package.rglob("*.so")
        if machine not in extension.name and "-linux-gnu" in extension.name
    }
    return sorted(foreign)


def link_native_overlay(package: Path, target: Path) -> list[str]:
    """Links this machine's build of each foreign native package into `target`, to go first on the path."""
    target.mkdir(parents=True, exist_ok=True)
    names = foreign_native_packages(package)
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{name} is not installed for {platform.machine()}; run `make venv`")
        link = target / name
        if not link.exists():
            link.symlink_to(Path(spec.origin).parent)
    return names


def environment(
    function: Function, runtime_dir: Path, task_root: Path | None, region: str, overlay: Path | None = None
) -> dict[str, str]:
    """The variables Lambda sets, then the function's own from the template.

    With `task_root=None` only the runtime is on the path: the floor's process.
    `overlay` (see `link_native_overlay`) goes before the task root.
    """
    path = [str(runtime_dir)] if task_root is None else [str(task_root), str(runtime_dir)]
    if overlay is not None and task_root is not None:
        path.insert(0, str(overlay))
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PYTHONPATH": os.pathsep.join(path),
        "PYTHONDONTWRITEBYTECODE": "1",
        "LAMBDA_TASK_ROOT": str(task_root or runtime_dir),
        "LAMBDA_RUNTIME_DIR": str(runtime_dir),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": function.logical_id,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        **LOCAL_CREDENTIALS,
        "AWS_SESSION_TOKEN": "local",
        "_X_AMZN_TRACE_ID": TRACE_HEADER,
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        **function.environment,
    }
