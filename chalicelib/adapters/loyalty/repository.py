"""Loyalty reads on the single table (members' points, orders, jobs); the writes, every
transaction item named, are in adapters/loyalty/writes.py."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from itertools import groupby
from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.dynamo import (
    get_labelled,
    parallel_pages,
    plain,
    translated,
)
from chalicelib.adapters.loyalty.items import lot_from_item
from chalicelib.adapters.loyalty.records import (
    BIRTHDAY_FACTS,
    OrderReads,
    StoredOrder,
    recorded,
    stored_order,
)
from chalicelib.adapters.loyalty.writes import LoyaltyWrites
from chalicelib.domain.loyalty.state import LoyaltyState
from chalicelib.domain.loyalty.wallet import Lot
from chalicelib.errors import ValidationFailed


class LoyaltyRepository(LoyaltyWrites):
    # --- reads --------------------------------------------------------------------------
    def get_many(self, wanted: dict[str, dict[str, str]]) -> dict[str, dict[str, Any] | None]:
        """Strongly consistent BatchGetItem of named keys: one request (more only when
        DynamoDB returns UnprocessedKeys under throttling)."""
        return get_labelled(self.table, wanted)

    def get(self, key: dict[str, str], consistent: bool = True) -> dict[str, Any] | None:
        with translated():
            item = self.table.get_item(Key=key, ConsistentRead=consistent).get("Item")
        return plain(item) if item else None

    def member_points(self, member_id: str, consistent: bool = False
                      ) -> tuple[LoyaltyState, list[Lot]]:
        """The LOYALTY item and every open lot, earliest-expiring first: one Query."""
        from boto3.dynamodb.conditions import Key

        low, high = keys.loyalty_range()
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("PK").eq(keys.member_pk(member_id))
            & Key("SK").between(low, high),
            "ConsistentRead": consistent,
        }
        loyalty, lots = None, []
        while True:
            with translated():
                page = self.table.query(**kwargs)
            for raw in page.get("Items", []):
                item = plain(raw)
                if item["SK"] == keys.LOYALTY:
                    loyalty = item
                elif item["SK"].startswith(keys.LOT):
                    lots.append(lot_from_item(item))
            if not page.get("LastEvaluatedKey"):
                return LoyaltyState.from_item(member_id, loyalty), lots
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def state(self, member_id: str, consistent: bool = True) -> LoyaltyState:
        """The member's LOYALTY item (a fresh state when there is none yet)."""
        return LoyaltyState.from_item(member_id, self.get(keys.member_loyalty(member_id),
                                                          consistent=consistent))

    def member_live(self, member_id: str) -> bool:
        """Whether the member's profile exists and is not erased (eventually consistent)."""
        profile = self.get(keys.member_profile(member_id), consistent=False)
        return profile is not None and not profile.get("erased")

    def order_reads(self, member_id: str, order_id: str, with_program: bool) -> OrderReads:
        """Profile, LOYALTY, the order id (a replay?) and, when asked, the live program: one
        strongly consistent BatchGetItem."""
        wanted = {"profile": keys.member_profile(member_id),
                  "loyalty": keys.member_loyalty(member_id), "order": keys.order(order_id)}
        if with_program:
            wanted["program"] = keys.program_current()
        got = self.get_many(wanted)
        profile, order = got["profile"], got["order"]
        return OrderReads(
            member_live=profile is not None and not profile.get("erased"),
            timezone=profile.get("timezone") if profile else None,
            state=LoyaltyState.from_item(member_id, got["loyalty"]),
            recorded=recorded(order) if order else None, program=got.get("program"),
            birthday={k: profile[k] for k in BIRTHDAY_FACTS if k in profile}
            if profile and profile.get("birthday") else None)

    def order(self, order_id: str) -> StoredOrder | None:
        """The order as recorded, with its refunds (one strongly consistent Query)."""
        from boto3.dynamodb.conditions import Key

        from chalicelib.adapters.dynamo import query_all

        items = query_all(self.table, ConsistentRead=True,
                          KeyConditionExpression=Key("PK").eq(keys.order(order_id)["PK"]))
        order = next((i for i in items if i["SK"] == "ORDER"), None)
        if order is None:
            return None
        return stored_order(order, [i for i in items if i["SK"].startswith(keys.REFUND)])

    def history(self, member_id: str, limit: int, cursor: str | None
                ) -> tuple[list[dict[str, Any]], str | None]:
        """Ledger entries newest first; the cursor is opaque and bound to this member."""
        from boto3.dynamodb.conditions import Key

        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("PK").eq(keys.member_pk(member_id))
            & Key("SK").begins_with(keys.LEDGER),
            "ScanIndexForward": False, "Limit": limit,
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = {"PK": keys.member_pk(member_id),
                                           "SK": decode_cursor(cursor)}
        with translated():
            page = self.table.query(**kwargs)
        items = [plain(i) for i in page.get("Items", [])]
        lek = page.get("LastEvaluatedKey")
        return items, encode_cursor(lek["SK"]) if lek else None

    def lot_expiry_pages(self, local_date: str) -> Iterator[list[tuple[str, list[Lot]]]]:
        """Pages of the lots expiring on ``local_date``, as (member id, lots) groups: every
        date shard in parallel, plus the legacy unsharded key. A member's lots sit on one
        shard, sorted together."""
        for page in self._shard_pages(keys.GSI1, "GSI1PK",
                                      keys.lot_expiry_partitions(local_date)):
            yield [(m, [lot_from_item(i) for i in items])
                   for m, items in groupby(page, key=lambda i: str(i["member_id"]))]

    def review_pages(self, local_date: str) -> Iterator[list[str]]:
        """Pages of the ids of members whose tier review is due on ``local_date``: every
        date shard in parallel, plus the legacy key (the index projects keys only)."""
        for page in self._shard_pages(keys.GSI1, "GSI1PK", keys.review_partitions(local_date)):
            yield [str(i.get("member_id") or keys.member_of(i["PK"])) for i in page]

    def lots_now(self, member_id: str, lots: list[Lot]) -> list[Lot]:
        """The given lots as they are now (strongly consistent); the gone ones left out."""
        fresh = []
        for lot in lots:
            item = self.get(keys.member_lot(member_id, lot.expires_at, lot.lot_id))
            if item:
                fresh.append(lot_from_item(item))
        return fresh

    def job_cursor(self, job: str) -> str | None:
        """The last local date the loyalty job (``expiry``, ``review``) fully processed."""
        cur = self.get(keys.loyalty_job_cursor(job), consistent=True)
        return str(cur["date"]) if cur else None

    def job_done(self, job: str, day: str, at: str) -> None:
        from chalicelib.adapters.dynamo import storable

        with translated():
            self.table.put_item(Item=storable({**keys.loyalty_job_cursor(job), "entity": "job",
                                               "date": day, "at": at}))

    @staticmethod
    def reward_home_shard(member_id: str) -> int:
        """The counter shard a member's redemptions go to first (spreads concurrent members)."""
        return keys.reward_shard(member_id)

    def _shard_pages(self, index: str, pk_attr: str, partitions: list[str]
                     ) -> Iterator[list[dict[str, Any]]]:
        from boto3.dynamodb.conditions import Key

        return parallel_pages(self.table, [
            {"IndexName": index, "KeyConditionExpression": Key(pk_attr).eq(p)}
            for p in partitions])


def encode_cursor(sk: str) -> str:
    return base64.urlsafe_b64encode(sk.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        sk = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        sk = ""
    if not sk.startswith(keys.LEDGER):
        raise ValidationFailed("the cursor is not valid", details=[
            {"path": "/query/cursor", "message": "use next_cursor from a previous page"}])
    return sk
