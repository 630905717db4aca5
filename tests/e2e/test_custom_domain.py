"""The stack's custom domain, when it has one: the same API answers there as on its execute-api URL."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import IMPOSSIBLE_DATE, UNKNOWN_USER, Api, Target, Writer, expect_json_error


@pytest.fixture
def domain(target: Target) -> Api:
    if not target.custom_domain_url:
        pytest.skip("the stack has no custom domain (no CustomDomainUrl output)")
    return Api(target.custom_domain_url)


def test_the_custom_domain_serves_the_api(domain: Api, target: Target, writer: Writer) -> None:
    user = writer.unknown_user()
    answer = domain.send("GET", f"/hello/{user}", headers=writer.read_headers(user))
    expect_json_error(answer, 404, f"GET of an unknown user on {target.custom_domain_url}")
    answer = domain.send("DELETE", f"/hello/{UNKNOWN_USER}", {"dateOfBirth": IMPOSSIBLE_DATE})
    expect_json_error(answer, 405, f"DELETE on {target.custom_domain_url}")
