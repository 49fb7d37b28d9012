"""Checkout with the loyalty service, templates' stock, the center and request budgets."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.adapters import keys
from chalicelib.domain.coupons.checkout import QuoteRequest, ReservationRequest
from chalicelib.errors import Conflict, LimitReached, SoldOut, Unprocessable
from chalicelib.services import clock
from chalicelib.services.coupons import checkout, coupons
from tests.coupon_support import cart, register, save_template, set_tier, template
from tests.loyalty_support import place, publish, refund

CART = cart(("A", "food", 2, 30000), shipping_fee=1000)


def _reserve(order_id: str, coupon_ids: list[str], member: str = "m-1") -> None:
    checkout.reserve(member, ReservationRequest.model_validate(
        {"order_id": order_id, "coupon_ids": coupon_ids, "cart": CART}))


def _coupon(member: str, cid: str) -> dict:
    return coupons.repo().get(keys.member_coupon(member, cid))


def test_an_order_with_a_reservation_confirms_it_and_a_full_refund_restores(engine):
    publish()
    register("m-1")
    save_template("d11", template("满500减100", {"type": "threshold", "threshold": 50000,
                                                "amount": 10000}))
    save_template("gift", template("gift", {"type": "gift", "sku": "G-1"},
                                   restore_on_refund=False))
    a = coupons.claim("m-1", "d11").coupon_id
    b = coupons.claim("m-1", "gift").coupon_id
    _reserve("o-1", [a, b])
    placed = place("o-1", "m-1", sku="A", category="food", amount=30000, qty=2, shipping=1000,
                   reservation_id="o-1", discount=10000)  # the reserved cart, as ordered
    assert placed.points_earned > 0
    assert checkout.get("o-1").status == "confirmed"
    assert _coupon("m-1", a)["status"] == _coupon("m-1", b)["status"] == "used"
    assert checkout.confirm("o-1").status == "confirmed"  # replay: still one use
    assert _coupon("m-1", a)["uses"] == 1
    result = refund("o-1", {"refund_id": "r-1", "items": [{"sku": "A", "quantity": 2}]})
    assert result.fully_refunded and result.coupons_restored == 1
    assert _coupon("m-1", a)["status"] == "available"  # restore_on_refund (default)
    assert _coupon("m-1", b)["status"] == "used"  # restore_on_refund: false


def test_an_expired_coupon_is_not_restored_by_a_refund(engine):
    publish()
    register("m-1")
    save_template("short", template("short", validity={
        "starts_at": "2020-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z",
        "days_after_claim": 1}))
    cid = coupons.claim("m-1", "short").coupon_id
    _reserve("o-2", [cid])
    place("o-2", "m-1", sku="A", category="food", amount=30000, qty=2, shipping=1000,
          reservation_id="o-2", discount=1000)
    clock.freeze(clock.now() + timedelta(days=2))
    result = refund("o-2", {"refund_id": "r-1", "items": [{"sku": "A", "quantity": 2}]})
    assert result.coupons_restored == 0 and _coupon("m-1", cid)["status"] == "used"


def test_an_order_cannot_confirm_another_members_reservation(engine):
    publish()
    register("m-1")
    register("m-2")
    save_template("tt", template("tt"))
    cid = coupons.claim("m-1", "tt").coupon_id
    _reserve("o-3", [cid])
    with pytest.raises(Conflict):
        place("o-3", "m-2", reservation_id="o-3")


def test_a_reward_redemption_issues_a_full_coupon_the_quote_can_use(engine):
    publish()
    register("m-1")
    save_template("tpl-20-off", template("¥20 off", {"type": "fixed", "amount": 2000},
                                         claimable=False))
    place("o-9", "m-1", amount=100000)
    from chalicelib.services.loyalty import loyalty

    r = loyalty.redeem("m-1", "coupon-20")
    q = checkout.quote_for("m-1", QuoteRequest.model_validate({"cart": CART}))
    assert q.best.coupon_ids == [r.coupon_id] and q.best.discount == 2000
    with pytest.raises(Unprocessable):  # not claimable from the center
        coupons.claim("m-1", "tpl-20-off")


def test_audience_limits_claims_by_tier_and_by_new_members(engine):
    publish()
    register("m-1")
    register("m-2")
    set_tier("m-2", "gold", orders_count=3)
    save_template("gold", template("gold", {"type": "percent", "percent_off": 10},
                                   audience={"min_tier": "gold"}))
    save_template("new", template("new", {"type": "no_threshold", "amount": 500},
                                  audience={"new_members_only": True}))
    with pytest.raises(Unprocessable) as e:
        coupons.claim("m-1", "gold")
    assert e.value.details[0]["message"] == "TIER_REQUIRED"
    assert coupons.claim("m-2", "gold").template_id == "gold"
    assert coupons.claim("m-1", "new").template_id == "new"
    with pytest.raises(Unprocessable) as e:
        coupons.claim("m-2", "new")
    assert e.value.details[0]["message"] == "NEW_MEMBERS_ONLY"
    assert [c.template_id for c in coupons.center("m-2")] == []
    set_tier("m-1", "member", orders_count=0)
    assert [c.template_id for c in coupons.center("m-1")] == []


def test_stock_edits_move_the_shards_and_cannot_go_below_what_was_claimed(engine):
    register("m-1")
    save_template("ss", template("ss", limits={"stock": 10, "stock_shards": 3,
                                             "per_member_claim": 5}))
    for _ in range(4):
        coupons.claim("m-1", "ss")
    assert coupons.get_template("ss").remaining == 6
    assert save_template("ss", template("ss", limits={"stock": 15, "stock_shards": 3,
                                                    "per_member_claim": 5})).remaining == 11
    assert save_template("ss", template("ss", limits={"stock": 4, "stock_shards": 3,
                                                    "per_member_claim": 5})).remaining == 0
    with pytest.raises(SoldOut):
        coupons.claim("m-1", "ss")
    with pytest.raises(Conflict):
        save_template("ss", template("ss", limits={"stock": 3, "stock_shards": 3,
                                                 "per_member_claim": 5}))
    with pytest.raises(Conflict):
        save_template("ss", template("ss", limits={"stock": 4, "stock_shards": 2,
                                                 "per_member_claim": 5}))
    assert coupons.get_template("ss").version == 3


def test_the_center_lists_what_the_member_can_claim_now(engine):
    register("m-1")
    save_template("open", template("open", limits={"stock": 2}))
    save_template("once", template("once"))
    save_template("later", template("later", validity={
        "starts_at": "2090-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z"}))
    save_template("hidden", template("hidden", claimable=False))
    assert {(c.template_id, c.remaining) for c in coupons.center("m-1")} == {
        ("open", 2), ("once", None)}
    coupons.claim("m-1", "once")
    with pytest.raises(LimitReached):
        coupons.claim("m-1", "once")
    assert [c.template_id for c in coupons.center("m-1")] == ["open"]


def test_request_budgets_claim_quote_reserve_confirm(engine):
    from bench.common import counting

    register("m-1")
    save_template("tt", template("tt", limits={"stock": 100, "stock_shards": 4,
                                               "per_member_claim": 5}))
    coupons.claim("m-1", "tt")  # warm the program cache
    with counting() as c:
        cid = coupons.claim("m-1", "tt").coupon_id
    assert c.total(writes_only=False) <= 2 and dict(c.calls).get(
        "dynamodb.TransactWriteItems") == 1 and c.total(writes_only=True) == 1
    with counting() as c:
        checkout.quote_for("m-1", QuoteRequest.model_validate({"cart": CART}))
    assert c.total(writes_only=False) <= 2 and c.total(writes_only=True) == 0
    _reserve("o-1", [cid])
    with counting() as c:
        checkout.confirm("o-1")
    assert c.total(writes_only=True) == 1 and c.total() == 2


def test_a_claim_repeated_with_the_same_request_key_issues_one_coupon(engine):
    register("m-1")
    save_template("keyed", template("keyed", limits={"stock": 5, "per_member_claim": 5}))
    first = coupons.claim("m-1", "keyed", request_key="k-1")
    again = coupons.claim("m-1", "keyed", request_key="k-1")
    assert again.coupon_id == first.coupon_id
    assert len(coupons.wallet("m-1")) == 1 and coupons.get_template("keyed").remaining == 4
    assert coupons.claim("m-1", "keyed", request_key="k-2").coupon_id != first.coupon_id
