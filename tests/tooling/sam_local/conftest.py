"""The sam local tests share one engine check: skipped, with the reason, where no engine or image is ready."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from samlocal.images import Images
from tests.support.sam_local import SamLocalProcess, engine_and_images


@pytest.fixture(scope="session")
def docker_engine() -> tuple[Any, Images]:
    return engine_and_images()


@pytest.fixture(scope="module")
def sam_local(docker_engine: tuple[Any, Images]) -> Iterator[SamLocalProcess]:
    """`make sam-local` on a free port, for one test module."""
    process = SamLocalProcess(["make", "-s", "sam-local", "HOST=127.0.0.1", "PORT=0"])
    yield process
    process.terminate()
