"""The store's protocol in a dict, for tests about the rules and the functions rather than DynamoDB."""

from __future__ import annotations

from greeter.domain import Birthday


class MemoryStore:
    def __init__(self) -> None:
        self.items: dict[str, Birthday] = {}

    def get(self, key: str) -> Birthday | None:
        return self.items.get(key)

    def put(self, key: str, birthday: Birthday) -> None:
        self.items[key] = birthday
