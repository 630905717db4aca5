"""Trims what `sam build` produced to what Lambda needs, and precompiles it.

    python -m lambda_package .aws-sam/build/GetGreetingFunction [...]

Two things make a `sam build` Python package slower to start than it need be:

- A dependency may need what the runtime already ships, and the build then
  bundles its own copy, which shadows the runtime's: Powertools needs jmespath;
  `aws-xray-sdk` (the Tracer's extra, deployed until issue 20) needed botocore,
  urllib3, dateutil, jmespath and six, most of the package (and boto3 from the
  runtime then ran on another botocore).
- The build holds no bytecode. /var/task is read-only, so Python compiles every
  module of the package again at every cold start. Unchecked-hash `.pyc` files
  are used as they are, whatever the files' timestamps after unzipping.
"""

from __future__ import annotations

import argparse
import compileall
import csv
import py_compile
import shutil
import sys
from pathlib import Path

RUNTIME_DISTRIBUTIONS = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python_dateutil", "six"})
"""Distributions the Lambda Python runtime provides (normalised names, as in `*.dist-info`)."""


def distribution_name(dist_info: Path) -> str:
    """`python_dateutil-2.9.0.post0.dist-info` -> `python_dateutil`."""
    return dist_info.name.removesuffix(".dist-info").rsplit("-", 1)[0].lower().replace("-", "_").replace(".", "_")


def drop_runtime_distributions(package: Path) -> list[str]:
    """Deletes every file the runtime's distributions installed (their RECORD), then empty folders."""
    dropped = []
    for dist_info in sorted(package.glob("*.dist-info")):
        if distribution_name(dist_info) not in RUNTIME_DISTRIBUTIONS:
            continue
        with (dist_info / "RECORD").open(newline="") as record:
            for row in csv.reader(record):
                path = (package / row[0]).resolve()
                if path.is_relative_to(package.resolve()) and path.is_file():
                    path.unlink()
        shutil.rmtree(dist_info, ignore_errors=True)
        dropped.append(dist_info.name)
    for folder in sorted((p for p in package.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    return dropped


def compile_bytecode(package: Path) -> bool:
    """Writes `__pycache__/*.pyc` for every module, valid whatever the source's mtime."""
    return compileall.compile_dir(
        package, quiet=1, workers=0, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lambda_package", description=__doc__.split("\n\n")[0])
    parser.add_argument("packages", nargs="+", type=Path, help="function folders under .aws-sam/build")
    args = parser.parse_args(argv)
    for package in args.packages:
        dropped = drop_runtime_distributions(package)
        if not compile_bytecode(package):
            print(f"{package}: bytecode compilation failed", file=sys.stderr)
            return 1
        print(f"{package}: dropped {', '.join(dropped) or 'nothing'}; bytecode compiled")
    return 0


if __name__ == "__main__":
    sys.exit(main())
