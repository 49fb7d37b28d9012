"""moto's in-process DynamoDB answers requests from many threads without a lock: two
concurrent TransactWriteItems can both pass their conditions and both apply, and a query can
read a dict another thread is changing ("dictionary changed size during iteration"). Real
DynamoDB applies each request atomically, so concurrency tests on moto would test moto's races,
not our conditions. ``install`` serialises moto's DynamoDB requests (one at a time, as DynamoDB
applies a transaction); conditions still race *between* requests exactly as they do on AWS, and
the same tests run on DynamoDB Local unchanged."""

from __future__ import annotations

import inspect
import threading
from decimal import Decimal
from typing import Any

_LOCK = threading.RLock()


def install() -> None:
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action
    if getattr(original, "perks_atomic", False):
        return

    def call_action(self: Any) -> Any:
        with _LOCK:
            return original(self)

    call_action.perks_atomic = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


def _scalar(v: Any) -> Any:
    """A key attribute's value as DynamoDB orders it: numbers by value, strings by code point
    (the same order as their UTF-8 bytes), binary by its bytes."""
    if v.type == "N":
        return Decimal(v.value)
    return v.value


def _sort_key(item: Any) -> Any:
    if item.range_key is None:
        return (_scalar(item.hash_key),)
    return (_scalar(item.hash_key), _scalar(item.range_key))


def install_fast_queries() -> None:
    """moto answers every Query by sorting the whole table with ``DynamoType`` comparisons
    (a Decimal cast per comparison), so a test's requests slow down as its table grows:
    3 of every 4 seconds of a 240-member results test went to sorting. Order the same items
    the same way with plain Python keys, and let a base-table Query look only at its own
    partition. Results are unchanged; only the cost is (requests are already serialised by
    ``install``, so swapping ``all_items`` for the length of one Query is safe)."""
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "perks_fast", False):
        return
    original = Table.query
    signature = inspect.signature(original)

    def all_items(self: Any) -> list[Any]:
        items: list[Any] = []
        for hash_set in self.items.values():
            if self.range_key_attr:
                items.extend(hash_set.values())
            else:
                items.append(hash_set)
        return sorted(items, key=_sort_key)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        hash_key, index_name = bound.arguments["hash_key"], bound.arguments.get("index_name")
        if index_name or hash_key is None or not self.range_key_attr:
            return original(self, *args, **kwargs)
        partition = list(self.items.get(hash_key, {}).values())
        self.all_items = lambda: sorted(partition, key=_sort_key)
        try:
            return original(self, *args, **kwargs)
        finally:
            del self.all_items

    query.perks_fast = True  # type: ignore[attr-defined]
    Table.all_items = all_items  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]
