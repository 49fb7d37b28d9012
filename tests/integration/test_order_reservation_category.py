"""POST /orders confirming a reservation repeats the reserved line categories (both engines)."""

from __future__ import annotations

import pytest

from chalicelib.adapters import keys
from chalicelib.errors import Conflict
from chalicelib.services.coupons import checkout, coupons
from tests.integration.test_order_reservations import SPLIT, _order, _place, _reserve, shop

__all__ = ["shop"]  # the fixture, imported for these tests


def test_an_order_that_moves_a_line_to_another_category_is_refused(shop):
    cid = coupons.claim("m-1", "lip-20").coupon_id
    _reserve("o-c", [cid], SPLIT)
    stored = coupons.repo().get(keys.reservation("o-c"))
    assert [i["category"] for i in stored["items"]] == ["beauty", "apparel"]
    moved = _order("o-c", SPLIT, discount=2000)
    moved["items"][0]["category"] = "apparel"  # would earn apparel's multiplier instead
    with pytest.raises(Conflict) as e:
        _place(moved)
    assert [(d["path"], d["reserved"], d["order"]) for d in e.value.details] == [
        ("/items/0/category", "beauty", "apparel")]
    assert checkout.get("o-c").status == "held"
    placed = _place(_order("o-c", SPLIT, discount=2000))
    assert checkout.get("o-c").status == "confirmed" and placed.order_id == "o-c"


def test_a_reservation_stored_before_categories_were_kept_compares_the_rest(shop):
    cid = coupons.claim("m-1", "lip-20").coupon_id
    _reserve("o-old", [cid], SPLIT)
    key = keys.reservation("o-old")
    stored = coupons.repo().get(key)
    old_items = [{k: v for k, v in i.items() if k != "category"} for i in stored["items"]]
    coupons.repo().table.update_item(Key=key, UpdateExpression="SET #i = :i",
                                     ExpressionAttributeNames={"#i": "items"},
                                     ExpressionAttributeValues={":i": old_items})
    body = _order("o-old", SPLIT, discount=2000)
    body["items"][1]["category"] = "shoes"
    _place(body)
    assert checkout.get("o-old").status == "confirmed"
