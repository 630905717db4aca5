"""The load-test image (loadtest/Dockerfile), for the fleet and for its local test.

Its context is prepared here: the packages of loadtest/requirements.txt, installed with their
hashes checked for the target's CPU architecture (pip's --platform: no emulation needed), the
Python files the container runs, and an empty /scratch owned by the container's user. Two bases:

- locally, the project's debootstrap stand-in (`make sam-local-images`): no registry;
- for the fleet, Docker Hub's python image through ECR Public (or `--base`), pulled once.

Wheels are downloaded only by `fetch_wheels` (`make loadtest-image`, and `make loadtest-fleet`
for the fleet's architecture), into .aws-sam/loadtest/; `build` installs from there with
--no-index, so a test that builds never downloads. The tag is a hash of everything the image is
made of, so an unchanged image is reused and a changed source builds a new one.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker.errors

from samlocal.images import (
    ARCHITECTURE,
    EngineUnavailableError,
    Provisioner,
    ProvisioningError,
    build,
    build_context,
    digest,
    engine,
)

LOADTEST = Path(__file__).resolve().parent
PROJECT_ROOT = LOADTEST.parent
DOCKERFILE = LOADTEST / "Dockerfile"
REQUIREMENTS = LOADTEST / "requirements.txt"
WHEELS = PROJECT_ROOT / ".aws-sam" / "loadtest"
LOCAL_REPOSITORY = "greeter-local/loadtest"
FLEET_BASE = "public.ecr.aws/docker/library/python:3.13-slim-trixie"
"""Debian trixie and python3.13, like the stand-in; a tag, not a digest (docs/load-testing.md)."""
PYTHON_VERSION = "3.13"
CONTAINER_USER = 65534  # nobody, as the Dockerfile's USER
LAUNCHER_ONLY = ("image.py", "fleet.py")
"""Modules of the load tester's machine (docker, CloudFormation, ECS): never in the image."""


@dataclass(frozen=True)
class Architecture:
    """One CPU architecture, named as each tool names it."""

    fargate: str  # the task definition's RuntimePlatform.CpuArchitecture
    docker: str  # docker build --platform
    wheel: str  # the machine part of a manylinux wheel tag

    @property
    def pip_platforms(self) -> list[str]:
        """Every manylinux tag Debian trixie (glibc 2.41) runs, from 2014's (glibc 2.17): pip takes each as given."""
        return [f"manylinux2014_{self.wheel}", *(f"manylinux_2_{minor}_{self.wheel}" for minor in range(17, 42))]


ARCHITECTURES = {
    "X86_64": Architecture("X86_64", "linux/amd64", "x86_64"),
    "ARM64": Architecture("ARM64", "linux/arm64", "aarch64"),
}
HOST = ARCHITECTURES["ARM64" if ARCHITECTURE == "arm64" else "X86_64"]


def image_sources() -> list[Path]:
    """The Python files the container runs: loadtest/ but the launcher's modules."""
    return sorted(path for path in LOADTEST.glob("*.py") if path.name not in LAUNCHER_ONLY)


def wheel_directory(architecture: Architecture) -> Path:
    return WHEELS / f"wheels-{architecture.wheel}"


def _pip(command: str, architecture: Architecture, *extra: str) -> None:
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", command, "-qq", "--require-hashes", "--no-deps", "--only-binary=:all:"),
            *(f"--platform={platform}" for platform in architecture.pip_platforms),
            *("--python-version", PYTHON_VERSION, "--implementation", "cp", "-r", str(REQUIREMENTS)),
            *extra,
        ],
        check=True,
    )


def fetch_wheels(architecture: Architecture) -> Path:
    """Downloads (or finds again) every wheel of the lock for `architecture`, hashes checked."""
    directory = wheel_directory(architecture)
    directory.mkdir(parents=True, exist_ok=True)
    _pip("download", architecture, "--dest", str(directory))
    return directory


def tag(base_id: str, architecture: Architecture) -> str:
    """What the image is made of, hashed: its base, its architecture, the Dockerfile, the lock, the sources."""
    return digest(base_id, architecture.fargate, DOCKERFILE, REQUIREMENTS, *image_sources())


def build_image(client: Any, base: str, repository: str, architecture: Architecture, *, fetch: bool = False) -> str:
    """`repository:<hash>` on the engine, built from the downloaded wheels when it is not there yet.

    With `fetch`, the wheels are downloaded first if need be (`make loadtest-image`, the fleet's
    launcher); without, a missing wheel is a ProvisioningError (a test never downloads).
    """
    name = f"{repository}:{tag(client.images.get(base).id, architecture)}"
    try:
        client.images.get(name)
    except docker.errors.ImageNotFound:
        pass
    else:
        return name
    wheels = fetch_wheels(architecture) if fetch else wheel_directory(architecture)
    if not wheels.is_dir():
        raise ProvisioningError(f"no wheels for {architecture.fargate} in {wheels}; `make loadtest-image` fetches them")
    with build_context("loadtest") as context:
        shutil.copy2(DOCKERFILE, context / "Dockerfile")
        (context / "loadtest").mkdir()
        for source in image_sources():
            shutil.copy2(source, context / "loadtest" / source.name)
        (context / "scratch").mkdir()
        try:
            _pip(
                "install",
                architecture,
                "--no-index",
                "--find-links",
                str(wheels),
                "--target",
                str(context / "packages"),
            )
        except subprocess.CalledProcessError as error:
            raise ProvisioningError(
                f"the wheels in {wheels} do not match {REQUIREMENTS.name}; `make loadtest-image` fetches them"
            ) from error
        build(client, context, name, {"BASE": base}, platform=architecture.docker)
    return name


def local_image(client: Any, *, fetch: bool = False) -> str:
    """The image on the project's debootstrap stand-in (provisioned by `make sam-local-images`), for this host."""
    return build_image(client, Provisioner(client, build=False).debian(), LOCAL_REPOSITORY, HOST, fetch=fetch)


def main() -> int:
    """`make loadtest-image`: the local image, its wheels downloaded if need be."""
    try:
        print(f"load-test image: {local_image(engine(), fetch=True)}")
    except (EngineUnavailableError, ProvisioningError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
