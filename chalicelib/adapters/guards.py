"""Request guards: the create-only record of a keyed request's effect.

A request sent with an Idempotency-Key whose write commits but whose answer is lost is
retried by the client with the same key. Powertools forgets the key when the first attempt
failed, so the retry runs again; the guard, committed in the same transaction as the
effect, makes that second run find the first result instead of applying twice.
"""

from __future__ import annotations

import time
from typing import Any

from chalicelib.adapters import aws, keys
from chalicelib.adapters.dynamo import TransactionCancelled, plain, storable
from chalicelib.config import get_settings


def guard_put(request_key: str, result: dict[str, Any]) -> dict[str, Any]:
    """A TransactWriteItems Put of the guard (create-only, returns the old item on conflict)."""
    s = get_settings()
    item = {**keys.request_guard(request_key), "entity": "request", "result": result,
            keys.TTL_ATTR: int(time.time()) + s.idempotency_ttl_seconds}
    return {"Put": {"TableName": s.table_name, "Item": storable(item),
                    "ConditionExpression": "attribute_not_exists(PK)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}


def replayed(error: TransactionCancelled, request_key: str | None) -> dict[str, Any] | None:
    """The first result when ``error`` means this keyed request had already committed."""
    if not request_key or "ConditionalCheckFailed" not in error.reasons:
        return None
    guard = keys.request_guard(request_key)
    for reason, old in zip(error.reasons, error.items, strict=False):
        if reason == "ConditionalCheckFailed" and old and old.get("PK") == guard["PK"]:
            return dict(old.get("result") or {})
    stored = aws.table().get_item(Key=guard, ConsistentRead=True).get("Item")  # engines
    return dict(plain(stored).get("result") or {}) if stored else None  # that omit old items
