"""Gift fulfilment records and their partner webhooks in the single table.

``FULFIL#<id> / FULFIL`` holds one gift (domain ``Fulfilment``); its status index (GSI1,
``FULFIL#<status>#<shard>``, newest first) is the operators' queue and GSI2
(``MEMBERGIFTS#<member>``) the member's list. Every change is a Put conditional on the
version read. ``FULFIL#<id> / HOOK#<event>`` is a webhook owed to the partner: pending in a
sparse sharded GSI2 bucket keyed by its retry time until it is finished (the outbox
pattern of adapters/delivery/outbox.py). Transaction item names: ``fulfilment`` (or the
caller's prefix), ``fulfilment_hook``, ``stock`` (a stocked reward's unit given back),
``audit``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters import aws, keys
from chalicelib.adapters.audit_log import audit_item
from chalicelib.adapters.dynamo import (
    ConditionFailed,
    TableRepository,
    hydrate,
    plain,
    storable,
    translated,
    update_args,
)
from chalicelib.domain.loyalty.fulfilment import Fulfilment
from chalicelib.errors import ValidationFailed

Item = dict[str, Any]
OLD = {"ReturnValuesOnConditionCheckFailure": "ALL_OLD"}


@dataclass(frozen=True)
class Hook:
    """A partner webhook owed: ``delivery_id`` is stable across retries (the partner's
    idempotency key)."""

    fulfilment_id: str
    event: str
    delivery_id: str
    tries: int
    retry_at: str


def _record(f: Fulfilment) -> Item:
    return {**keys.fulfilment(f.fulfilment_id),
            **keys.fulfilment_index(f.status.value, f.created_at, f.fulfilment_id,
                                    f.member_id),
            "entity": "fulfilment", **f.fields()}


class GiftRepository(TableRepository):
    # --- items for a transaction ------------------------------------------------------
    def create_item(self, f: Fulfilment) -> Item:
        """The new gift's create-only Put."""
        return {"Put": {"TableName": self._name(), "Item": storable(_record(f)),
                        "ConditionExpression": "attribute_not_exists(PK)", **OLD}}

    def move_item(self, before: Fulfilment, after: Fulfilment) -> Item:
        """The gift as ``after``, only if it is still as read (version and status)."""
        return {"Put": {"TableName": self._name(), "Item": storable(_record(after)),
                        "ConditionExpression": "#v = :v AND #s = :s",
                        "ExpressionAttributeNames": {"#v": "version", "#s": "status"},
                        "ExpressionAttributeValues": {":v": before.version,
                                                      ":s": before.status.value}, **OLD}}

    def hook_item(self, fulfilment_id: str, event: str, delivery_id: str, due_at: str,
                  created_at: str) -> Item:
        """A pending partner webhook, due at ``due_at`` (create-only: once per event)."""
        item = {**keys.gift_hook(fulfilment_id, event),
                **keys.gift_hook_index(fulfilment_id, event, due_at),
                "entity": "gift_hook", "state": "pending", "tries": 0, "retry_at": due_at,
                "message_id": delivery_id, "created_at": created_at}
        return {"Put": {"TableName": self._name(), "Item": storable(item),
                        "ConditionExpression": "attribute_not_exists(PK)", **OLD}}

    def stock_return_item(self, reward_id: str, shard: int) -> Item:
        """One unit back on the reward counter shard the redemption counted on."""
        args = update_args(add={"redeemed": -1}, condition="#r >= :one",
                           names={"#r": "redeemed"}, values={":one": 1})
        return {"Update": {"TableName": self._name(),
                           "Key": keys.reward_stock_shard(reward_id, shard), **args, **OLD}}

    def audit_item(self, at: str, actor: str, fulfilment_id: str, action: str,
                   **details: Any) -> Item:
        item = audit_item(at, actor, "fulfilment", fulfilment_id, action, **details)
        return {"Put": {"TableName": self._name(), "Item": storable(item),
                        "ConditionExpression": "attribute_not_exists(PK)"}}

    # --- reads ------------------------------------------------------------------------
    def get(self, fulfilment_id: str) -> Fulfilment | None:
        with translated():
            item = self.table.get_item(Key=keys.fulfilment(fulfilment_id),
                                       ConsistentRead=True).get("Item")
        return Fulfilment.from_fields(plain(item)) if item else None

    def request_result(self, request_key: str) -> Item | None:
        """The recorded effect of a keyed request (its guard), if it committed."""
        with translated():
            item = self.table.get_item(Key=keys.request_guard(request_key),
                                       ConsistentRead=True).get("Item")
        return dict(plain(item).get("result") or {}) if item else None

    def page(self, status: str, limit: int, cursor: str | None
             ) -> tuple[list[Fulfilment], str | None]:
        """Gifts in ``status``, newest first: one key query per status shard (never a Scan),
        merged; the cursor is the last sort key returned."""
        from boto3.dynamodb.conditions import Key

        before = decode_cursor(cursor) if cursor else None
        queries = []
        for p in keys.fulfilment_status_partitions(status):
            cond = Key("GSI1PK").eq(p)
            if before:
                cond = cond & Key("GSI1SK").lt(before)
            queries.append({"IndexName": keys.GSI1, "KeyConditionExpression": cond,
                            "ScanIndexForward": False, "Limit": limit + 1})
        entries = _first_pages(self.table, queries)
        entries.sort(key=lambda e: str(e["GSI1SK"]), reverse=True)
        more = len(entries) > limit
        entries = entries[:limit]
        found = [Fulfilment.from_fields(i) for i in hydrate(self.table, entries)]
        nxt = encode_cursor(str(entries[-1]["GSI1SK"])) if more and entries else None
        return [f for f in found if f.status.value == status], nxt

    def member_page(self, member_id: str, limit: int, cursor: str | None
                    ) -> tuple[list[Fulfilment], str | None]:
        """A member's gifts, newest first (one key query on GSI2)."""
        from boto3.dynamodb.conditions import Key

        cond = Key("GSI2PK").eq(keys.member_gifts_partition(member_id))
        if cursor:
            cond = cond & Key("GSI2SK").lt(decode_cursor(cursor))
        with translated():
            page = self.table.query(IndexName=keys.GSI2, KeyConditionExpression=cond,
                                    ScanIndexForward=False, Limit=limit)
        entries = [plain(i) for i in page.get("Items", [])]
        lek = page.get("LastEvaluatedKey")
        found = [Fulfilment.from_fields(i) for i in hydrate(self.table, entries)]
        return found, encode_cursor(str(lek["GSI2SK"])) if lek else None

    # --- partner webhooks -------------------------------------------------------------
    def hooks_due(self, now: str, limit: int) -> list[Hook]:
        """Pending webhooks whose retry time has come: one key query per shard."""
        from boto3.dynamodb.conditions import Key

        from chalicelib.adapters.dynamo import query_all

        out: list[Hook] = []
        for p in keys.gift_hook_partitions():
            for e in query_all(self.table, limit=limit, IndexName=keys.GSI2,
                               KeyConditionExpression=Key("GSI2PK").eq(p)
                               & Key("GSI2SK").lte(f"{now}#\uffff")):
                out.append(Hook(keys.gift_of_hook(e["PK"]), e["SK"].removeprefix("HOOK#"),
                                str(e["message_id"]), int(e.get("tries", 0)),
                                str(e["retry_at"])))
        return out

    def hook_claim(self, hook: Hook, retry_at: str) -> bool:
        """Take a due webhook for one try (tries + 1, the next retry time), only if nobody
        finished or claimed it since it was read."""
        return self._hook_update(hook, set_={"retry_at": retry_at, **keys.gift_hook_index(
            hook.fulfilment_id, hook.event, retry_at)}, add={"tries": 1})

    def hook_finish(self, hook: Hook, state: str, detail: str | None) -> bool:
        """pending → sent | failed | dead: it leaves the sweeper's index (once)."""
        return self._hook_update(hook, set_={"state": state, "error": (detail or "")[:200]},
                                 remove=("GSI2PK", "GSI2SK"), tries=hook.tries)

    def hook_state(self, fulfilment_id: str, event: str) -> Item | None:
        with translated():
            item = self.table.get_item(Key=keys.gift_hook(fulfilment_id, event),
                                       ConsistentRead=True).get("Item")
        return plain(item) if item else None

    def _hook_update(self, hook: Hook, *, set_: Item, add: dict[str, int] | None = None,
                     remove: tuple[str, ...] = (), tries: int | None = None) -> bool:
        seen = hook.tries if tries is None else tries
        try:
            with translated():
                self.table.update_item(
                    Key=keys.gift_hook(hook.fulfilment_id, hook.event), **update_args(
                        set_=set_, add=add, remove=remove, condition="#st = :p AND #t = :t",
                        names={"#st": "state", "#t": "tries"},
                        values={":p": "pending", ":t": seen}))
        except ConditionFailed:
            return False
        return True

    def _name(self) -> str:
        return str(aws.table().name) if self._table is None else str(self.table.name)


def _first_pages(table: Any, queries: list[Item]) -> list[Item]:
    """The first page of each query (``Limit`` each: enough for one merged page)."""
    from chalicelib.adapters.dynamo import parallel_pages

    out: list[Item] = []
    pages: Iterator[list[Item]] = parallel_pages(table, queries)
    for n, page in enumerate(pages):
        out += page
        if n + 1 >= len(queries):
            break
    return out


def encode_cursor(sk: str) -> str:
    return base64.urlsafe_b64encode(sk.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        sk = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        sk = ""
    if "#" not in sk or len(sk) > 120:
        raise ValidationFailed("the cursor is not valid", details=[
            {"path": "/query/cursor", "message": "use next_cursor from a previous page"}])
    return sk
