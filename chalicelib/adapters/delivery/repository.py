"""Delivery state in DynamoDB: send records and the transaction that decides a member's
outcome, caps, limits, budgets, deferred work, broadcast markers and the planner cursor.
The building blocks are in ``items.py``, planning reads in ``reads.py``, results in
``results.py``, the outbox in ``outbox.py``, the inbox in ``inbox.py``.

Exactly once: every terminal outcome for (campaign, occurrence, member) — delivered, held
out, suppressed — is one TransactWriteItems with the send record (``attribute_not_exists``);
the effects other capabilities contribute (coupons, points, the inbox message), the stats
counters and the cap/limit/budget guards ride in the same transaction, so they happen once
or not at all.

At least once (push, SMS, webhook): the same transaction puts one **outbox entry** per
external channel (see ``outbox.py``); the worker sends and finishes the entry, and the
sweeper re-sends entries left pending past their retry time.

Every item is named (``send_record``, ``stats``, ``daily``, ``cap:<period>``, ``limit``,
``budget``, ``outbox:<channel>``, and the effects' own names such as ``coupon:<id>``,
``inbox:message``, ``points:loyalty``); a cancellation is explained by the names of the
items that failed, never by their position.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.delivery.items import epoch, parse_iso
from chalicelib.adapters.delivery.journeys import JourneyStore
from chalicelib.adapters.delivery.outbox import OutboxEntry, OutboxStore
from chalicelib.adapters.delivery.reads import query_all
from chalicelib.adapters.delivery.results import ResultsStore
from chalicelib.adapters.dynamo import (
    ConditionFailed,
    NamedItems,
    TransactionCancelled,
    parallel_pages,
    plain,
    storable,
    translated,
    update_args,
)
from chalicelib.adapters.retries import with_retries
from chalicelib.domain.coupons.stock import split
from chalicelib.errors import Unavailable

__all__ = ["Commit", "DeliveryRepository", "Guard", "OutboxEntry", "Outcome"]

TTL_DAYS_SEND = 400  # a send record outlives any replay of its occurrence (yearly birthdays)
STALE_ATTEMPTS = 60  # fresh reads of a contended item (a busy member's points) before giving up


@dataclass
class Guard:
    """A conditional write named ``name`` that, when its condition fails, suppresses with
    ``reason``."""

    name: str
    reason: str
    item: dict[str, Any]
    # Another guard to try when this one fails (a budget shard with room), else None.
    fallback: Callable[[], Guard | None] | None = None


@dataclass
class Outcome:
    """What the decision transaction did: ``committed``, ``duplicate`` (someone else's send
    record exists), ``suppressed`` (a guard failed: ``reason``) or ``effect_failed``."""

    status: str
    reason: str | None = None
    record: dict[str, Any] | None = None


@dataclass
class Commit:
    """Everything one decision writes, in one transaction."""

    record: dict[str, Any]              # the send record (without keys)
    counters: dict[str, int]            # stats ADDs
    guards: list[Guard] = field(default_factory=list)
    effects: NamedItems = field(default_factory=list)  # other capabilities' named items
    # Items built from a read (points: the balance and its version), built again on every
    # try; a failed condition on a ``stale`` name means that read is old: read and try again.
    fresh: list[Callable[[], NamedItems]] = field(default_factory=list)
    stale: frozenset[str] = frozenset()
    outbox: list[OutboxEntry] = field(default_factory=list)  # external sends, at least once
    day: str | None = None              # the campaign-timezone day for the daily counters


class StaleRead(Exception):
    """A ``fresh`` item's condition failed: build it again from a new read."""


class DeliveryRepository(OutboxStore, ResultsStore, JourneyStore):
    # --- guards -----------------------------------------------------------------------------

    def cap_guard(self, member_id: str, cap_class: str, period: str, ceiling: int,
                  expires: datetime) -> Guard:
        return Guard(f"cap:{period}", "cap", self.update_item(
            keys.frequency_cap(member_id, cap_class, period),
            set_={keys.TTL_ATTR: epoch(expires)}, add={"n": 1},
            condition="attribute_not_exists(#n) OR #n < :cap",
            names={"#n": "n"}, values={":cap": ceiling}))

    def limit_guard(self, member_id: str, campaign_id: str, period: str, ceiling: int,
                    expires: datetime | None) -> Guard:
        return Guard("limit", "limit", self.update_item(
            keys.member_limit(member_id, campaign_id, period),
            set_={keys.TTL_ATTR: epoch(expires)} if expires else None, add={"n": 1},
            condition="attribute_not_exists(#n) OR #n < :cap",
            names={"#n": "n"}, values={":cap": ceiling}))

    def budget_guard(self, campaign_id: str, spend: dict[str, tuple[int, int]],
                     member_id: str, shard: int | None = None) -> Guard:
        """ADD used_<dim> n on one budget shard for each dimension, only while the shard's
        used + n <= its share of the limit (all at once). The member's shard first; when it
        is exhausted the guard falls back to a shard that still has room for the whole spend,
        so the shares add up to each limit exactly and the campaign never overspends."""
        shard = keys.budget_shard(member_id) if shard is None else shard
        names, values, conds, add = {}, {}, [], {}
        for i, (dim, (amount, limit)) in enumerate(sorted(spend.items())):
            attr = f"used_{dim}"
            names[f"#b{i}"] = attr
            values[f":m{i}"] = budget_share(limit, shard) - amount
            # A share smaller than the spend must fail even on a shard never written yet.
            conds.append(f"(attribute_not_exists(#b{i}) OR #b{i} <= :m{i})"
                         if values[f":m{i}"] >= 0 else f"#b{i} <= :m{i}")
            add[attr] = amount
        fallback = _chain({shard}, self, campaign_id, spend, member_id)
        return Guard("budget", "budget", self.update_item(
            keys.campaign_budget_shard(campaign_id, shard), add=add,
            set_={"campaign_id": campaign_id}, condition=" AND ".join(conds),
            names=names, values=values), fallback)

    def budget_room(self, campaign_id: str, spend: dict[str, tuple[int, int]]) -> list[int]:
        """Budget shards with room for ``spend`` now (one strongly consistent Query), the
        emptiest first so concurrent fallbacks spread out."""
        used = {int(i["SK"].rsplit("#", 1)[1]): i for i in self.budget_shards(campaign_id)}
        room = []
        for k in range(keys.BUDGET_SHARDS):
            left = [budget_share(limit, k) - int(used.get(k, {}).get(f"used_{dim}", 0)) - amount
                    for dim, (amount, limit) in spend.items()]
            if min(left, default=0) >= 0:
                room.append((-min(left, default=0), k))
        return [k for _, k in sorted(room)]

    def budget_shards(self, campaign_id: str) -> list[dict[str, Any]]:
        from boto3.dynamodb.conditions import Key

        return query_all(self.table, ConsistentRead=True, KeyConditionExpression=Key("PK").eq(
            keys.campaign_pk(campaign_id)) & Key("SK").begins_with(f"{keys.BUDGET}#"))

    # --- the decision ------------------------------------------------------------------------

    def commit(self, campaign_id: str, occurrence: str, member_id: str, c: Commit) -> Outcome:
        """Write the send record, counters, guards, outbox entries and effects in one
        transaction; a cancellation is explained by the names of the items that failed (a
        failed guard tries its fallback, else suppresses; a stale read is read again)."""
        now = parse_iso(c.record["decided_at"])
        record = {**keys.send_record(member_id, campaign_id, occurrence), **c.record,
                  "campaign_id": campaign_id, "occurrence": occurrence, "member_id": member_id,
                  keys.TTL_ATTR: epoch(now + timedelta(days=TTL_DAYS_SEND))}
        guards = {g.name: g for g in c.guards}
        stale = 0
        while True:
            try:
                out = self._commit_once((campaign_id, occurrence, member_id), c, record, guards)
            except StaleRead as e:
                stale += 1
                if stale >= STALE_ATTEMPTS:
                    raise Unavailable("a contributed item kept changing; retry") from e
                time.sleep(random.uniform(0, min(0.2, 0.01 * 2 ** min(stale, 5))))
                continue
            if isinstance(out, Outcome):
                return out
            fallback = guards[out].fallback
            alt = fallback() if fallback is not None else None
            if alt is None:
                return Outcome("suppressed", guards[out].reason)
            guards = {**guards, out: alt}  # e.g. another budget shard with room

    def _commit_once(self, ids: tuple[str, str, str], c: Commit, record: dict[str, Any],
                     guards: dict[str, Guard]) -> Outcome | str:
        """One try of the decision transaction: its Outcome, or the name of the failed
        guard (the caller tries the guard's fallback, or suppresses)."""
        campaign_id, occurrence, member_id = ids
        effects = [*c.effects, *(item for build in c.fresh for item in build())]
        named: NamedItems = [
            ("send_record", self.put_item(record)),
            *self.counter_items(campaign_id, occurrence, member_id, c.counters, c.day,
                                c.record.get("variant")),
            *((name, g.item) for name, g in guards.items()),
            *((f"outbox:{o.channel}", self.outbox_put(member_id, campaign_id, occurrence, o,
                                                      c.record["decided_at"]))
              for o in c.outbox),
            *effects]
        try:
            self.transact(named)
        except TransactionCancelled as e:
            return self._cancelled(e, ids, c, guards, {name for name, _ in effects})
        return Outcome("committed", record=record)

    def _cancelled(self, e: TransactionCancelled, ids: tuple[str, str, str], c: Commit,
                   guards: dict[str, Guard], effects: set[str]) -> Outcome | str:
        """Why the decision transaction was cancelled, by the names of the failed items."""
        if e.throttled:
            raise Unavailable("delivery transaction conflicted; retry") from e
        failed = e.failed_names
        if "send_record" in failed:
            return _existing(e.old("send_record"), c)
        if failed & c.stale:
            raise StaleRead() from e
        for name in guards:
            if name in failed:
                return name
        if failed & effects:
            return Outcome("effect_failed", "effect")
        if any(n.startswith("outbox:") for n in failed):
            # An entry without its send record: only a send record that expired first.
            return Outcome("duplicate")
        if e.reasons == ["Unknown"]:
            # The engine named no item: find out whether the send record exists.
            campaign_id, occurrence, member_id = ids
            old = self.send_record(member_id, campaign_id, occurrence)
            if old is not None:
                return _existing(old, c)
        raise Unavailable("delivery transaction was cancelled; retry") from e

    def send_record(self, member_id: str, campaign_id: str, occurrence: str
                    ) -> dict[str, Any] | None:
        with translated():
            item = self.table.get_item(Key=keys.send_record(member_id, campaign_id, occurrence),
                                       ConsistentRead=True).get("Item")
        return plain(item) if item else None

    # --- deferred work --------------------------------------------------------------------

    def defer(self, campaign_id: str, occurrence: str, member_id: str, attempt: int,
              due: str, quarter: str, task: dict[str, Any], count: bool,
              day: str | None = None) -> bool:
        """Park a task until ``due`` (counted as deferred once); False if already parked."""
        k = keys.deferred_work(member_id, campaign_id, occurrence, attempt, quarter, due)
        item = {**k, "task": task, "due": due,
                keys.TTL_ATTR: epoch(parse_iso(due) + timedelta(days=3))}
        named: NamedItems = [("deferred", self.put_item(item))]
        if count:
            named += self.counter_items(campaign_id, occurrence, member_id, {"deferred": 1}, day)
        return self.transact_unless(named, "deferred", "deferral")

    def park(self, parked: list[tuple[str, str, str, str, str, dict[str, Any]]]) -> None:
        """Deferred work for members whose local time comes later, in batches of 25:
        (campaign, occurrence, member, due, quarter, task). Re-putting the same item is
        harmless, so this needs no condition."""
        with translated(), self.table.batch_writer() as batch:
            for cid, occ, member, due, quarter, task in parked:
                batch.put_item(Item=storable({
                    **keys.deferred_work(member, cid, occ, 0, quarter, due), "task": task,
                    "due": due, keys.TTL_ATTR: epoch(parse_iso(due) + timedelta(days=3))}))

    def due_between(self, start: str, end: str, quarters: list[str]) -> Iterator[dict[str, Any]]:
        """Deferred tasks with start < due <= end, from the quarter-hour buckets given."""
        from boto3.dynamodb.conditions import Key

        lo, hi = f"{start}#\uffff", f"{end}#\uffff"
        queries = [{"IndexName": keys.GSI2, "KeyConditionExpression": Key("GSI2PK").eq(
            keys.due_partition(q, shard)) & Key("GSI2SK").between(lo, hi)}
            for q in quarters for shard in range(keys.DUE_SHARDS)]
        # Every shard of every quarter on a bounded pool, each page retried on its own.
        for page in parallel_pages(self.table, queries, retry=with_retries):
            for item in page:
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


def _existing(old: dict[str, Any] | None, c: Commit) -> Outcome:
    """The send record was there already: ours (an earlier try of this attempt committed) or
    someone else's."""
    if old is not None and old.get("attempt") == c.record.get("attempt"):
        return Outcome("committed", record=old)
    return Outcome("duplicate", record=old)


def budget_share(limit: int, shard: int) -> int:
    """Shard ``shard``'s exact share of a budget limit (the shares add up to the limit).

    A limit is spread over one shard per BUDGET_SHARE_MIN units (at most BUDGET_SHARDS), so
    a delivery that spends many units at once (points) still fits a share: what a shard
    cannot fit stays unspent (less than one delivery's spend per shard), never overspent."""
    n = max(1, min(keys.BUDGET_SHARDS, limit // keys.BUDGET_SHARE_MIN))
    return split(limit, n)[shard] if shard < n else 0


def _chain(tried: set[int], repo: DeliveryRepository, campaign_id: str,
           spend: dict[str, tuple[int, int]], member_id: str) -> Callable[[], Guard | None]:
    """The fallback of a fallback guard: the next shard with room not tried yet."""
    def nxt() -> Guard | None:
        for k in repo.budget_room(campaign_id, spend):
            if k not in tried:
                alt = repo.budget_guard(campaign_id, spend, member_id, k)
                alt.fallback = _chain(tried | {k}, repo, campaign_id, spend, member_id)
                return alt
        return None
    return nxt
