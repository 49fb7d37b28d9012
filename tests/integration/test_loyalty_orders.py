"""Orders, refunds and the points books on moto and on DynamoDB Local."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.errors import AlreadyExists, NotFound, Unprocessable
from chalicelib.services import clock
from chalicelib.services.loyalty import loyalty, orders
from tests.loyalty_support import books, join, place, publish, refund, serialise_moto

T0 = datetime(2026, 3, 10, 4, tzinfo=UTC)


@pytest.fixture
def member(engine, monkeypatch):
    serialise_moto(monkeypatch)
    clock.freeze(T0)
    publish()
    join("m-1")
    return "m-1"


def test_a_replayed_order_returns_the_original_result_and_earns_once(member):
    first = place("o-1", amount=12345)
    again = place("o-1", amount=12345)
    assert again == first and first.points_earned == 123
    b = books(member)
    assert b["points"] == 123 and len(b["ledger"]) == 1 and len(b["lots"]) == 1
    assert b["loyalty"]["orders_count"] == 1


def test_reusing_an_order_id_with_different_content_is_a_conflict(member):
    place("o-1", amount=100)
    with pytest.raises(AlreadyExists):
        place("o-1", amount=200)


def test_orders_for_unknown_members_or_in_another_currency_are_rejected(member):
    with pytest.raises(NotFound):
        place("o-x", "nobody")
    from tests.loyalty_support import order

    body = order("o-y")
    body["currency"] = "USD"
    from chalicelib.domain.loyalty.orders import NewOrder

    with pytest.raises(Unprocessable):
        orders.record(NewOrder.model_validate(body | {"placed_at": T0}))


def test_twenty_concurrent_orders_for_one_member_lose_no_update(member):
    amounts = [1000 * (i + 1) for i in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda i: place(f"o-{i}", amount=amounts[i]), range(20)))
    b = books(member)
    assert b["points"] == sum(r.points_earned for r in results)
    # ¥1,000 in the window makes silver: exactly one order upgrades, later ones earn x1.25.
    assert [r.tier.after for r in results if r.tier.changed] == ["silver"]
    assert b["loyalty"]["tier"] == "silver"
    assert sum(r.points_earned for r in results) > sum(a // 100 for a in amounts)
    assert b["loyalty"]["orders_count"] == 20 and len(b["ledger"]) == 20
    assert b["loyalty"]["window"]["2026-03"] == {"spend": sum(amounts), "orders": 20}
    assert sum(r.first_order for r in results) == 1


def test_the_same_order_posted_concurrently_earns_exactly_once(member):
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: place("o-dup", amount=5000), range(8)))
    assert all(r == results[0] for r in results)
    assert books(member)["points"] == 50


def test_late_orders_count_in_the_month_they_were_placed(member):
    place("o-late", amount=7000, placed_at=T0 - timedelta(days=40))
    place("o-now", amount=3000)
    w = books(member)["loyalty"]["window"]
    assert w == {"2026-01": {"spend": 7000, "orders": 1}, "2026-03": {"spend": 3000, "orders": 1}}


def test_refund_after_partial_spend_allow_negative_books_debt_that_earnings_repay(member):
    place("o-1", amount=30000)  # 300 points
    loyalty.redeem(member, "tote")  # spends 100
    r = refund("o-1", {"refund_id": "rf-1", "amount": 30000})
    assert (r.points_reversed, r.debt_added, r.points_written_off) == (300, 100, 0)
    assert loyalty.points(member).available == -100
    b = books(member)
    assert b["debt"] == 100 and b["lots"] == []
    place("o-2", amount=15000)  # 150 points: 100 repay the debt, 50 are kept
    assert loyalty.points(member).available == 50
    assert books(member)["debt"] == 0


def test_refund_after_partial_spend_reverse_remaining_writes_off_the_spent_part(member):
    publish(points={"expiry_months": 12, "pending_days": 0,
                    "refund_policy": "reverse_remaining"})
    place("o-1", amount=30000)
    loyalty.redeem(member, "tote")
    r = refund("o-1", {"refund_id": "rf-1", "items": [{"sku": "SKU-1", "quantity": 1}]})
    assert (r.points_reversed, r.points_written_off, r.debt_added) == (200, 100, 0)
    assert loyalty.points(member).available == 0
    assert books(member)["debt"] == 0


def test_a_refund_counts_once_per_refund_id_and_never_exceeds_the_order(member):
    place("o-1", amount=10000, qty=3)
    r1 = refund("o-1", {"refund_id": "rf-1", "items": [{"sku": "SKU-1", "quantity": 1}]})
    assert refund("o-1", {"refund_id": "rf-1", "items": [{"sku": "SKU-1", "quantity": 1}]}) == r1
    with pytest.raises(AlreadyExists):
        refund("o-1", {"refund_id": "rf-1", "amount": 5})
    with pytest.raises(Unprocessable):
        refund("o-1", {"refund_id": "rf-2", "items": [{"sku": "SKU-1", "quantity": 3}]})
    with ThreadPoolExecutor(max_workers=6) as pool:
        out = list(pool.map(lambda _: refund("o-1", {"refund_id": "rf-3", "items": [
            {"sku": "SKU-1", "quantity": 2}]}), range(6)))
    assert all(o == out[0] for o in out) and out[0].fully_refunded
    b = books(member)
    assert b["points"] == 0 and b["loyalty"]["window"]["2026-03"] == {"spend": 0, "orders": 0}


def test_concurrent_refunds_of_one_order_never_reverse_more_than_it_earned(member):
    place("o-1", amount=1000, qty=10)  # 100 points
    def go(i: int):
        try:
            return refund("o-1", {"refund_id": f"rf-{i}", "items": [
                {"sku": "SKU-1", "quantity": 3}]})
        except Unprocessable:
            return None
    with ThreadPoolExecutor(max_workers=6) as pool:
        done = [r for r in pool.map(go, range(6)) if r]
    assert len(done) == 3 and sum(r.points_reversed for r in done) == 90
    assert books(member)["points"] == 10
