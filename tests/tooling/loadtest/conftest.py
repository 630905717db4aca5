"""What several load-test modules share: a token issuer and a local API its tokens guard."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.issuer import AUDIENCE, TestIssuer, running_issuer
from tests.support.local_api import LocalApiProcess


@pytest.fixture(scope="session")
def issuer() -> Iterator[TestIssuer]:
    with running_issuer() as running:
        yield running


@pytest.fixture(scope="session")
def guarded_api(issuer: TestIssuer) -> Iterator[LocalApiProcess]:
    """The local API with the JWT authorizer on, on PUT and GET (JwtProtectGet), checking the issuer's tokens."""
    overrides = f"JwtIssuer={issuer.url} JwtAudience={AUDIENCE} JwtProtectGet=true"
    process = LocalApiProcess(args=("--parameter-overrides", overrides, "--concurrency", "4", "--no-reload"))
    yield process
    process.stop()
