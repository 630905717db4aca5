"""What several load-test modules share: a token issuer and a local API its tokens guard."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.authorizer import guarded_local_api
from tests.support.issuer import TestIssuer, running_issuer
from tests.support.local_api import LocalApiProcess


@pytest.fixture(scope="session")
def issuer() -> Iterator[TestIssuer]:
    """One issuer for every load-test module (tests/conftest.py's is one per module)."""
    with running_issuer() as running:
        yield running


@pytest.fixture(scope="session")
def guarded_api(issuer: TestIssuer) -> Iterator[LocalApiProcess]:
    """The local API with the JWT authorizer on, on PUT and GET (JwtProtectGet), checking the issuer's tokens."""
    process = guarded_local_api(issuer, "JwtProtectGet=true", concurrency=4)
    yield process
    process.stop()
