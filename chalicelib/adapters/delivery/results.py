"""Campaign results in DynamoDB: orders and redemptions counted once, conversions, and the
counter rows the stats and results pages read (key queries and BatchGetItem only)."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.delivery.reads import DeliveryReads, query_all, strip_keys
from chalicelib.adapters.dynamo import NamedItems


class ResultsStore(DeliveryReads):
    # --- counted once ---------------------------------------------------------------------

    def count_order(self, member_id: str, order_id: str, campaign_id: str, occurrence: str,
                    counters: dict[str, int], at: str, day: str | None = None,
                    variant: str | None = None) -> bool:
        """Credit an order to a (campaign, occurrence) the member was targeted by, once:
        False when it was credited already."""
        marker = {**keys.attribution(member_id, order_id, campaign_id, occurrence), "at": at}
        return self._once(marker, campaign_id, occurrence, member_id, counters, day, variant)

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

    # --- reads ------------------------------------------------------------------------------

    def sends_of(self, member_id: str) -> list[dict[str, Any]]:
        """The member's send records (attribution looks for recent ones)."""
        from boto3.dynamodb.conditions import Key

        return [strip_keys(i) for i in query_all(self.table, KeyConditionExpression=Key(
            "PK").eq(keys.member_pk(member_id)) & Key("SK").begins_with(keys.SEND))]

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
