"""Delivery state in DynamoDB: send records and the transaction that decides a member's
outcome, stats counters, caps, limits, budgets, deferred work, broadcast markers and the
planner cursor. Planning reads are in ``delivery_reads.py``, the inbox in ``inbox_repo.py``.

Exactly once: every terminal outcome for (campaign, occurrence, member) — delivered, held
out, suppressed — is one TransactWriteItems whose first item puts the send record with
``attribute_not_exists(PK)``; the effects (coupon, points, inbox message), the stats counters,
the cap/limit/budget guards ride in the same transaction, so they happen once or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.delivery_reads import DeliveryReads, query_all
from chalicelib.adapters.dynamo import (
    ConditionFailed,
    TableRepository,
    TransactionCancelled,
    plain,
    storable,
    translated,
    update_args,
)
from chalicelib.errors import Unavailable

TTL_DAYS_SEND = 400  # a send record outlives any replay of its occurrence (yearly birthdays)


def epoch(dt: datetime) -> int:
    return int(dt.timestamp())


@dataclass
class Guard:
    """A conditional write that, when its condition fails, suppresses with ``reason``."""

    reason: str
    item: dict[str, Any]


@dataclass
class Outcome:
    """What the decision transaction did: ``committed``, ``duplicate`` (someone else's send
    record exists), ``suppressed`` (a guard failed: ``reason``) or ``effect_failed``."""

    status: str
    reason: str | None = None
    record: dict[str, Any] | None = None


# Runs a TransactWriteItems whose list contains ours at some offset (e.g. the loyalty
# service's points award, which adds its own items around them).
Executor = Callable[[list[dict[str, Any]]], None]


@dataclass
class Commit:
    """Everything one decision writes, in one transaction."""

    record: dict[str, Any]              # the send record (without keys)
    counters: dict[str, int]            # stats ADDs
    guards: list[Guard] = field(default_factory=list)
    effects: list[dict[str, Any]] = field(default_factory=list)  # TransactItems
    executor: Executor | None = None    # None: a plain TransactWriteItems of our items
    offset: int = 0                     # where the executor places our first item


class DeliveryRepository(TableRepository, DeliveryReads):
    @property
    def name(self) -> str:
        return str(self.table.name)

    # --- transaction building blocks ------------------------------------------------------

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

    def cap_guard(self, member_id: str, cap_class: str, period: str, ceiling: int,
                  expires: datetime) -> Guard:
        return Guard("cap", self.update_item(
            keys.frequency_cap(member_id, cap_class, period),
            set_={keys.TTL_ATTR: epoch(expires)}, add={"n": 1},
            condition="attribute_not_exists(#n) OR #n < :cap",
            names={"#n": "n"}, values={":cap": ceiling}))

    def limit_guard(self, member_id: str, campaign_id: str, period: str, ceiling: int,
                    expires: datetime | None) -> Guard:
        return Guard("limit", self.update_item(
            keys.member_limit(member_id, campaign_id, period),
            set_={keys.TTL_ATTR: epoch(expires)} if expires else None, add={"n": 1},
            condition="attribute_not_exists(#n) OR #n < :cap",
            names={"#n": "n"}, values={":cap": ceiling}))

    def budget_guard(self, campaign_id: str, spend: dict[str, tuple[int, int]]) -> Guard:
        """ADD used_<dim> n for each dimension, only while used + n <= limit (all at once)."""
        names, values, conds, add = {}, {}, [], {}
        for i, (dim, (amount, limit)) in enumerate(sorted(spend.items())):
            attr = f"used_{dim}"
            names[f"#b{i}"] = attr
            values[f":m{i}"] = limit - amount
            conds.append(f"(attribute_not_exists(#b{i}) OR #b{i} <= :m{i})")
            add[attr] = amount
        return Guard("budget", self.update_item(
            keys.campaign_budget(campaign_id), add=add, condition=" AND ".join(conds),
            names=names, values=values))

    # --- the decision ------------------------------------------------------------------------

    def commit(self, campaign_id: str, occurrence: str, member_id: str, c: Commit) -> Outcome:
        """Write the send record, counters, guards and effects in one transaction."""
        now = datetime.fromisoformat(c.record["decided_at"].replace("Z", "+00:00"))
        record = {**keys.send_record(member_id, campaign_id, occurrence), **c.record,
                  "campaign_id": campaign_id, "occurrence": occurrence, "member_id": member_id,
                  keys.TTL_ATTR: epoch(now + timedelta(days=TTL_DAYS_SEND))}
        items = [self.put_item(record),
                 self.stats_item(campaign_id, occurrence, member_id, c.counters),
                 *(g.item for g in c.guards), *c.effects]
        try:
            (c.executor or self._transact)(items)
        except TransactionCancelled as e:
            if c.offset:
                e = TransactionCancelled(e.reasons[c.offset:] or e.reasons,
                                         e.items[c.offset:] or e.items)
            if e.throttled:
                raise Unavailable("delivery transaction conflicted; retry") from e
            if e.failed(0):
                old = e.items[0] if e.items else None
                if old and old.get("attempt") == c.record.get("attempt"):
                    return Outcome("committed", record=old)  # our own earlier try committed
                return Outcome("duplicate", record=old)
            for i, g in enumerate(c.guards, start=2):
                if e.failed(i):
                    return Outcome("suppressed", g.reason)
            if any(e.failed(i) for i in range(2 + len(c.guards), len(items))):
                return Outcome("effect_failed", "effect")
            if e.reasons == ["Unknown"]:
                # The engine named no item: find out whether the send record exists.
                old = self.send_record(member_id, campaign_id, occurrence)
                if old is not None:
                    same = old.get("attempt") == c.record.get("attempt")
                    return Outcome("committed" if same else "duplicate", record=old)
            raise Unavailable("delivery transaction was cancelled; retry") from e
        return Outcome("committed", record=record)

    def _transact(self, items: list[dict[str, Any]]) -> None:
        with translated():
            self.table.meta.client.transact_write_items(
                TransactItems=items, ClientRequestToken=uuid.uuid4().hex)

    def send_record(self, member_id: str, campaign_id: str, occurrence: str
                    ) -> dict[str, Any] | None:
        with translated():
            item = self.table.get_item(Key=keys.send_record(member_id, campaign_id, occurrence),
                                       ConsistentRead=True).get("Item")
        return plain(item) if item else None

    def mark_channel(self, member_id: str, campaign_id: str, occurrence: str, channel: str,
                     ok: bool, detail: str | None = None) -> bool:
        """pending → sent|failed for one external channel, counted once; False if not pending."""
        status = "sent" if ok else "failed"
        counters = {f"{status}_{channel}": 1, **({} if ok else {"failed": 1})}
        update = self.update_item(
            keys.send_record(member_id, campaign_id, occurrence),
            set_={f"ch_{channel}": status, **({f"err_{channel}": detail[:200]} if detail
                                               else {})},
            condition="#c = :p", names={"#c": f"ch_{channel}"}, values={":p": "pending"})
        try:
            self._transact([update, self.stats_item(campaign_id, occurrence, member_id,
                                                     counters)])
        except TransactionCancelled as e:
            if e.failed(0):
                return False
            raise Unavailable("channel status update conflicted; retry") from e
        return True

    def add_stats(self, campaign_id: str, occurrence: str, member_id: str,
                  counters: dict[str, int], marker: dict[str, Any] | None = None) -> bool:
        """Counters, optionally once only: ``marker`` is put with attribute_not_exists in the
        same transaction (False when it already existed)."""
        items = [self.stats_item(campaign_id, occurrence, member_id, counters)]
        if marker is not None:
            items.insert(0, self.put_item(marker))
        try:
            self._transact(items)
        except TransactionCancelled as e:
            if marker is not None and e.failed(0):
                return False
            raise Unavailable("stats update conflicted; retry") from e
        return True

    def convert(self, member_id: str, campaign_id: str, occurrence: str, group: str,
                at: str) -> bool:
        """Count the member once as a converter of (campaign, occurrence)."""
        update = self.update_item(
            keys.send_record(member_id, campaign_id, occurrence), set_={"converted_at": at},
            condition="attribute_exists(PK) AND attribute_not_exists(#c)",
            names={"#c": "converted_at"})
        try:
            self._transact([update, self.stats_item(campaign_id, occurrence, member_id,
                                                     {f"converters_{group}": 1})])
        except TransactionCancelled as e:
            if e.failed(0):
                return False
            raise Unavailable("conversion update conflicted; retry") from e
        return True

    def sends_of(self, member_id: str) -> list[dict[str, Any]]:
        """The member's send records (attribution looks for recent ones)."""
        from boto3.dynamodb.conditions import Key

        return query_all(self.table, KeyConditionExpression=Key("PK").eq(
            keys.member_pk(member_id)) & Key("SK").begins_with(keys.SEND))

    # --- deferred work --------------------------------------------------------------------

    def defer(self, campaign_id: str, occurrence: str, member_id: str, attempt: int,
              due: str, quarter: str, task: dict[str, Any], count: bool) -> bool:
        """Park a task until ``due`` (counted as deferred once); False if already parked."""
        k = keys.deferred_work(member_id, campaign_id, occurrence, attempt, quarter, due)
        due_dt = datetime.fromisoformat(due.replace("Z", "+00:00"))
        item = {**k, "task": task, "due": due, keys.TTL_ATTR: epoch(due_dt + timedelta(days=3))}
        items = [self.put_item(item)]
        if count:
            items.append(self.stats_item(campaign_id, occurrence, member_id, {"deferred": 1}))
        try:
            self._transact(items)
        except TransactionCancelled as e:
            if e.failed(0):
                return False
            raise Unavailable("deferral conflicted; retry") from e
        return True

    def park(self, parked: list[tuple[str, str, str, str, str, dict[str, Any]]]) -> None:
        """Deferred work for members whose local time comes later, in batches of 25:
        (campaign, occurrence, member, due, quarter, task). Re-putting the same item is
        harmless, so this needs no condition."""
        with translated(), self.table.batch_writer() as batch:
            for cid, occ, member, due, quarter, task in parked:
                due_dt = datetime.fromisoformat(due.replace("Z", "+00:00"))
                batch.put_item(Item=storable({
                    **keys.deferred_work(member, cid, occ, 0, quarter, due), "task": task,
                    "due": due, keys.TTL_ATTR: epoch(due_dt + timedelta(days=3))}))

    def due_between(self, start: str, end: str, quarters: list[str]) -> Iterator[dict[str, Any]]:
        """Deferred tasks with start < due <= end, from the quarter-hour buckets given."""
        from boto3.dynamodb.conditions import Key

        lo, hi = f"{start}#\uffff", f"{end}#\uffff"
        for q in quarters:
            for shard in range(keys.DUE_SHARDS):
                for item in query_all(self.table, IndexName=keys.GSI2,
                                      KeyConditionExpression=Key("GSI2PK").eq(
                                          keys.due_partition(q, shard))
                                      & Key("GSI2SK").between(lo, hi)):
                    yield item["task"]

    # --- planner state -------------------------------------------------------------------------

    def cursor(self) -> str | None:
        with translated():
            item = self.table.get_item(Key=keys.scheduler_cursor(), ConsistentRead=True
                                       ).get("Item")
        return str(item["last"]) if item else None

    def advance_cursor(self, previous: str | None, new: str) -> bool:
        cond = "attribute_not_exists(#l)" if previous is None else "#l = :prev"
        try:
            with translated():
                self.table.update_item(Key=keys.scheduler_cursor(), **update_args(
                    set_={"last": new}, condition=cond, names={"#l": "last"},
                    values={":prev": previous} if previous is not None else None))
        except ConditionFailed:
            return False
        return True

    def broadcast_started(self, campaign_id: str, occurrence: str) -> bool:
        with translated():
            return "Item" in self.table.get_item(
                Key=keys.broadcast_marker(campaign_id, occurrence), ConsistentRead=True)

    def mark_broadcast(self, campaign_id: str, occurrence: str, at: str, segments: int) -> None:
        with translated():
            self.table.put_item(Item={**keys.broadcast_marker(campaign_id, occurrence),
                                      "enqueued_at": at, "segments": segments})

    # --- stats --------------------------------------------------------------------------------

    def stats_rows(self, campaign_id: str) -> list[dict[str, Any]]:
        from boto3.dynamodb.conditions import Key

        return query_all(self.table, KeyConditionExpression=Key("PK").eq(
            f"CAMPAIGN#{campaign_id}") & Key("SK").begins_with(keys.STATS))

    def budget_used(self, campaign_id: str) -> dict[str, int]:
        with translated():
            item = self.table.get_item(Key=keys.campaign_budget(campaign_id)).get("Item")
        return {k[5:]: v for k, v in plain(item or {}).items() if k.startswith("used_")}
