"""Campaign results in DynamoDB: orders and redemptions counted once, conversions, and the
counter rows the stats and results pages read (key queries and BatchGetItem only)."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.delivery.reads import DeliveryReads, query_all, strip_keys
from chalicelib.adapters.dynamo import NamedItems, TransactionCancelled, translated
from chalicelib.domain.delivery import arms
from chalicelib.errors import Unavailable

CREDIT_TRIES = 5  # an order credit read again after another order moved the send record


class ResultsStore(DeliveryReads):
    # --- counted once ---------------------------------------------------------------------

    def count_order(self, member_id: str, order_id: str, campaign_id: str, occurrence: str,
                    group: str, total: int, at: str, day: str | None = None,
                    variant: str | None = None, prior: int = 0) -> bool:
        """Credit an order of ``total`` (fen) to a (campaign, occurrence) the member was
        targeted by, once: False when it was credited already. The same transaction moves
        the send record's ``attributed_revenue`` from ``prior`` to ``prior + total``
        (conditional on ``prior``) and adds the exact change of the arm's sum of squares
        (``arms.order_adds``). A stale ``prior`` (another order credited meanwhile) is read
        back and the write tried again; a send record that no longer exists gets the order
        counted without the squares."""
        marker = {**keys.attribution(member_id, order_id, campaign_id, occurrence), "at": at}
        ids = (campaign_id, occurrence, member_id)
        record: int | None = prior
        for _ in range(CREDIT_TRIES):
            named = self._credit_items(marker, ids, group, total, record, day, variant)
            try:
                self.transact(named)
                return True
            except TransactionCancelled as e:
                if e.failed_item("marker"):
                    return False
                if e.throttled:
                    raise Unavailable("order credit conflicted; retry") from e
                old = e.old("send_record") if e.failed_item("send_record") else None
                if old is not None:
                    record = int(old.get("attributed_revenue", 0))
                    continue
                if self._exists(marker):  # the engine named no item: look
                    return False
                record = self._attributed(*ids)
        raise Unavailable("order credit conflicted; retry")

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
            cond = "#ar = :p" if prior else \
                "attribute_exists(PK) AND (attribute_not_exists(#ar) OR #ar = :p)"
            update = self.update_item(
                keys.send_record(member_id, campaign_id, occurrence),
                set_={"attributed_revenue": prior + total}, condition=cond,
                names={"#ar": "attributed_revenue"}, values={":p": prior})
            update["Update"]["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
            named.append(("send_record", update))
        return [*named, *self.counter_items(campaign_id, occurrence, member_id, counters, day,
                                            variant)]

    def _exists(self, item: dict[str, Any]) -> bool:
        with translated():
            return "Item" in self.table.get_item(
                Key={"PK": item["PK"], "SK": item["SK"]}, ConsistentRead=True,
                ProjectionExpression="PK")

    def _attributed(self, campaign_id: str, occurrence: str, member_id: str) -> int | None:
        """The send record's attributed revenue (None: there is no send record)."""
        with translated():
            got = self.table.get_item(Key=keys.send_record(member_id, campaign_id, occurrence),
                                      ConsistentRead=True).get("Item")
        return None if got is None else int(got.get("attributed_revenue", 0))

    def count_redemption(self, member_id: str, coupon_id: str, campaign_id: str,
                         occurrence: str, counters: dict[str, int], at: str,
                         day: str | None = None, variant: str | None = None) -> bool:
        """Count a campaign coupon's redemption once: False when it was counted already."""
        marker = {**keys.redemption_marker(member_id, coupon_id), "campaign_id": campaign_id,
                  "at": at}
        return self._once(marker, campaign_id, occurrence, member_id, counters, day, variant)

    def _once(self, marker: dict[str, Any], campaign_id: str, occurrence: str, member_id: str,
              counters: dict[str, int], day: str | None, variant: str | None) -> bool:
        named: NamedItems = [
            ("marker", self.put_item(marker)),
            *self.counter_items(campaign_id, occurrence, member_id, counters, day, variant)]
        return self.transact_unless(named, "marker", "stats update")

    def convert(self, member_id: str, campaign_id: str, occurrence: str, group: str,
                at: str, day: str | None = None, variant: str | None = None) -> bool:
        """Count the member once as a converter of (campaign, occurrence)."""
        counters = {f"converters_{group}": 1}
        named: NamedItems = [
            ("send_record", self.update_item(
                keys.send_record(member_id, campaign_id, occurrence),
                set_={"converted_at": at},
                condition="attribute_exists(PK) AND attribute_not_exists(#c)",
                names={"#c": "converted_at"})),
            *self.counter_items(campaign_id, occurrence, member_id, counters, day,
                                variant if group == "treated" else None)]
        return self.transact_unless(named, "send_record", "conversion update")

    def unsubscribe_items(self, campaign_id: str, member_id: str, day: str | None,
                          variant: str | None) -> NamedItems:
        """The daily ``unsubscribed`` counter (and the arm's) that rides in the transaction of
        the consent change it counts, so a withdrawal is counted once or not at all."""
        return self.day_items(campaign_id, member_id, {"unsubscribed": 1}, day, variant)

    # --- reads ------------------------------------------------------------------------------

    def sends_of(self, member_id: str) -> list[dict[str, Any]]:
        """The member's send records (attribution looks for recent ones)."""
        from boto3.dynamodb.conditions import Key

        return [strip_keys(i) for i in query_all(self.table, KeyConditionExpression=Key(
            "PK").eq(keys.member_pk(member_id)) & Key("SK").begins_with(keys.SEND))]

    def campaign_sends_of(self, member_id: str, campaign_id: str) -> list[dict[str, Any]]:
        """The member's send records of one campaign (one Query of the member partition)."""
        from boto3.dynamodb.conditions import Key

        pk, prefix = keys.campaign_sends(member_id, campaign_id)
        return [strip_keys(i) for i in query_all(self.table, KeyConditionExpression=Key(
            "PK").eq(pk) & Key("SK").begins_with(prefix))]

    def stats_rows(self, campaign_id: str) -> list[dict[str, Any]]:
        from boto3.dynamodb.conditions import Key

        return query_all(self.table, KeyConditionExpression=Key("PK").eq(
            keys.campaign_pk(campaign_id)) & Key("SK").begins_with(keys.STATS))

    def day_rows(self, campaign_id: str, first: str, last: str) -> list[dict[str, Any]]:
        """Every daily counter shard of the days ``first``..``last``: one Query (paged only
        past 1 MB; 90 days x 10 shards of sparse counters stay around one page)."""
        from boto3.dynamodb.conditions import Key

        pk, lo, hi = keys.campaign_day_range(campaign_id, first, last)
        return query_all(self.table, KeyConditionExpression=Key("PK").eq(pk)
                         & Key("SK").between(lo, hi))

    def activity(self, campaign_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Per campaign: its budget spend and recent-activity shards, by BatchGetItem
        (1 + BUDGET_SHARDS + DAY_SHARDS = 27 keys per campaign, 100 keys per request: 50
        campaigns = 14 requests; bench/console_results.py's goal of 6 predates the budget
        shards)."""
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
