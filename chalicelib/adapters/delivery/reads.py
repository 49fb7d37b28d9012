"""The reads delivery needs besides its own records: the birthday and other index
partitions, member-index pages for broadcasts, member profiles in batches, checkout
discounts, and devices. Every request is retried on its own when throttled; items come back
without keys or index attributes."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import aws, keys
from chalicelib.adapters.delivery.items import DeliveryItems
from chalicelib.adapters.dynamo import parallel_query_all, plain, translated, update_args
from chalicelib.adapters.retries import with_retries
from chalicelib.errors import Unavailable


def query_all(table: Any, **kw: Any) -> list[dict[str, Any]]:
    """Every page of a Query, each page retried on its own (throttling hits single requests,
    so a long result is not restarted from the first page)."""
    out: list[dict[str, Any]] = []
    while True:
        def page(kw: dict[str, Any] = kw) -> dict[str, Any]:
            with translated():
                return table.query(**kw)

        resp = with_retries(page)
        out.extend(plain(i) for i in resp.get("Items", []))
        if not resp.get("LastEvaluatedKey"):
            return out
        kw = {**kw, "ExclusiveStartKey": resp["LastEvaluatedKey"]}


Member = tuple[dict[str, Any] | None, dict[str, Any] | None]  # (profile, loyalty)


class DeliveryReads(DeliveryItems):
    def celebrants(self, month_day: str, tz: str | None) -> list[dict[str, Any]]:
        """Profiles in the birthday index partition, for one timezone (or all)."""
        from boto3.dynamodb.conditions import Key

        cond = Key("GSI1PK").eq(keys.birthday_partition(month_day))
        if tz is not None:
            cond = cond & Key("GSI1SK").begins_with(f"{tz}#")
        return [strip_keys(i) for i in query_all(self.table, IndexName=keys.GSI1,
                                             KeyConditionExpression=cond)]

    def inactive_members(self, last_order_date: str, tz: str | None = None) -> list[str]:
        """Members whose last order was on ``last_order_date`` (their local date), optionally
        one timezone's: every shard of the last-order index in parallel, plus the legacy
        unsharded key. The index holds keys only: the member id is in the item's PK."""
        from boto3.dynamodb.conditions import Key

        queries = []
        for partition in keys.last_order_partitions(last_order_date):
            cond = Key("GSI2PK").eq(partition)
            if tz is not None:
                cond = cond & Key("GSI2SK").begins_with(f"{tz}#")
            queries.append({"IndexName": keys.GSI2, "KeyConditionExpression": cond})
        found = parallel_query_all(self.table, queries, retry=with_retries)
        return list(dict.fromkeys(str(keys.member_of(i["PK"])) for i in found))

    def expiring_points(self, expiry_date: str) -> dict[str, int]:
        """Points still on lots expiring on ``expiry_date``, per member (every shard of the
        lot-expiry index in parallel, plus the legacy key)."""
        from boto3.dynamodb.conditions import Key

        queries = [{"IndexName": keys.GSI1, "KeyConditionExpression": Key("GSI1PK").eq(p)}
                   for p in keys.lot_expiry_partitions(expiry_date)]
        points: dict[str, int] = {}
        for item in parallel_query_all(self.table, queries, retry=with_retries):
            member = str(keys.member_of(item["PK"]))
            points[member] = points.get(member, 0) + int(item.get("remaining", 0))
        return points

    def audience_page(self, bucket: int, start_key: dict[str, Any] | None, limit: int = 1000
                      ) -> tuple[list[tuple[dict[str, Any], dict[str, Any] | None]],
                                 dict[str, Any] | None]:
        """One page of a member-index bucket: (profile, loyalty or None) of live members,
        with only the profile-level attributes the index projects (never a table Scan: a
        broadcast reads about one index item per member, not the members' history)."""
        from chalicelib.adapters.members.index import MemberIndex

        members, nxt = MemberIndex(self.table).members_page(bucket, start_key, limit)
        return [(strip_keys(p), strip_keys(lo) if lo else None) for p, lo in members], nxt

    def get_many(self, key_list: list[dict[str, str]]) -> list[dict[str, Any]]:
        """BatchGetItem with UnprocessedKeys retried; order is not preserved."""
        import random
        import time

        out: list[dict[str, Any]] = []
        resource = aws.dynamodb_resource()
        for i in range(0, len(key_list), 100):
            pending: dict[str, Any] = {self.name: {"Keys": key_list[i:i + 100]}}
            for attempt in range(10):
                def get(pending: dict[str, Any] = pending) -> dict[str, Any]:
                    with translated():
                        return resource.batch_get_item(
                            RequestItems=pending)

                resp = with_retries(get)
                out.extend(plain(x) for x in resp.get("Responses", {}).get(self.name, []))
                pending = resp.get("UnprocessedKeys") or {}
                if not pending:
                    break
                time.sleep(random.uniform(0, 0.02 * 2**attempt))
            if pending:
                raise Unavailable("could not read member profiles; retry")
        return out

    def audience_buckets(self, segment: int, segments: int) -> list[int]:
        """The member-index buckets of one of ``segments`` broadcast segments: contiguous,
        near-equal ranges that together cover every bucket once."""
        n = keys.MEMBER_BUCKETS
        return list(range(segment * n // segments, (segment + 1) * n // segments))

    def members(self, wanted: dict[str, bool]) -> dict[str, Member]:
        """member id → (profile, loyalty) for ``wanted`` (member → whether its loyalty item
        is needed too), by BatchGetItem; None where an item does not exist."""
        key_list = []
        for m, loyal in wanted.items():
            key_list.append(keys.member_profile(m))
            if loyal:
                key_list.append(keys.member_loyalty(m))
        found: dict[str, list[dict[str, Any] | None]] = {m: [None, None] for m in wanted}
        for item in self.get_many(key_list) if key_list else []:
            slot = 0 if item["SK"] == keys.PROFILE else 1
            found[str(keys.member_of(item["PK"]))][slot] = strip_keys(item)
        return {m: (v[0], v[1]) for m, v in found.items()}

    def profiles(self, member_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Member profiles by id (the sweeper needs the phone and erasure at send time)."""
        got = self.members(dict.fromkeys(member_ids, False))
        return {m: p for m, (p, _) in got.items() if p is not None}

    def order_discounts(self, order_id: str) -> dict[str, int]:
        """coupon id → its discount (items and shipping, in fen) in the order's checkout
        reservation; empty when the order had none."""
        def read() -> dict[str, Any] | None:
            with translated():
                got = self.table.get_item(Key=keys.reservation(order_id)).get("Item")
            return plain(got) if got else None

        res = with_retries(read) or {}
        return {str(c.get("coupon_id")): int(c.get("discount", 0))
                + int(c.get("shipping_discount", 0)) for c in res.get("coupons", [])}

    def devices(self, member_id: str) -> list[dict[str, Any]]:
        from boto3.dynamodb.conditions import Key

        return query_all(self.table, KeyConditionExpression=Key("PK").eq(
            keys.member_pk(member_id)) & Key("SK").begins_with(keys.DEVICE))

    def update_device(self, member_id: str, token: str, remove: tuple[str, ...] = (),
                      **fields: Any) -> None:
        with translated():
            self.table.update_item(Key=keys.member_device(member_id, token), **update_args(
                set_=fields, remove=list(remove), condition="attribute_exists(PK)"))


def strip_keys(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("PK", "SK", *keys.GSI_ATTRS)}
