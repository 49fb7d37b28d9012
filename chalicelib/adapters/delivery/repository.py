"""Delivery state in DynamoDB: send records and the transaction that decides a member's
outcome, stats counters, caps, limits, budgets, deferred work, broadcast markers and the
planner cursor. Planning reads are in ``reads.py``, the inbox in ``inbox.py``.

Exactly once: every terminal outcome for (campaign, occurrence, member) — delivered, held
out, suppressed — is one TransactWriteItems whose first item puts the send record with
``attribute_not_exists(PK)``; the effects (coupon, points, inbox message), the stats counters,
the cap/limit/budget guards ride in the same transaction, so they happen once or not at all.

At least once (push, SMS, webhook): the same transaction puts one **outbox entry** per
external channel (``OUTBOX#<campaign>#<occ>#<channel>``, pending, in a sharded GSI2 bucket);
the worker sends and finishes the entry, and the sweeper re-sends entries left pending past
their retry time. Transaction items are named; failed conditions are reported by name.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.delivery.reads import DeliveryReads, query_all
from chalicelib.adapters.dynamo import (
    ConditionFailed,
    NamedItems,
    TableRepository,
    TransactionCancelled,
    parallel_pages,
    plain,
    storable,
    translated,
    update_args,
    write_named,
)
from chalicelib.adapters.retries import with_retries
from chalicelib.domain.coupons.stock import split
from chalicelib.domain.delivery import arms, results
from chalicelib.errors import Unavailable

TTL_DAYS_SEND = 400  # a send record outlives any replay of its occurrence (yearly birthdays)
TTL_DAYS_OUTBOX = 30  # far beyond the last retry; the send record keeps the final state
CREDIT_TRIES = 5  # an order credit re-read after another order moved the send record


def epoch(dt: datetime) -> int:
    return int(dt.timestamp())


@dataclass
class Guard:
    """A conditional write that, when its condition fails, suppresses with ``reason``."""

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


# Runs a TransactWriteItems whose list contains ours at some offset (e.g. the loyalty
# service's points award, which adds its own items around them).
Executor = Callable[[list[dict[str, Any]]], None]


@dataclass(frozen=True)
class OutboxEntry:
    """An external send to make at least once: the stable ``message_id`` travels in the
    provider payload so the app (or relay) can drop duplicates."""

    channel: str
    message_id: str
    message: dict[str, Any]   # the rendered message (title, body, deep_link, locale)
    retry_at: str             # when the sweeper may re-send it if still pending


@dataclass
class Commit:
    """Everything one decision writes, in one transaction."""

    record: dict[str, Any]              # the send record (without keys)
    counters: dict[str, int]            # stats ADDs
    guards: list[Guard] = field(default_factory=list)
    effects: list[dict[str, Any]] = field(default_factory=list)  # TransactItems
    executor: Executor | None = None    # None: a plain TransactWriteItems of our items
    offset: int = 0                     # where the executor places our first item
    outbox: list[OutboxEntry] = field(default_factory=list)  # external sends, at least once
    day: str | None = None              # the campaign-timezone day for the daily counters


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

    def day_items(self, campaign_id: str, member_id: str, counters: dict[str, int],
                  day: str | None, variant: str | None = None
                  ) -> list[tuple[str, dict[str, Any]]]:
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
        return Guard("budget", self.update_item(
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
        transaction; a cancellation is explained by the names of the items that failed."""
        now = datetime.fromisoformat(c.record["decided_at"].replace("Z", "+00:00"))
        record = {**keys.send_record(member_id, campaign_id, occurrence), **c.record,
                  "campaign_id": campaign_id, "occurrence": occurrence, "member_id": member_id,
                  keys.TTL_ATTR: epoch(now + timedelta(days=TTL_DAYS_SEND))}
        guards = {f"guard:{i}:{g.reason}": g for i, g in enumerate(c.guards)}
        while True:
            out = self._commit_once(campaign_id, occurrence, member_id, c, record, guards)
            if not isinstance(out, str):
                return out
            alt = guards[out].fallback() if guards[out].fallback else None
            if alt is None:
                return Outcome("suppressed", guards[out].reason)
            guards = {**guards, out: alt}  # e.g. another budget shard with room

    def _commit_once(self, campaign_id: str, occurrence: str, member_id: str, c: Commit,
                     record: dict[str, Any], guards: dict[str, Guard]) -> Outcome | str:
        """One try of the decision transaction: its Outcome, or the name of the failed
        guard (the caller tries the guard's fallback, or suppresses)."""
        named: list[tuple[str, dict[str, Any]]] = [
            ("send_record", self.put_item(record)),
            ("stats", self.stats_item(campaign_id, occurrence, member_id, c.counters)),
            *self.day_items(campaign_id, member_id, c.counters, c.day, c.record.get("variant")),
            *((name, g.item) for name, g in guards.items()),
            *((f"outbox:{o.channel}", self._outbox_put(member_id, campaign_id, occurrence, o,
                                                       c.record["decided_at"]))
              for o in c.outbox),
            *((f"effect:{i}", item) for i, item in enumerate(c.effects))]
        try:
            (c.executor or self._transact)([item for _, item in named])
        except TransactionCancelled as e:
            if c.offset:
                e = TransactionCancelled(e.reasons[c.offset:] or e.reasons,
                                         e.items[c.offset:] or e.items)
            if e.throttled:
                raise Unavailable("delivery transaction conflicted; retry") from e
            failed = {name for i, (name, _) in enumerate(named) if e.failed(i)}
            if "send_record" in failed:
                old = e.items[0] if e.items else None
                if old and old.get("attempt") == c.record.get("attempt"):
                    return Outcome("committed", record=old)  # our own earlier try committed
                return Outcome("duplicate", record=old)
            for name in guards:
                if name in failed:
                    return name
            if any(n.startswith("effect:") for n in failed):
                return Outcome("effect_failed", "effect")
            if any(n.startswith("outbox:") for n in failed):
                # An entry without its send record: only a send record that expired first.
                return Outcome("duplicate")
            if e.reasons == ["Unknown"]:
                # The engine named no item: find out whether the send record exists.
                old = self.send_record(member_id, campaign_id, occurrence)
                if old is not None:
                    same = old.get("attempt") == c.record.get("attempt")
                    return Outcome("committed" if same else "duplicate", record=old)
            raise Unavailable("delivery transaction was cancelled; retry") from e
        return Outcome("committed", record=record)

    def _outbox_put(self, member_id: str, campaign_id: str, occurrence: str, o: OutboxEntry,
                    created_at: str) -> dict[str, Any]:
        retry_dt = datetime.fromisoformat(o.retry_at.replace("Z", "+00:00"))
        return self.put_item({
            **keys.outbox_entry(member_id, campaign_id, occurrence, o.channel),
            **keys.outbox_index(member_id, campaign_id, occurrence, o.channel, o.retry_at),
            "state": "pending", "channel": o.channel, "message_id": o.message_id,
            "message": o.message, "tries": 1, "retry_at": o.retry_at,
            "created_at": created_at, "campaign_id": campaign_id, "occurrence": occurrence,
            "member_id": member_id,
            keys.TTL_ATTR: epoch(retry_dt + timedelta(days=TTL_DAYS_OUTBOX))})

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

    # --- the outbox (external sends at least once) --------------------------------------------

    def outbox_entry(self, member_id: str, campaign_id: str, occurrence: str, channel: str
                     ) -> dict[str, Any] | None:
        with translated():
            item = self.table.get_item(Key=keys.outbox_entry(member_id, campaign_id,
                                                             occurrence, channel),
                                       ConsistentRead=True).get("Item")
        return plain(item) if item else None

    def outbox_stale(self, now: str, limit: int) -> list[dict[str, Any]]:
        """Pending entries whose retry time has come: one key query per shard of the sparse
        GSI2 bucket (never a Scan; the bucket holds only pending entries)."""
        from boto3.dynamodb.conditions import Key

        from chalicelib.adapters import dynamo

        out: list[dict[str, Any]] = []
        for shard in range(keys.OUTBOX_SHARDS):
            out += dynamo.query_all(self.table, limit=limit, IndexName=keys.GSI2,
                             KeyConditionExpression=Key("GSI2PK").eq(keys.outbox_partition(
                                 shard)) & Key("GSI2SK").lte(f"{now}#\uffff"))
        return out

    def outbox_claim(self, entry: dict[str, Any], retry_at: str) -> bool:
        """Take a stale entry for one more try: tries + 1 and the next retry time, only if
        nobody else finished or claimed it since it was read."""
        member, cid, occ, ch = (entry["member_id"], entry["campaign_id"], entry["occurrence"],
                                entry["channel"])
        try:
            with translated():
                self.table.update_item(
                    Key=keys.outbox_entry(member, cid, occ, ch), **update_args(
                        set_={"retry_at": retry_at,
                              **keys.outbox_index(member, cid, occ, ch, retry_at)},
                        add={"tries": 1}, condition="#st = :p AND #t = :t",
                        names={"#st": "state", "#t": "tries"},
                        values={":p": "pending", ":t": entry["tries"]}))
        except ConditionFailed:
            return False
        return True

    def outbox_finish(self, member_id: str, campaign_id: str, occurrence: str, channel: str,
                      state: str, detail: str | None = None, stopped: bool = False,
                      day: str | None = None) -> bool:
        """pending → sent | failed | dead: the entry leaves the sweeper's index, and the send
        record's channel state and the counters change in the same transaction (once).
        ``stopped``: failed because it is no longer allowed, counted by ``detail`` (reason).
        False when the entry was not pending (someone finished it already)."""
        ok = state == "sent"
        counters = {f"{'sent' if ok else 'failed'}_{channel}": 1,
                    **({} if ok else {"failed": 1}),
                    **({"dead_lettered": 1} if state == "dead" else {}),
                    **({f"outbox_stopped_{detail}": 1} if stopped and detail else {})}
        err = {f"err_{channel}": detail[:200]} if detail else {}
        named = [
            ("outbox", self.update_item(
                keys.outbox_entry(member_id, campaign_id, occurrence, channel),
                set_={"state": state, **({"error": detail[:200]} if detail else {})},
                remove=("GSI2PK", "GSI2SK"), condition="#st = :p",
                names={"#st": "state"}, values={":p": "pending"})),
            ("send_record", self.update_item(
                keys.send_record(member_id, campaign_id, occurrence),
                set_={f"ch_{channel}": "sent" if ok else "failed", **err})),
            ("stats", self.stats_item(campaign_id, occurrence, member_id, counters)),
            *self.day_items(campaign_id, member_id, counters, day)]
        try:
            self._transact([item for _, item in named])
        except TransactionCancelled as e:
            if any(e.failed(i) for i, (name, _) in enumerate(named) if name == "outbox"):
                return False
            raise Unavailable("outbox update conflicted; retry") from e
        return True

    def outbox_postpone(self, entry: dict[str, Any], retry_at: str) -> bool:
        """Move a stale entry's retry time (quiet hours) without spending a try; False when
        it was finished or claimed since it was read."""
        member, cid, occ, ch = (entry["member_id"], entry["campaign_id"], entry["occurrence"],
                                entry["channel"])
        try:
            with translated():
                self.table.update_item(
                    Key=keys.outbox_entry(member, cid, occ, ch), **update_args(
                        set_={"retry_at": retry_at,
                              **keys.outbox_index(member, cid, occ, ch, retry_at)},
                        condition="#st = :p AND #t = :t",
                        names={"#st": "state", "#t": "tries"},
                        values={":p": "pending", ":t": entry["tries"]}))
        except ConditionFailed:
            return False
        return True

    def outbox_note(self, entry: dict[str, Any], detail: str) -> None:
        """Remember the last error of a try that will be retried (no state change)."""
        key = keys.outbox_entry(entry["member_id"], entry["campaign_id"], entry["occurrence"],
                                entry["channel"])
        with contextlib.suppress(ConditionFailed), translated():
            self.table.update_item(Key=key, **update_args(
                set_={"error": detail[:200]}, condition="#st = :p",
                names={"#st": "state"}, values={":p": "pending"}))

    def profiles(self, member_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Member profiles by id (the sweeper needs the phone and erasure at send time)."""
        got = self.get_many([keys.member_profile(m) for m in dict.fromkeys(member_ids)])
        return {i["PK"][len(keys.MEMBER):]: {k: v for k, v in i.items()
                                             if k not in ("PK", "SK", *keys.GSI_ATTRS)}
                for i in got}

    def add_stats(self, campaign_id: str, occurrence: str, member_id: str,
                  counters: dict[str, int], marker: dict[str, Any] | None = None,
                  day: str | None = None, variant: str | None = None) -> bool:
        """Counters, optionally once only: ``marker`` is put with attribute_not_exists in the
        same transaction (False when it already existed)."""
        items = [self.stats_item(campaign_id, occurrence, member_id, counters),
                 *(i for _, i in self.day_items(campaign_id, member_id, counters, day,
                                                variant))]
        if marker is not None:
            items.insert(0, self.put_item(marker))
        try:
            self._transact(items)
        except TransactionCancelled as e:
            if marker is not None and e.failed(0):
                return False
            raise Unavailable("stats update conflicted; retry") from e
        return True

    def credit_order(self, member_id: str, order_id: str, campaign_id: str, occurrence: str,
                     group: str, total: int, at: str, day: str | None = None,
                     variant: str | None = None, prior: int = 0) -> bool:
        """Credit an order to a (campaign, occurrence) the member was targeted by, once
        (False: credited already). The same transaction moves the send record's
        ``attributed_revenue`` from ``prior`` to ``prior + total`` (conditional on ``prior``)
        and adds the exact change of the arm's sum of squares (``arms.order_adds``). A stale
        ``prior`` (another order credited meanwhile) is read back and the write tried again;
        a send record that no longer exists gets the order counted without the squares."""
        marker = {**keys.attribution(member_id, order_id, campaign_id, occurrence), "at": at}
        record: int | None = prior
        for _ in range(CREDIT_TRIES):
            named = self._credit_items(marker, (campaign_id, occurrence, member_id), group,
                                       total, record, day, variant)
            try:
                write_named(self.table.meta.client, named, uuid.uuid4().hex)
                return True
            except TransactionCancelled as e:
                if e.failed_item("marker"):
                    return False
                if e.throttled:
                    raise Unavailable("order credit conflicted; retry") from e
                if e.failed_item("send_record") and e.old("send_record") is not None:
                    record = int((e.old("send_record") or {}).get("attributed_revenue", 0))
                    continue
                if self._exists(keys.attribution(member_id, order_id, campaign_id,
                                                 occurrence)):  # the engine named no item
                    return False
                got = self.send_record(member_id, campaign_id, occurrence)
                record = None if got is None else int(got.get("attributed_revenue", 0))
        raise Unavailable("order credit conflicted; retry")

    def _exists(self, key: dict[str, str]) -> bool:
        with translated():
            return "Item" in self.table.get_item(Key=key, ConsistentRead=True,
                                                 ProjectionExpression="PK")

    def _credit_items(self, marker: dict[str, Any], ids: tuple[str, str, str], group: str,
                      total: int, prior: int | None, day: str | None, variant: str | None
                      ) -> NamedItems:
        """The named items of one order credit (``prior`` None: no send record to move)."""
        campaign_id, occurrence, member_id = ids
        counters = arms.order_adds(group, prior or 0, total)
        named: NamedItems = [("marker", self.put_item(marker))]
        if prior is None:
            counters = {k: v for k, v in counters.items() if "_sq_" not in k}
        else:
            cond = "#ar = :p" if prior else "attribute_exists(PK) AND (attribute_not_exists(" \
                "#ar) OR #ar = :p)"
            update = self.update_item(
                keys.send_record(member_id, campaign_id, occurrence),
                set_={"attributed_revenue": prior + total}, condition=cond,
                names={"#ar": "attributed_revenue"}, values={":p": prior})
            update["Update"]["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
            named.append(("send_record", update))
        named.append(("stats", self.stats_item(campaign_id, occurrence, member_id, counters)))
        named.extend(self.day_items(campaign_id, member_id, counters, day, variant))
        return named

    def convert(self, member_id: str, campaign_id: str, occurrence: str, group: str,
                at: str, day: str | None = None, variant: str | None = None) -> bool:
        """Count the member once as a converter of (campaign, occurrence)."""
        update = self.update_item(
            keys.send_record(member_id, campaign_id, occurrence), set_={"converted_at": at},
            condition="attribute_exists(PK) AND attribute_not_exists(#c)",
            names={"#c": "converted_at"})
        try:
            counters = {f"converters_{group}": 1}
            self._transact([update, self.stats_item(campaign_id, occurrence, member_id,
                                                     counters),
                            *(i for _, i in self.day_items(
                                campaign_id, member_id, counters, day,
                                variant if group == "treated" else None))])
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
              due: str, quarter: str, task: dict[str, Any], count: bool,
              day: str | None = None) -> bool:
        """Park a task until ``due`` (counted as deferred once); False if already parked."""
        k = keys.deferred_work(member_id, campaign_id, occurrence, attempt, quarter, due)
        due_dt = datetime.fromisoformat(due.replace("Z", "+00:00"))
        item = {**k, "task": task, "due": due, keys.TTL_ATTR: epoch(due_dt + timedelta(days=3))}
        items = [self.put_item(item)]
        if count:
            items.append(self.stats_item(campaign_id, occurrence, member_id, {"deferred": 1}))
            items += [i for _, i in self.day_items(campaign_id, member_id, {"deferred": 1}, day)]
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

    # --- stats --------------------------------------------------------------------------------

    def stats_rows(self, campaign_id: str) -> list[dict[str, Any]]:
        from boto3.dynamodb.conditions import Key

        return query_all(self.table, KeyConditionExpression=Key("PK").eq(
            f"CAMPAIGN#{campaign_id}") & Key("SK").begins_with(keys.STATS))

    def day_rows(self, campaign_id: str, first: str, last: str) -> list[dict[str, Any]]:
        """Every daily counter shard of the days ``first``..``last``: one Query (paged only
        past 1 MB; 90 days x 10 shards of sparse counters stay around one page)."""
        from boto3.dynamodb.conditions import Key

        pk, lo, hi = keys.campaign_day_range(campaign_id, first, last)
        return query_all(self.table, KeyConditionExpression=Key("PK").eq(pk)
                         & Key("SK").between(lo, hi))

    def activity(self, campaign_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Per campaign: its budget spend and recent-activity shards, by BatchGetItem
        (11 keys per campaign, 100 keys per request: 50 campaigns = 6 requests)."""
        wanted = [k for cid in campaign_ids for k in (
            keys.campaign_budget(cid),
            *(keys.campaign_budget_shard(cid, s) for s in range(keys.BUDGET_SHARDS)),
            *(keys.campaign_recent_shard(cid, s) for s in range(keys.DAY_SHARDS)))]
        out: dict[str, dict[str, Any]] = {cid: {"budget_used": {}, "recent": []}
                                          for cid in campaign_ids}
        for item in self.get_many(wanted) if wanted else []:
            cid = str(item["PK"])[len(keys.CAMPAIGN):]
            if cid not in out:
                continue
            if str(item["SK"]).startswith(keys.BUDGET):  # shards and the legacy item
                used = out[cid]["budget_used"]
                for k, v in item.items():
                    if k.startswith("used_"):
                        used[k[5:]] = used.get(k[5:], 0) + v
            else:
                out[cid]["recent"].append(item)
        return out

    def budget_used(self, campaign_id: str) -> dict[str, int]:
        """Spend so far per dimension: every budget shard plus the legacy item (one Query:
        BUDGET sorts just before BUDGET#<shard>)."""
        from boto3.dynamodb.conditions import Key

        used: dict[str, int] = {}
        for item in query_all(self.table, KeyConditionExpression=Key("PK").eq(
                keys.campaign_pk(campaign_id)) & Key("SK").begins_with(keys.BUDGET)):
            for k, v in item.items():
                if k.startswith("used_"):
                    used[k[5:]] = used.get(k[5:], 0) + int(v)
        return used


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
