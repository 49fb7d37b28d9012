"""Building blocks of delivery's writes: conditional puts and updates as TransactItems, the
stats counters that ride in most transactions, and one named TransactWriteItems.

Every transaction delivery runs names its items (``send_record``, ``stats``, ``daily``,
``cap:<period>``, ``coupon:<id>``, ``points:loyalty`` …) and reads a cancellation by those
names, never by position: adding an item cannot shift anyone's meaning."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.dynamo import (
    NamedItems,
    TableRepository,
    TransactionCancelled,
    storable,
    update_args,
    write_named,
)
from chalicelib.domain.delivery import results
from chalicelib.errors import Unavailable


def epoch(dt: datetime) -> int:
    return int(dt.timestamp())


def parse_iso(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


class DeliveryItems(TableRepository):
    @property
    def name(self) -> str:
        return str(self.table.name)

    def put_item(self, item: dict[str, Any], condition: str | None = "attribute_not_exists(PK)"
                 ) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self.name, "Item": storable(item)}
        if condition:
            put["ConditionExpression"] = condition
            put["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return {"Put": put}

    def update_item(self, key: dict[str, str], **kw: Any) -> dict[str, Any]:
        return {"Update": {"TableName": self.name, "Key": key, **update_args(**kw)}}

    def stats_item(self, campaign_id: str, occurrence: str, member_id: str,
                   counters: dict[str, int]) -> dict[str, Any]:
        return self.update_item(
            keys.campaign_stats(campaign_id, occurrence, member_id),
            set_={"campaign_id": campaign_id, "occurrence": occurrence},
            add={k: v for k, v in counters.items() if v})

    def day_items(self, campaign_id: str, member_id: str, counters: dict[str, int],
                  day: str | None, variant: str | None = None) -> NamedItems:
        """The daily results counters (and the list's recent-activity shard) that ride in the
        same transaction as the occurrence counters; none when ``day`` is not given."""
        adds = results.daily_adds(counters, variant) if day else {}
        if not adds:
            return []
        assert day is not None
        out = [("daily", self.update_item(
            keys.campaign_day(campaign_id, day, member_id),
            set_={"campaign_id": campaign_id, "day": day}, add=adds))]
        recent = results.recent_adds(counters, day)
        if recent:
            # Each write also drops the shard's day-counters older than the sparkline needs.
            out.append(("recent", self.update_item(
                keys.campaign_recent(campaign_id, member_id), add=recent,
                remove=tuple(results.recent_stale(day)))))
        return out

    def counter_items(self, campaign_id: str, occurrence: str, member_id: str,
                      counters: dict[str, int], day: str | None,
                      variant: str | None = None) -> NamedItems:
        """``stats`` (the occurrence counters) and the daily ones."""
        return [("stats", self.stats_item(campaign_id, occurrence, member_id, counters)),
                *self.day_items(campaign_id, member_id, counters, day, variant)]

    def transact(self, named: NamedItems) -> None:
        """One TransactWriteItems of named items (a fresh ClientRequestToken, so an SDK
        retry of this request cannot apply twice); a cancellation carries the names."""
        write_named(self.table.meta.client, named, uuid.uuid4().hex)

    def transact_unless(self, named: NamedItems, done: str, what: str) -> bool:
        """``transact``; False when the item called ``done`` failed its condition (the change
        was made already), Unavailable (retry) when anything else cancelled ``what``."""
        try:
            self.transact(named)
        except TransactionCancelled as e:
            if e.failed_item(done):
                return False
            raise Unavailable(f"{what} conflicted; retry") from e
        return True
