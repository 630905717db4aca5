"""The local API under a few thousand random requests: no 5xx, and a JSON message on every error.

Random methods, names (valid, too long, digits, punctuation, percent-encoded
Unicode and control characters, broken escapes), paths, content types and
bodies (valid, future, junk bytes, invalid UTF-8, oversized, deeply nested).
The requests are drawn from a fixed seed, so a failure replays exactly; they
are sent over raw HTTP (http.client, no client-side re-quoting) by a few
threads, and the counts by status are printed.
"""

from __future__ import annotations

import http.client
import json
import random
import string
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote, urlsplit

import pytest

from greeter.domain import time_zone_names
from tests.support.local_api import LocalApiProcess

pytestmark = pytest.mark.soak

SEED = 20240229
REQUESTS = 3000
THREADS = 6
TIMEOUT = 15
ZONES = sorted(time_zone_names())

METHODS = ["GET"] * 30 + ["PUT"] * 40 + ["POST", "DELETE", "PATCH", "HEAD", "OPTIONS"] * 6
CONTENT_TYPES = [
    None,
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "application/problem+json",
    "application/vnd.api+json; charset=utf-8",
    "application/json;;",
    "text/plain",
    "text/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "application/octet-stream",
    "image/png",
    "",
    "nonsense",
]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None


def _one_of[T](rng: random.Random, makers: list[tuple[int, Callable[[], T]]]) -> T:
    """Calls one of the weighted makers."""
    weights, choices = zip(*makers, strict=True)
    return rng.choices(choices, weights)[0]()


def random_name(rng: random.Random) -> str:
    letters = string.ascii_letters

    def with_one_of(extra: Sequence[str]) -> str:
        name = rng.choices(letters, k=rng.randint(1, 10))
        name.insert(rng.randrange(len(name) + 1), rng.choice(extra))
        return "".join(name)

    return _one_of(
        rng,
        [
            (5, lambda: "".join(rng.choices(letters, k=rng.randint(1, 64)))),
            (1, lambda: "".join(rng.choices(letters, k=rng.randint(65, 90)))),
            (1, lambda: with_one_of("0123456789-_.'~!$&()*+,;=:@")),
            (1, lambda: quote(with_one_of("\u00e9\u0430\ufb01\u00aa\u216b\u00df\u0130\U0001f600\uff46"))),
            (1, lambda: with_one_of(["%00", "%0A", "%0D", "%09", "%7F", "%20", "%2F", "%5C"])),
            (1, lambda: rng.choice(["%", "%zz", "%G1", "%%", "..", "%2e%2e", "+", "~", "a%2", "%41%42"])),
            (1, lambda: "".join(rng.choices(letters + string.digits + "-._~", k=rng.randint(1, 20)))),
            (1, lambda: ""),
        ],
    )


def random_path(rng: random.Random) -> str:
    name = random_name(rng)
    if rng.random() < 0.85:
        return f"/hello/{name}"
    others = ["/", "/hello", "/hello/", "/hello//", "/other", "/hello/%2e%2e/x", "/favicon.ico"]
    return rng.choice([*others, f"/hello/{name}/", f"/hello/{name}/x", f"/HELLO/{name}", f"/hello/{name}?x=1"])


def random_json(rng: random.Random, depth: int = 0) -> object:
    scalars: list[tuple[int, Callable[[], object]]] = [
        (1, lambda: None),
        (1, lambda: rng.random() < 0.5),
        (1, lambda: rng.randint(-(10**20), 10**20)),
        (1, lambda: rng.random() * 1e6),
        (1, lambda: "".join(rng.choices(string.printable + "\u00e9\u00df\U0001f600", k=rng.randint(0, 12)))),
    ]
    containers: list[tuple[int, Callable[[], object]]] = [
        (1, lambda: [random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]),
        (2, lambda: {random_name(rng)[:10]: random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))}),
    ]
    return _one_of(rng, scalars + (containers if depth < 3 else []))


def random_body(rng: random.Random) -> bytes | None:
    today = datetime.now(UTC).date()

    def dated(day: date) -> bytes:
        return json.dumps({"dateOfBirth": day.isoformat()}).encode()

    def zoned(day: date) -> bytes:
        """A zone the service knows, one it must refuse, or junk; the date near any zone's today."""
        zone = _one_of(
            rng,
            [
                (3, lambda: rng.choice(ZONES)),
                (1, lambda: rng.choice(ZONES).lower()),
                (1, lambda: rng.choice(["Mars/Olympus", "../etc/passwd", "UTC\n", "+02:00", "", " UTC"])),
                (1, lambda: random_json(rng)),
            ],
        )
        return json.dumps({"dateOfBirth": day.isoformat(), "timeZone": zone}).encode()

    def deep() -> bytes:
        depth = rng.randint(100, 2000)
        return b'{"dateOfBirth": "1990-05-10", "deep": ' + b"[" * depth + b"]" * depth + b"}"

    return _one_of(
        rng,
        [
            (3, lambda: dated(today - timedelta(days=rng.randint(1, 40000)))),
            (1, lambda: dated(today + timedelta(days=rng.randint(0, 400)))),
            (2, lambda: zoned(today + timedelta(days=rng.randint(-3, 1)))),
            (1, lambda: zoned(today - timedelta(days=rng.randint(2, 40000)))),
            (
                1,
                lambda: json.dumps(
                    {rng.choice(["dateOfBirth", "dateofbirth", "DateOfBirth"]): random_json(rng)}
                ).encode(),
            ),
            (1, lambda: json.dumps(random_json(rng)).encode()),
            (1, lambda: rng.randbytes(rng.randint(0, 200))),
            (1, lambda: b'{"dateOfBirth": "1990-05-10", "pad": "' + b"x" * rng.randint(3900, 6000) + b'"}'),
            (1, deep),
            (1, lambda: b'{"dateOfBirth": "\xff\xfe1990-05-10"}'),
            (1, lambda: rng.choice([None, b""])),
        ],
    )


def random_request(rng: random.Random) -> Request:
    method = rng.choice(METHODS)
    headers: dict[str, str] = {}
    content_type = rng.choice(CONTENT_TYPES)
    if content_type is not None:
        headers["Content-Type"] = content_type
    body = random_body(rng) if method in {"PUT", "POST", "PATCH"} or rng.random() < 0.1 else None
    return Request(method, random_path(rng), headers, body)


class Client:
    """One keep-alive connection per thread; reconnects if the server closes it."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        if getattr(self._local, "connection", None) is None:
            self._local.connection = http.client.HTTPConnection(self._host, self._port, timeout=TIMEOUT)
        connection: http.client.HTTPConnection = self._local.connection
        return connection

    def send(self, request: Request) -> tuple[Request, int, str | None, bytes]:
        for attempt in range(2):
            connection = self._connection()
            try:
                connection.request(request.method, request.path, body=request.body, headers=request.headers)
                response = connection.getresponse()
                body = response.read()
            except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
                connection.close()
                self._local.connection = None
                if attempt:
                    raise
                continue
            return request, response.status, response.getheader("content-type"), body
        raise AssertionError("unreachable")


def problem(request: Request, status: int, content_type: str | None, body: bytes) -> str | None:
    where = f"{request.method} {request.path} [{request.headers.get('Content-Type')}] -> {status}"
    if status >= 500:
        return f"{where}: {body[:200]!r}"
    if status < 400 or request.method == "HEAD":
        return None
    if content_type != "application/json":
        return f"{where}: Content-Type {content_type!r}"
    try:
        message = json.loads(body)["message"]
    except (ValueError, KeyError, TypeError):
        return f"{where}: not a JSON message: {body[:200]!r}"
    return None if isinstance(message, str) and message else f"{where}: empty message"


def test_random_requests_get_no_5xx_and_json_errors(
    local_api: LocalApiProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(SEED)  # noqa: S311 - reproducible test data, not secrets
    batch = [random_request(rng) for _ in range(REQUESTS)]
    client = Client(local_api.url)
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(client.send, batch))

    counts = Counter(status for _, status, _, _ in results)
    with capsys.disabled():
        summary = ", ".join(f"{status}: {count}" for status, count in sorted(counts.items()))
        print(f"\n  soak: {len(results)} random requests (seed {SEED}) -> {summary}")
    problems = [found for found in (problem(*result) for result in results) if found]
    assert problems == []
    assert sum(counts.values()) == REQUESTS
    # The draw reaches every kind of answer the contract has without a store fault.
    assert {200, 204, 400, 404, 405, 413, 415} <= set(counts)
