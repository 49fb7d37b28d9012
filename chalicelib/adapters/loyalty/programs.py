"""The loyalty program's published versions and reward redemption counters."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.dynamo import (
    NamedItems,
    TableRepository,
    TransactionCancelled,
    doc_text,
    doc_value,
    plain,
    storable,
    translated,
    write_named,
)
from chalicelib.adapters.loyalty.items import reward_shards, reward_share
from chalicelib.errors import Conflict


class ProgramRepository(TableRepository):
    """PROGRAM/CURRENT holds the live version; PROGRAM/V#<n> every version ever published."""


    def current(self) -> dict[str, Any] | None:
        with translated():
            item = self.table.get_item(Key=keys.program_current()).get("Item")
        return _decoded(item)

    def version(self, version: int) -> dict[str, Any] | None:
        with translated():
            item = self.table.get_item(Key=keys.program_version(version)).get("Item")
        return _decoded(item)

    def versions(self, limit: int = 100) -> list[dict[str, Any]]:
        from boto3.dynamodb.conditions import Key

        with translated():
            page = self.table.query(
                KeyConditionExpression=Key("PK").eq(keys.PROGRAM)
                & Key("SK").begins_with(keys.PROGRAM_VERSION),
                ScanIndexForward=False, Limit=limit,
                ProjectionExpression="#v, published_at, published_by",
                ExpressionAttributeNames={"#v": "version"})
        return [plain(i) for i in page.get("Items", [])]

    def publish(self, record: dict[str, Any], audit: dict[str, Any]) -> None:
        """Write version n and move CURRENT from n-1 to n, atomically (409 if raced)."""
        version = int(record["version"])
        name = self.table.name
        record = {**record, "program": doc_text(record["program"])}
        if version == 1:
            current_cond: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(PK)"}
        else:
            current_cond = {"ConditionExpression": "#v = :prev",
                            "ExpressionAttributeNames": {"#v": "version"},
                            "ExpressionAttributeValues": {":prev": version - 1}}
        named: NamedItems = [
            ("version", {"Put": {"TableName": name, "Item": storable({
                **keys.program_version(version), "entity": "program", **record}),
                "ConditionExpression": "attribute_not_exists(PK)"}}),
            ("current", {"Put": {"TableName": name, "Item": storable({
                **keys.program_current(), "entity": "program", **record}), **current_cond}}),
            ("audit", {"Put": {"TableName": name, "Item": storable(audit),
                               "ConditionExpression": "attribute_not_exists(PK)"}}),
        ]
        try:
            write_named(self.table.meta.client, named)
        except TransactionCancelled as e:
            raise Conflict("another program version was published concurrently; "
                           "read it and retry") from e

    def redeemed(self, reward_ids: list[str]) -> dict[str, int]:
        """Redemptions so far per reward: every counter shard plus the legacy counter
        (BatchGetItem, 100 keys per request)."""
        return {r: sum(c.values()) for r, c in self.reward_counts(reward_ids).items()}

    def reward_counts(self, reward_ids: list[str], consistent: bool = False
                      ) -> dict[str, dict[int, int]]:
        """Redemptions per reward and counter shard (-1: the legacy unsharded counter)."""
        out: dict[str, dict[int, int]] = {r: {} for r in reward_ids}
        name = self.table.name
        wanted = [k for r in reward_ids for k in (
            keys.reward_stock(r),
            *(keys.reward_stock_shard(r, s) for s in range(keys.REWARD_SHARDS)))]
        for start in range(0, len(wanted), 100):
            request: dict[str, Any] = {name: {"Keys": wanted[start:start + 100],
                                              "ConsistentRead": consistent}}
            while request:
                with translated():
                    resp = self.table.meta.client.batch_get_item(RequestItems=request)
                for item in resp.get("Responses", {}).get(name, []):
                    sk = str(item["SK"])
                    shard = int(sk.rsplit("#", 1)[1]) if "#" in sk else -1
                    out[item["PK"].removeprefix("REWARD#")][shard] = int(item.get("redeemed", 0))
                request = resp.get("UnprocessedKeys") or {}
        return out

    def reward_room(self, reward_id: str, stock: int | None) -> list[int]:
        """Counter shards of a stocked reward still under their share, the emptiest first
        (strongly consistent); none for an unlimited reward."""
        if stock is None:
            return []
        counts = self.reward_counts([reward_id], consistent=True)[reward_id]
        left = [(reward_share(stock, k) - counts.get(k, 0), k) for k in reward_shards()]
        return [k for n, k in sorted(left, key=lambda x: (-x[0], x[1])) if n > 0]


def _decoded(item: dict[str, Any] | None) -> dict[str, Any] | None:
    """A version item with its program document as JSON data (stored as text)."""
    if not item:
        return None
    out = plain(item)
    out["program"] = doc_value(out["program"])
    return out
