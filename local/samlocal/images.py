"""The images `make sam-local` runs, and how each is provisioned when the engine lacks it.

- Lambda base: `public.ecr.aws/lambda/python:<version>-<arch>` when the engine
  has it or can pull it; otherwise a stand-in built here with no registry:
  Debian (debootstrap, minbase, python3) plus `awslambdaric` from PyPI and a
  /var/runtime/bootstrap, which is what SAM's Runtime Interface Emulator
  starts. SAM adds the emulator itself (samcli/local/rapid/).
- Functions: that base plus the functions' dependencies (src/requirements.txt,
  hashed) in /opt/python, where Lambda's Python runtime looks for layers; the
  code itself is mounted from src/ by SAM, so edits show without a rebuild.
- DynamoDB: `amazon/dynamodb-local` when present or pullable, otherwise
  moto's server built here (local/images/dynamodb-moto/requirements.txt).

Every image is built for the host's own architecture (see `ARCHITECTURE`).
Stand-in tags carry a hash of what they are built from, so a changed lock or
Dockerfile builds a new image and an unchanged one is reused. Provisioning is
the only step that downloads (Debian, PyPI, a registry pull); `resolve` never
does.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors

from localapi.template import PROJECT_ROOT, SamTemplate

IMAGES_DIR = PROJECT_ROOT / "local" / "images"
WORK_DIR = PROJECT_ROOT / ".aws-sam" / "samlocal"
LABEL = "greeter.local"
"""Every image, container and network this package creates carries this label."""

ARCHITECTURE = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine().lower()]
"""Lambda's name for the host's architecture: local runs use it (arm64 under qemu cold-starts past the timeout)."""

DEBIAN_SUITE = "trixie"  # Debian 13: python3 is 3.13, the functions' runtime
DEBIAN_MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
DYNAMODB_LOCAL_IMAGE = "amazon/dynamodb-local:2.6.1"
DYNAMODB_LOCAL_COMMAND = ["-jar", "DynamoDBLocal.jar", "-inMemory", "-sharedDb"]
DYNAMODB_PORT = 8000  # both DynamoDB Local and the moto stand-in listen here
PULL_TIMEOUT_SECONDS = 120  # per read while pulling; an unreachable registry fails at once


class ProvisioningError(RuntimeError):
    """An image is missing (and `resolve` may not build it) or could not be built; the message says what to do."""


class EngineUnavailableError(RuntimeError):
    """No Docker engine answers; the message says where it looked."""


@dataclass(frozen=True)
class Images:
    functions: str  # what `sam local --invoke-image` gets
    lambda_base: str  # real or stand-in; the functions image is built on it
    dynamodb: str
    dynamodb_command: list[str] | None  # None: the image's own entrypoint

    @property
    def summary(self) -> str:
        return f"functions {self.functions} (on {self.lambda_base}), DynamoDB {self.dynamodb}"


def engine() -> Any:
    """A client of the engine DOCKER_HOST (or the default socket) names, once it has answered a ping."""
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.from_env(timeout=PULL_TIMEOUT_SECONDS)
        client.ping()
    except docker.errors.DockerException as error:
        raise EngineUnavailableError(f"no Docker engine answers at {where} ({error})") from error
    return client


def python_version(template: SamTemplate | None = None) -> str:
    """The version ("3.13") of `Runtime: python3.13` in the template's Globals: one place names the runtime."""
    runtime = str((template or SamTemplate()).document["Globals"]["Function"]["Runtime"])
    return runtime.removeprefix("python")


def digest(*parts: str | Path) -> str:
    """12 hex digits of a hash of strings and files' contents: what a stand-in's tag carries."""
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part.read_bytes() if isinstance(part, Path) else part.encode())
        hasher.update(b"\0")
    return hasher.hexdigest()[:12]


def _present(client: Any, name: str) -> bool:
    try:
        client.images.get(name)
    except docker.errors.ImageNotFound:
        return False
    return True


def _pulled(client: Any, name: str, log: Callable[[str], None]) -> bool:
    """One pull attempt; False (with the reason logged) when no registry answers."""
    repository, _, tag = name.rpartition(":")
    try:
        for _ in client.api.pull(repository, tag=tag, stream=True, decode=True):
            pass
        client.images.get(name)
    except docker.errors.DockerException as error:
        reason = error.explanation if isinstance(error, docker.errors.APIError) else error
        log(f"cannot pull {name}: {reason}")
        return False
    log(f"pulled {name}")
    return True


def build(
    client: Any, context: Path, tag: str, buildargs: dict[str, str] | None = None, platform: str | None = None
) -> None:
    """`docker build` of a prepared context directory, failing with the builder's own error."""
    stream = client.api.build(
        path=str(context),
        tag=tag,
        buildargs=buildargs or {},
        labels={LABEL: "1"},
        rm=True,
        forcerm=True,
        pull=False,
        decode=True,
        platform=platform,
    )
    for chunk in stream:
        if "error" in chunk:
            raise ProvisioningError(f"building {tag} failed: {chunk['error'].strip()}")


@contextmanager
def build_context(name: str) -> Iterator[Path]:
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    context = Path(tempfile.mkdtemp(prefix=f"build-{name}-", dir=WORK_DIR))
    try:
        yield context
    finally:
        shutil.rmtree(context, ignore_errors=True)


def _pip_install(requirements: Path, target: Path) -> None:
    """Hashed wheels for this Python (the runtime's version, this host's architecture) into `target`."""
    subprocess.run(
        [
            *(
                sys.executable,
                "-m",
                "pip",
                "install",
                "-qq",  # as the Makefile: no notices, errors still show
                "--require-hashes",
                "--no-deps",
                "--only-binary=:all:",
            ),
            *("--target", str(target), "-r", str(requirements)),
        ],
        check=True,
    )


class Provisioner:
    """Decides each image (real, stand-in, built or not) for one engine; `build=False` never downloads."""

    def __init__(self, client: Any, build: bool, log: Callable[[str], None] = print) -> None:
        self.client = client
        self.build = build
        self.log = log
        self.version = python_version()
        if build and sys.version_info[:2] != tuple(map(int, self.version.split("."))):
            raise ProvisioningError(f"provisioning needs Python {self.version} (this is {sys.version.split()[0]})")

    def images(self) -> Images:
        lambda_base = self.lambda_base()
        dynamodb = self.dynamodb()
        return Images(
            functions=self.functions(lambda_base),
            lambda_base=lambda_base,
            dynamodb=dynamodb,
            dynamodb_command=DYNAMODB_LOCAL_COMMAND if dynamodb == DYNAMODB_LOCAL_IMAGE else None,
        )

    def _missing(self, what: str) -> ProvisioningError:
        return ProvisioningError(f"{what} is not on the Docker engine; `make sam-local-images` provisions it")

    def _real_or_stand_in(self, real: str, stand_in: str, build_stand_in: Callable[[], None]) -> str:
        if _present(self.client, real):
            return real
        if _present(self.client, stand_in):
            return stand_in
        if not self.build:
            raise self._missing(f"neither {real} nor its stand-in {stand_in}")
        if _pulled(self.client, real, self.log):
            return real
        self.log(f"building the stand-in {stand_in}")
        build_stand_in()
        return stand_in

    # ------------------------------------------------------------ Debian base of the stand-ins
    def debian(self) -> str:
        packages = "python3"
        tag = f"greeter-local/debian:{DEBIAN_SUITE}-{ARCHITECTURE}-{digest(DEBIAN_SUITE, packages)}"
        if _present(self.client, tag):
            return tag
        if not self.build:
            raise self._missing(tag)
        debootstrap, tar = shutil.which("debootstrap"), shutil.which("tar")
        if debootstrap is None or tar is None or os.geteuid() != 0:
            raise ProvisioningError(
                "building the stand-in images needs root and debootstrap (apt-get install debootstrap), "
                f"or the real images on the engine: {self.real_lambda_base()} and {DYNAMODB_LOCAL_IMAGE}"
            )
        self.log(f"building {tag} with debootstrap from {DEBIAN_MIRROR}")
        with build_context("debian") as context:
            rootfs = context / "rootfs"
            subprocess.run(
                [debootstrap, "--variant=minbase", f"--include={packages}", DEBIAN_SUITE, str(rootfs), DEBIAN_MIRROR],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            if not (rootfs / f"usr/bin/python{self.version}").exists():
                raise ProvisioningError(f"Debian {DEBIAN_SUITE} has no python{self.version}: change DEBIAN_SUITE")
            for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
                shutil.rmtree(rootfs / cache, ignore_errors=True)
            archive = context / "rootfs.tar"
            subprocess.run([tar, "--numeric-owner", "-C", str(rootfs), "-cf", str(archive), "."], check=True)
            repository, _, image_tag = tag.rpartition(":")
            self.client.api.import_image(
                src=str(archive), repository=repository, tag=image_tag, changes=[f"LABEL {LABEL}=1"]
            )
        return tag

    # ------------------------------------------------------------ Lambda base
    def real_lambda_base(self) -> str:
        return f"public.ecr.aws/lambda/python:{self.version}-{ARCHITECTURE}"

    def lambda_base(self) -> str:
        stand_in, build = self._stand_in("lambda-python", f"greeter-local/lambda-python:{self.version}-{ARCHITECTURE}-")
        return self._real_or_stand_in(self.real_lambda_base(), stand_in, build)

    def _stand_in(self, directory: str, tag_prefix: str) -> tuple[str, Callable[[], None]]:
        """The tag of the stand-in built from local/images/<directory>, and how to build it on the Debian base.

        Its files go into the build context and its hashed requirements.txt is
        installed into `packages/` there; the Dockerfile copies what it needs.
        """
        source = IMAGES_DIR / directory
        files = sorted(path for path in source.iterdir() if path.suffix != ".in")
        tag = tag_prefix + digest(self.version, *files)

        def build_stand_in() -> None:
            debian = self.debian()
            with build_context(directory) as context:
                for file in files:
                    shutil.copy2(file, context / file.name)
                _pip_install(source / "requirements.txt", context / "packages")
                build(self.client, context, tag, {"BASE": debian, "PYTHON": f"python{self.version}"})

        return tag, build_stand_in

    # ------------------------------------------------------------ functions: base + src/requirements.txt
    def functions(self, lambda_base: str) -> str:
        dockerfile = IMAGES_DIR / "functions" / "Dockerfile"
        requirements = PROJECT_ROOT / "src" / "requirements.txt"
        base_id = self.client.images.get(lambda_base).id
        # The hash is in the repository, not only the tag: SAM names the image it derives
        # `<repository>:rapid-<arch>` and reuses it while it exists.
        name = f"greeter-local/functions-{digest(base_id, dockerfile, requirements)}:{ARCHITECTURE}"
        if _present(self.client, name):
            return name
        if not self.build:
            raise self._missing(f"{name} (the functions' dependencies on {lambda_base})")
        self.log(f"building {name}: {requirements.relative_to(PROJECT_ROOT)} on {lambda_base}")
        with build_context("functions") as context:
            shutil.copy2(dockerfile, context / "Dockerfile")
            _pip_install(requirements, context / "python")
            build(self.client, context, name, {"BASE": lambda_base})
        return name

    # ------------------------------------------------------------ DynamoDB
    def dynamodb(self) -> str:
        stand_in, build = self._stand_in("dynamodb-moto", "greeter-local/dynamodb-moto:")
        return self._real_or_stand_in(DYNAMODB_LOCAL_IMAGE, stand_in, build)


def resolve(client: Any) -> Images:
    """The images to run, all already on the engine; ProvisioningError names the first one missing."""
    return Provisioner(client, build=False).images()


def provision(client: Any, log: Callable[[str], None] = print) -> Images:
    """Every image, built or pulled when missing (the only step that downloads)."""
    return Provisioner(client, build=True, log=log).images()
