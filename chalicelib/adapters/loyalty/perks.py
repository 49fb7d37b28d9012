"""Tier perk records on the single table: grant records, the holders index, the job cursor.

Every key is built here (keys.py) and every transaction item is returned NAMED, for the
caller's transaction (an order's, a review's, or the monthly job's own):

- ``perk:gift`` (PERK#GIFT#<tier>): created once; a second upgrade gift of the tier fails it.
- ``perk:month`` (PERK#MONTH#<yyyy-mm>): the month's issued count moves only from the count
  that was read (or from nothing), so two grants of one month cannot both commit.
- ``perk:holder`` (PERKS): the member's entry in the holders index (GSI1 ``PERKS#<s>`` /
  ``<tz>#<id>``), written on every upgrade; the monthly job drops it once the member is back
  on the base tier, guarded by the LOYALTY version it read.
- ``perk:gift_lot`` / ``perk:gift_ledger``: an upgrade gift's points (a lot and its ledger
  entry; LOYALTY itself is the caller's item).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.dynamo import (
    NamedItems,
    TableRepository,
    get_labelled,
    parallel_pages,
    storable,
    translated,
    write_named,
)
from chalicelib.adapters.loyalty import items as li
from chalicelib.domain.loyalty.perks import Grant
from chalicelib.domain.loyalty.wallet import Lot

JOB = "perks-monthly"
OLD = {"ReturnValuesOnConditionCheckFailure": "ALL_OLD"}


@dataclass(frozen=True)
class PerkRecords:
    """What a member already had: the tier's upgrade gift, and this month's coupon count."""

    gift: bool
    month_count: int


@dataclass(frozen=True)
class MemberMonth:
    """A holder as the monthly job reads it: tier, time zone, LOYALTY version, month count."""

    member_id: str
    tier: str | None
    timezone: str | None
    version: int
    month_count: int


def _record_name(grant: Grant) -> str:
    return "perk:gift" if grant.record.startswith("gift:") else "perk:month"


class PerkRepository(TableRepository):
    # --- reads --------------------------------------------------------------------------
    def _get_many(self, wanted: dict[str, dict[str, str]]) -> dict[str, dict[str, Any] | None]:
        """Strongly consistent BatchGetItem of a few named keys (one request)."""
        return get_labelled(self.table, wanted)

    def records(self, member_id: str, tier_id: str, month: str) -> PerkRecords:
        """The tier's gift record and the month's record (one BatchGetItem)."""
        got = self._get_many({"gift": keys.perk_grant(member_id, "GIFT", tier_id),
                              "month": keys.perk_grant(member_id, "MONTH", month)})
        return PerkRecords(got["gift"] is not None, int((got["month"] or {}).get("count", 0)))

    def month_facts(self, member_id: str, month: str) -> MemberMonth:
        """The member's LOYALTY tier/time zone/version and the month's record (one read)."""
        got = self._get_many({"loyalty": keys.member_loyalty(member_id),
                              "month": keys.perk_grant(member_id, "MONTH", month)})
        loyalty = got["loyalty"] or {}
        return MemberMonth(member_id, loyalty.get("tier"), loyalty.get("timezone"),
                           int(loyalty.get("version", 0)),
                           int((got["month"] or {}).get("count", 0)))

    def holder_pages(self, timezone: str) -> Iterator[list[str]]:
        """Member ids of the holders in ``timezone``: every shard's key range in parallel."""
        from boto3.dynamodb.conditions import Key

        queries = [{"IndexName": keys.GSI1,
                    "KeyConditionExpression": Key("GSI1PK").eq(p)
                    & Key("GSI1SK").begins_with(f"{timezone}#")}
                   for p in keys.perk_holder_partitions()]
        for page in parallel_pages(self.table, queries):
            yield [str(i["GSI1SK"]).rsplit("#", 1)[1] for i in page]

    def cursor(self) -> str | None:
        """The instant the monthly job last covered up to (ISO), None before its first run."""
        with translated():
            item = self.table.get_item(Key=keys.loyalty_job_cursor(JOB),
                                       ConsistentRead=True).get("Item")
        return str(item["at"]) if item else None

    # --- items for a transaction --------------------------------------------------------
    def grant_items(self, member_id: str, grant: Grant, now_iso: str) -> NamedItems:
        """The grant's record, conditional so that the grant commits once."""
        kind, ident = grant.record.split(":", 1)
        item = {**keys.perk_grant(member_id, kind.upper(), ident), "entity": "perk",
                "member_id": member_id, "grant": grant.record, "count": grant.count,
                "points": grant.points, "templates": [t for t, _ in grant.coupons],
                "updated_at": now_iso}
        if kind == "gift":
            return [(_record_name(grant), li.put(item))]
        cond = "attribute_not_exists(PK)" if not grant.granted_before else "#c = :before"
        body: dict[str, Any] = {"TableName": self.table.name, "Item": storable(item),
                                "ConditionExpression": cond, **OLD}
        if grant.granted_before:
            body["ExpressionAttributeNames"] = {"#c": "count"}
            body["ExpressionAttributeValues"] = {":before": grant.granted_before}
        return [(_record_name(grant), {"Put": body})]

    def holder_item(self, member_id: str, timezone: str, now_iso: str) -> NamedItems:
        item = {**keys.perk_holder(member_id), **keys.perk_holder_index(timezone, member_id),
                "entity": "perk_holder", "member_id": member_id, "timezone": timezone,
                "updated_at": now_iso}
        return [("perk:holder", li.put(item, create_only=False))]

    def gift_points_items(self, member_id: str, lot: Lot | None, expiry_day: str,
                          entry: dict[str, Any], now_iso: str) -> NamedItems:
        out: NamedItems = [("perk:gift_ledger", li.ledger_put(member_id, entry))]
        if lot is not None:
            out.append(("perk:gift_lot", li.lot_put(member_id, lot, expiry_day, now_iso)))
        return out

    # --- writes -------------------------------------------------------------------------
    def transact(self, named: NamedItems, token: str | None = None) -> None:
        write_named(self.table.meta.client, named, token)

    def drop_holder(self, member_id: str, loyalty_version: int, token: str) -> None:
        """Remove a member from the holders index while LOYALTY is still at the version read
        (an upgrade since then keeps the entry)."""
        cond: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(PK)"}
        if loyalty_version:
            cond = {"ConditionExpression": "#ver = :ver",
                    "ExpressionAttributeNames": {"#ver": "version"},
                    "ExpressionAttributeValues": {":ver": loyalty_version}}
        check = {"ConditionCheck": {"TableName": self.table.name,
                                    "Key": keys.member_loyalty(member_id), **cond}}
        self.transact([("loyalty", check), ("perk:holder", {"Delete": {
            "TableName": self.table.name, "Key": keys.perk_holder(member_id)}})], token)

    def save_cursor(self, at_iso: str) -> None:
        with translated():
            self.table.put_item(Item={**keys.loyalty_job_cursor(JOB), "entity": "job",
                                      "at": at_iso})

    def put_holders(self, holders: list[tuple[str, str]], now_iso: str) -> int:
        """Index members above the base tier ((member id, time zone) pairs; backfill)."""
        with translated(), self.table.batch_writer(overwrite_by_pkeys=["PK", "SK"]) as batch:
            for member_id, tz in holders:
                batch.put_item(Item={**keys.perk_holder(member_id),
                                     **keys.perk_holder_index(tz, member_id),
                                     "entity": "perk_holder", "member_id": member_id,
                                     "timezone": tz, "updated_at": now_iso})
        return len(holders)
