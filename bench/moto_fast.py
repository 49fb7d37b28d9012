"""Make moto's in-process TransactWriteItems cost O(items) instead of O(table).

moto 5 deep-copies the whole table once per transaction item to be able to roll back, which
makes a transaction on a table of 100,000 items take seconds. This patch keeps moto's own
logic and semantics but replaces the table copy with an undo log of the items the
transaction names: on failure those items are put back exactly as they were. Not thread-safe
(neither are moto's in-process transactions); use it around single-threaded runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def fast_transactions() -> Iterator[None]:
    import moto.dynamodb.models as mm
    from moto.dynamodb.models.dynamo_type import DynamoType

    original = mm.DynamoDBBackend.transact_write_items
    real_copy = mm.copy

    class NoTableCopy:
        def __getattr__(self, name: str) -> Any:
            return getattr(real_copy, name)

        @staticmethod
        def deepcopy(x: Any, memo: Any = None) -> Any:
            return x if isinstance(x, mm.Table) else real_copy.deepcopy(x, memo)

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = []
        for entry in transact_items:
            body = next(iter(entry.values()))
            table = self.tables.get(body.get("TableName"))
            raw = body.get("Key") or body.get("Item")
            if table is None or not raw:
                continue
            h = DynamoType(raw[table.hash_key_attr])
            r = DynamoType(raw[table.range_key_attr]) if table.range_key_attr else None
            bucket = table.items.get(h)
            current = None if bucket is None else (bucket.get(r) if r is not None else bucket)
            saved.append((table, h, r, None if current is None else real_copy.deepcopy(current)))
        mm.copy = NoTableCopy()  # type: ignore[assignment]
        try:
            return original(self, transact_items)  # type: ignore[no-any-return]
        except Exception:
            for table, h, r, old in reversed(saved):
                if r is None:
                    if old is None:
                        table.items.pop(h, None)
                    else:
                        table.items[h] = old
                elif old is None:
                    table.items.get(h, {}).pop(r, None)
                else:
                    table.items[h][r] = old
            raise
        finally:
            mm.copy = real_copy

    mm.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    try:
        yield
    finally:
        mm.DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]
