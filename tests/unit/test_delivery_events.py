from __future__ import annotations

from boto3.dynamodb.types import TypeSerializer

from chalicelib.services.delivery.events import from_stream

S = TypeSerializer()


def image(**attrs):
    return {k: S.serialize(v) for k, v in attrs.items()}


def record(name, new=None, old=None):
    src = new or old
    ddb = {"Keys": image(PK=src["PK"], SK=src["SK"])}
    if new is not None:
        ddb["NewImage"] = image(**new)
    if old is not None:
        ddb["OldImage"] = image(**old)
    return {"eventName": name, "dynamodb": ddb}


def test_profile_insert_is_a_signup_and_profile_updates_are_not():
    new = {"PK": "MEMBER#m-1", "SK": "PROFILE", "member_id": "m-1",
           "signup_at": "2026-01-01T00:00:00.000Z"}
    assert from_stream([record("INSERT", new)]) == [
        {"id": "signup", "type": "signup", "member_id": "m-1", "at": "2026-01-01T00:00:00.000Z"}]
    assert from_stream([record("MODIFY", new, new)]) == []


def test_order_insert_is_an_order_and_the_first_one_also_a_first_order():
    new = {"PK": "ORDER#o-1", "SK": "ORDER", "member_id": "m-1", "order_id": "o-1",
           "total": 52000, "points": 520, "first_order": True,
           "placed_at": "2026-01-02T03:04:05.000Z"}
    kinds = [(e["type"], e["id"], e["order"]["total"]) for e in from_stream([record("INSERT",
                                                                                     new)])]
    assert kinds == [("order", "order-o-1", 52000), ("first_order", "first-order-o-1", 52000)]
    assert [e["type"] for e in from_stream([record("INSERT", {**new, "first_order": False})])
            ] == ["order"]
    refund = {"PK": "ORDER#o-1", "SK": "REFUND#r-1", "member_id": "m-1"}
    assert from_stream([record("INSERT", refund)]) == []


def test_tier_changes_on_the_loyalty_item_are_upgrades_or_downgrades():
    old = {"PK": "MEMBER#m-1", "SK": "LOYALTY", "tier": "silver"}
    new = {**old, "tier": "gold", "tier_change": "upgrade",
           "tier_changed_at": "2026-03-01T00:00:00.000Z"}
    [e] = from_stream([record("MODIFY", new, old)])
    assert (e["type"], e["tier"], e["tier_before"], e["id"]) == (
        "tier_upgrade", "gold", "silver", "tier-gold-2026-03-01T00:00:00.000Z")
    assert from_stream([record("MODIFY", {**old, "points": 5}, old)]) == []


def test_a_campaign_coupon_becoming_used_is_a_redemption():
    old = {"PK": "MEMBER#m-1", "SK": "COUPON#c1", "coupon_id": "c1", "status": "available",
           "source": "campaign", "source_ref": "bday#2026#m-1#0"}
    new = {**old, "status": "used", "used_order": "o-9"}
    [e] = from_stream([record("MODIFY", new, old)])
    assert (e["type"], e["order_id"], e["source_ref"]) == ("coupon_redeemed", "o-9",
                                                           "bday#2026#m-1#0")
    claimed = {**old, "source": "center"}
    assert from_stream([record("MODIFY", {**claimed, "status": "used"}, claimed)]) == []


def test_unrelated_items_are_skipped_without_reading_their_images():
    broken = {"eventName": "INSERT", "dynamodb": {
        "Keys": image(PK="AUDIT#2026-11", SK="x"),
        "NewImage": {"PK": {"S": "AUDIT#2026-11"}, "params": {}}}}
    assert from_stream([broken]) == []
    odd = {"eventName": "INSERT", "dynamodb": {
        "Keys": image(PK="MEMBER#m-2", SK="PROFILE"),
        "NewImage": {**image(PK="MEMBER#m-2", SK="PROFILE", member_id="m-2"),
                     "attributes": {"M": {"x": {}}}}}}
    assert [e["member_id"] for e in from_stream([odd])] == ["m-2"]
