"""The outbox in DynamoDB: push, SMS and webhook sends owed at least once.

The decision transaction puts one pending entry per external channel
(``OUTBOX#<campaign>#<occ>#<channel>``, in a sharded sparse GSI2 bucket keyed by its retry
time); finishing an entry takes it out of the bucket and records the channel's outcome on the
send record and in the counters, in one transaction. See services/delivery/outbox.py."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.delivery.items import DeliveryItems, epoch, parse_iso
from chalicelib.adapters.dynamo import (
    ConditionFailed,
    plain,
    translated,
    update_args,
)

TTL_DAYS_OUTBOX = 30  # far beyond the last retry; the send record keeps the final state


@dataclass(frozen=True)
class OutboxEntry:
    """An external send to make at least once: the stable ``message_id`` travels in the
    provider payload so the app (or relay) can drop duplicates."""

    channel: str
    message_id: str
    message: dict[str, Any]   # the rendered message (title, body, deep_link, locale)
    retry_at: str             # when the sweeper may re-send it if still pending


class OutboxStore(DeliveryItems):
    def outbox_put(self, member_id: str, campaign_id: str, occurrence: str, o: OutboxEntry,
                   created_at: str) -> dict[str, Any]:
        """The pending entry, for the decision transaction (create-only)."""
        return self.put_item({
            **keys.outbox_entry(member_id, campaign_id, occurrence, o.channel),
            **keys.outbox_index(member_id, campaign_id, occurrence, o.channel, o.retry_at),
            "state": "pending", "channel": o.channel, "message_id": o.message_id,
            "message": o.message, "tries": 1, "retry_at": o.retry_at,
            "created_at": created_at, "campaign_id": campaign_id, "occurrence": occurrence,
            "member_id": member_id,
            keys.TTL_ATTR: epoch(parse_iso(o.retry_at) + timedelta(days=TTL_DAYS_OUTBOX))})

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
                                    KeyConditionExpression=Key("GSI2PK").eq(
                                        keys.outbox_partition(shard))
                                    & Key("GSI2SK").lte(f"{now}#\uffff"))
        return out

    def outbox_claim(self, entry: dict[str, Any], retry_at: str) -> bool:
        """Take a stale entry for one more try: tries + 1 and the next retry time, only if
        nobody else finished or claimed it since it was read."""
        return self._move(entry, retry_at, add={"tries": 1})

    def outbox_postpone(self, entry: dict[str, Any], retry_at: str) -> bool:
        """Move a stale entry's retry time (quiet hours) without spending a try; False when
        it was finished or claimed since it was read."""
        return self._move(entry, retry_at)

    def _move(self, entry: dict[str, Any], retry_at: str,
              add: dict[str, int] | None = None) -> bool:
        member, cid, occ, ch = (entry["member_id"], entry["campaign_id"], entry["occurrence"],
                                entry["channel"])
        try:
            with translated():
                self.table.update_item(
                    Key=keys.outbox_entry(member, cid, occ, ch), **update_args(
                        set_={"retry_at": retry_at,
                              **keys.outbox_index(member, cid, occ, ch, retry_at)},
                        add=add, condition="#st = :p AND #t = :t",
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
            *self.counter_items(campaign_id, occurrence, member_id, counters, day)]
        return self.transact_unless(named, "outbox", "outbox update")

    def outbox_note(self, entry: dict[str, Any], detail: str) -> None:
        """Remember the last error of a try that will be retried (no state change)."""
        key = keys.outbox_entry(entry["member_id"], entry["campaign_id"], entry["occurrence"],
                                entry["channel"])
        with contextlib.suppress(ConditionFailed), translated():
            self.table.update_item(Key=key, **update_args(
                set_={"error": detail[:200]}, condition="#st = :p",
                names={"#st": "state"}, values={":p": "pending"}))
