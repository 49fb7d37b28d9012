"""Journey state in DynamoDB: the member's state item, its conditional move, the due item of
the next wait (on the sharded DUE index the planner already reads) and the step counters.

The move is a ``Guard`` named ``journey``: it rides in the decision transaction with the
send record and the step's effects, so a step's coupons, points and messages commit exactly
when the member moves on. Its condition is the state the service read (``seq`` plus the
entry and the step): a second worker with the same task finds the send record taken, a stale
task finds the state moved, and either way nothing happens twice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib.adapters import keys
from chalicelib.adapters.delivery.items import DeliveryItems, epoch, parse_iso
from chalicelib.adapters.delivery.reads import query_all
from chalicelib.adapters.dynamo import NamedItems, plain, storable, translated

STATE_TTL_DAYS = 800  # a finished journey's state outlives any re-entry window in practice


class JourneyStore(DeliveryItems):
    def journey_state(self, member_id: str, campaign_id: str) -> dict[str, Any] | None:
        with translated():
            got = self.table.get_item(Key=keys.journey_state(member_id, campaign_id),
                                      ConsistentRead=True).get("Item")
        return plain(got) if got else None

    def journey_move(self, member_id: str, campaign_id: str, read: dict[str, Any] | None,
                     state: dict[str, Any]) -> dict[str, Any]:
        """Put the new state only while the stored one is still ``read`` (None: absent)."""
        item = {**keys.journey_state(member_id, campaign_id), **state,
                "campaign_id": campaign_id, "member_id": member_id}
        if state.get("status") != "active":
            item[keys.TTL_ATTR] = epoch(parse_iso(str(state["updated_at"]))
                                        + timedelta(days=STATE_TTL_DAYS))
        put: dict[str, Any] = {"TableName": self.name, "Item": storable(item),
                               "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
        if read is None:
            put["ConditionExpression"] = "attribute_not_exists(PK)"
        else:
            put["ConditionExpression"] = "#q = :q"
            put["ExpressionAttributeNames"] = {"#q": "seq"}
            put["ExpressionAttributeValues"] = {":q": int(read["seq"])}
        return {"Put": put}

    def journey_due(self, member_id: str, campaign_id: str, occurrence: str, due: str,
                    quarter: str, task: dict[str, Any]) -> NamedItems:
        """The next wait's work on the DUE index (found by the planner at ``due``, in the
        UTC quarter-hour bucket ``quarter``)."""
        item = {**keys.deferred_work(member_id, campaign_id, occurrence, 0, quarter, due),
                "task": task, "due": due,
                keys.TTL_ATTR: epoch(parse_iso(due) + timedelta(days=3))}
        return [("journey_due", {"Put": {"TableName": self.name, "Item": storable(item)}})]

    def journey_counts(self, campaign_id: str, member_id: str, adds: dict[str, int]
                       ) -> NamedItems:
        adds = {k: v for k, v in adds.items() if v}
        if not adds:
            return []
        return [("journey_stats", self.update_item(
            keys.journey_stats(campaign_id, member_id), set_={"campaign_id": campaign_id},
            add=adds))]

    def journey_rows(self, campaign_id: str) -> list[dict[str, Any]]:
        """Every step-counter shard of a campaign: one Query."""
        from boto3.dynamodb.conditions import Key

        return query_all(self.table, KeyConditionExpression=Key("PK").eq(
            keys.campaign_pk(campaign_id)) & Key("SK").begins_with(keys.JOURNEY))

    def coupon_redeemed(self, member_id: str, source_ref_prefix: str) -> bool:
        """Whether a coupon the member got from ``source_ref_prefix`` (a campaign step's
        occurrence) has been used: one Query of the member's coupons."""
        from boto3.dynamodb.conditions import Attr, Key

        found = query_all(self.table, ConsistentRead=True, KeyConditionExpression=Key(
            "PK").eq(keys.member_pk(member_id)) & Key("SK").begins_with(keys.COUPON),
            FilterExpression=Attr("source_ref").begins_with(source_ref_prefix))
        return any(i.get("status") == "used" for i in found)
