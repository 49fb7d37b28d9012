"""Sharded daily counters (check-in and activity stats): the commutative ADD that counts
into a member's shard of a day, and the read that sums a day range over every shard."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamo import parallel_query_all, update_args

Item = dict[str, Any]


def add_item(table_name: str, key: Item, entity: str, counts: dict[str, int]) -> Item:
    """A commutative ADD of the non-zero ``counts`` on one counter shard (``key``)."""
    args = update_args(add={k: v for k, v in counts.items() if v}, set_={"entity": entity})
    return {"Update": {"TableName": table_name, "Key": key, **args}}


def summed_stats(table: Any, partitions: list[str], first: str, last: str
                 ) -> dict[str, dict[str, int]]:
    """Counter items of several shards between two days, summed per day (attribute by
    attribute; keys and ``entity`` left out)."""
    from boto3.dynamodb.conditions import Key

    items = parallel_query_all(table, [
        {"KeyConditionExpression": Key("PK").eq(p) & Key("SK").between(first, last)}
        for p in partitions])
    out: dict[str, dict[str, int]] = {}
    for item in items:
        day = out.setdefault(str(item["SK"]), {})
        for k, v in item.items():
            if k not in ("PK", "SK", "entity") and isinstance(v, int):
                day[k] = day.get(k, 0) + v
    return out
