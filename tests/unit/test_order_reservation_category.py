"""The order vs its reservation: line categories count (scope and earning multipliers)."""

from __future__ import annotations

from chalicelib.domain.coupons.checkout import OrderTerms, order_mismatches

RES = {"order_id": "o-1", "member_id": "m-1", "discount": 2000, "shipping_fee": 0,
       "shipping_discount": 0, "subtotal": 20000,
       "items": [{"sku": "LIP", "category": "beauty", "quantity": 1, "unit_price": 10000},
                 {"sku": "TEE", "category": "apparel", "quantity": 1, "unit_price": 10000}],
       "lines": [{"sku": "LIP", "discount": 2000}, {"sku": "TEE", "discount": 0}]}
LINES = [("LIP", 1, 10000), ("TEE", 1, 10000)]


def terms(categories):
    return OrderTerms("o-1", "m-1", LINES, 2000, 0, categories)


def test_an_order_with_the_reserved_categories_matches():
    assert order_mismatches(RES, terms(["beauty", "apparel"])) == []


def test_a_line_whose_category_differs_from_the_reservation_is_a_mismatch():
    diffs = order_mismatches(RES, terms(["apparel", "apparel"]))
    assert [(d["path"], d["reserved"], d["order"], d["reason"]) for d in diffs] == [
        ("/items/0/category", "beauty", "apparel", "RESERVATION_MISMATCH")]
    missing = order_mismatches(RES, terms([None, "apparel"]))
    assert [(d["path"], d["order"]) for d in missing] == [("/items/0/category", None)]


def test_reservations_stored_without_categories_compare_what_they_hold():
    old = {**RES, "items": [{k: v for k, v in i.items() if k != "category"}
                            for i in RES["items"]]}
    assert order_mismatches(old, terms(["apparel", None])) == []
    assert [d["path"] for d in order_mismatches(old, OrderTerms(
        "o-1", "m-1", [("LIP", 2, 10000), ("TEE", 1, 10000)], 2000, 0, ["x", "y"]))] == [
        "/items/0/quantity"]
