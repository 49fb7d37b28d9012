"""Lots: earliest-expiring first, lazy vesting and expiry; refunds line by line."""

from __future__ import annotations

import pytest

from chalicelib.domain.loyalty.program import RefundPolicy
from chalicelib.domain.loyalty.refunds import NewRefund, plan_refund
from chalicelib.domain.loyalty.wallet import Lot, balance, plan_expire, plan_reverse, plan_spend
from chalicelib.errors import InsufficientFunds, Unprocessable

NOW, TODAY = "2026-03-01T00:00:00.000Z", "2026-03-01"
A = Lot("a", 100, 100, "2026-05-01T00:00:00.000Z", "2026-01-01")
B = Lot("b", 100, 60, "2026-04-01T00:00:00.000Z", "2026-01-01")
PENDING = Lot("p", 50, 50, "2026-06-01T00:00:00.000Z", "2026-03-10")
GONE = Lot("x", 70, 70, "2026-02-01T00:00:00.000Z", "2025-01-01")


def test_spending_consumes_the_earliest_expiring_vested_lots_first():
    takes = plan_spend([A, B, PENDING], 0, 80, TODAY, NOW)
    assert [(t.lot.lot_id, t.points) for t in takes] == [("b", 60), ("a", 20)]


def test_pending_and_expired_points_cannot_be_spent():
    with pytest.raises(InsufficientFunds):
        plan_spend([A, PENDING, GONE], 0, 101, TODAY, NOW)


def test_balance_is_lazy_pending_vests_by_date_and_expired_lots_stop_counting():
    b = balance([A, B, PENDING, GONE], 0, TODAY, NOW)
    assert (b.available, b.pending) == (160, 50)
    assert b.expiring[0] == ("2026-04-01T00:00:00.000Z", 60)
    later = balance([A, B, PENDING, GONE], 0, "2026-03-10", NOW)
    assert (later.available, later.pending) == (210, 0)


def test_debt_reduces_what_can_be_spent():
    with pytest.raises(InsufficientFunds):
        plan_spend([A], 30, 71, TODAY, NOW)


def test_expiry_takes_what_remains_of_lots_past_their_instant():
    assert [(t.lot.lot_id, t.points) for t in plan_expire([A, GONE], NOW)] == [("x", 70)]


def test_reverse_remaining_writes_off_what_was_already_spent():
    own = Lot("own", 100, 30, "2026-05-01T00:00:00.000Z", "2026-01-01")
    r = plan_reverse([own, A], 100, "own", RefundPolicy.reverse_remaining, TODAY, NOW)
    assert (r.reversed, r.written_off, r.debt_added) == (30, 70, 0)


def test_allow_negative_takes_other_lots_then_books_debt():
    own = Lot("own", 100, 30, "2026-05-01T00:00:00.000Z", "2026-01-01")
    r = plan_reverse([own, B], 100, "own", RefundPolicy.allow_negative, TODAY, NOW)
    assert [(t.lot.lot_id, t.points) for t in r.takes] == [("own", 30), ("b", 60)]
    assert (r.reversed, r.debt_added, r.written_off) == (100, 10, 0)


def lines():
    return [
        {"sku": "A", "quantity": 3, "qualifying": 1000, "points": 10},
        {"sku": "B", "quantity": 1, "qualifying": 501, "points": 5},
    ]


def test_partial_item_refunds_floor_cumulatively_and_the_last_one_reverses_the_rest():
    first = plan_refund(lines(), NewRefund(refund_id="r1", items=[{"sku": "A", "quantity": 1}]))
    assert (first.value, first.points) == (333, 3)
    second = plan_refund(first.lines, NewRefund(refund_id="r2",
                                                items=[{"sku": "A", "quantity": 2}]))
    assert (second.value, second.points) == (667, 7)
    assert not second.fully_refunded
    last = plan_refund(second.lines, NewRefund(refund_id="r3",
                                               items=[{"sku": "B", "quantity": 1}]))
    assert (last.points, last.fully_refunded) == (5, True)


def test_amount_refunds_spread_over_lines_and_cannot_exceed_the_order():
    p = plan_refund(lines(), NewRefund(refund_id="r1", amount=1501))
    assert (p.value, p.points, p.fully_refunded) == (1501, 15, True)
    with pytest.raises(Unprocessable) as e:
        plan_refund(lines(), NewRefund(refund_id="r1", amount=1502))
    assert e.value.details[0]["path"] == "/amount"


def test_refunding_more_units_than_bought_or_unknown_skus_is_rejected_with_a_path():
    with pytest.raises(Unprocessable) as e:
        plan_refund(lines(), NewRefund(refund_id="r", items=[{"sku": "A", "quantity": 4}]))
    assert e.value.details[0]["path"] == "/items/0/quantity"
    with pytest.raises(Unprocessable) as e:
        plan_refund(lines(), NewRefund(refund_id="r", items=[{"sku": "Z", "quantity": 1}]))
    assert e.value.details[0]["path"] == "/items/0/sku"


def test_a_fully_refunded_order_cannot_be_refunded_again():
    done = plan_refund(lines(), NewRefund(refund_id="r1", amount=1501)).lines
    with pytest.raises(Unprocessable):
        plan_refund(done, NewRefund(refund_id="r2", items=[{"sku": "A", "quantity": 1}]))
