"""CorsAllowedOrigins through the real `sam local start-api` (`make sam-local PARAMETER_OVERRIDES=...`).

SAM CLI emulates an HTTP API's CORS from the CorsConfiguration that `make
sam-local` writes resolved. Where its answer is not API Gateway's (and so not
`make run`'s), the test says so by name; docs/local-development.md lists the same differences.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from samlocal.images import Images
from tests.support.sam_local import SamLocalProcess

TIMEOUT = 120  # a bound for a hung request only; the first one to a function is a cold start
APP = "https://app.example.com"
PREFLIGHT = {"Origin": APP, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type"}


@pytest.fixture(scope="module")
def sam_local_with_cors(docker_engine: tuple[Any, Images]) -> Iterator[SamLocalProcess]:
    command = ["make", "-s", "sam-local", "HOST=127.0.0.1", "PORT=0", f"PARAMETER_OVERRIDES=CorsAllowedOrigins={APP}"]
    process = SamLocalProcess(command)
    yield process
    process.terminate()


def cors_headers(response: requests.Response) -> dict[str, str]:
    return {
        name.lower(): value for name, value in response.headers.items() if name.lower().startswith("access-control-")
    }


def test_sam_answers_a_preflight_from_an_allowed_origin_with_200_and_lists_options_where_api_gateway_answers_204(
    sam_local_with_cors: SamLocalProcess,
) -> None:
    response = requests.options(f"{sam_local_with_cors.url}/hello/alice", headers=PREFLIGHT, timeout=TIMEOUT)
    assert response.status_code == 200
    assert cors_headers(response) == {
        "access-control-allow-origin": APP,
        "access-control-allow-methods": "GET,OPTIONS,PUT",  # SAM adds OPTIONS; the configuration says GET,PUT
        "access-control-allow-headers": "content-type",
        "access-control-max-age": "300",
    }


def test_sam_gives_a_preflight_from_another_origin_no_allow_origin(sam_local_with_cors: SamLocalProcess) -> None:
    headers = PREFLIGHT | {"Origin": "https://evil.example.com"}
    response = requests.options(f"{sam_local_with_cors.url}/hello/alice", headers=headers, timeout=TIMEOUT)
    assert cors_headers(response) == {}


def test_sam_answers_every_options_request_itself_where_api_gateway_answers_404_to_one_that_is_no_preflight(
    sam_local_with_cors: SamLocalProcess,
) -> None:
    response = requests.options(f"{sam_local_with_cors.url}/hello/alice", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.content == b""


def test_sam_adds_allow_origin_to_a_functions_answer_for_an_allowed_origin(
    sam_local_with_cors: SamLocalProcess,
) -> None:
    response = requests.get(f"{sam_local_with_cors.url}/hello/Nobody", headers={"Origin": APP}, timeout=TIMEOUT)
    assert response.status_code == 404, response.text
    assert response.headers["access-control-allow-origin"] == APP


def test_without_cors_sam_runs_the_options_function_which_answers_405(sam_local: SamLocalProcess) -> None:
    response = requests.options(f"{sam_local.url}/hello/alice", headers=PREFLIGHT, timeout=TIMEOUT)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == "GET, PUT"
    assert cors_headers(response) == {}
