"""The order vs its reservation (pure): differences listed, the reservation's split honoured."""

from __future__ import annotations

import pytest

from chalicelib.domain.coupons.checkout import OrderTerms, order_mismatches, reserved_line_discounts
from chalicelib.domain.loyalty.earning import Line, earn
from chalicelib.domain.loyalty.program import parse_program
from tests.loyalty_support import program

P = parse_program(program())
RES = {"order_id": "o-1", "member_id": "m-1", "discount": 20000, "shipping_fee": 1000,
       "shipping_discount": 1000, "subtotal": 120000,
       "items": [{"sku": "TV", "quantity": 1, "unit_price": 120000}],
       "lines": [{"sku": "TV", "discount": 20000}]}


def terms(**over) -> OrderTerms:
    base = {"order_id": "o-1", "member_id": "m-1", "lines": [("TV", 1, 120000)],
            "discount_total": 20000, "shipping_fee": 0}
    return OrderTerms(**{**base, **over})


def test_a_matching_order_has_no_differences_and_free_shipping_means_zero_fee():
    assert order_mismatches(RES, terms()) == []
    assert [d["path"] for d in order_mismatches(RES, terms(shipping_fee=1000))] == [
        "/shipping_fee"]


def test_reservations_kept_before_carts_were_stored_compare_skus_and_subtotal():
    legacy = {k: v for k, v in RES.items() if k != "items"}
    assert order_mismatches(legacy, terms()) == []
    diffs = order_mismatches(legacy, terms(lines=[("TV", 1, 20000)]))
    assert [(d["path"], d["reserved"], d["order"]) for d in diffs] == [("/items", 120000, 20000)]


def test_earning_takes_the_given_line_discounts_and_refuses_ones_that_do_not_fit():
    lines = [Line("a", None, 1, 10000), Line("b", None, 1, 10000)]
    e = earn(P, lines, 2000, 1.0, line_discounts=[2000, 0])
    assert [ln.qualifying for ln in e.lines] == [8000, 10000]
    for bad in ([1000, 0], [2000], [12000, -10000]):
        with pytest.raises(ValueError):
            earn(P, lines, 2000, 1.0, line_discounts=bad)
    with pytest.raises(ValueError):
        reserved_line_discounts({**RES, "discount": 1})
