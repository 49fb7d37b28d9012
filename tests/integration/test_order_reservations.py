"""POST /orders with reservation_id: the order must be the reserved order, earns on what was
paid per line, and confirms the reservation in its own transaction (moto and DynamoDB Local)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from chalicelib.adapters import keys
from chalicelib.domain.coupons.checkout import ReservationRequest
from chalicelib.errors import Conflict
from chalicelib.services import clock
from chalicelib.services.coupons import checkout, coupons
from tests.coupon_support import cart, register, save_template, template
from tests.loyalty_support import PROGRAM, books, publish, serialise_moto

BIG = cart(("TV-55", "appliance", 1, 120000))  # ¥1,200
SPLIT = cart(("LIP-07", "beauty", 1, 10000), ("TEE-01", "apparel", 1, 10000))


def _order(order_id: str, body: dict[str, Any], member: str = "m-1", *,
           discount: int, shipping: int = 0, **extra: Any) -> dict[str, Any]:
    """An order body repeating ``body``'s cart lines (categories dropped unless given)."""
    return {"order_id": order_id, "member_id": member, "currency": "CNY",
            "items": [{"sku": i["sku"], "category": i["category"], "quantity": i["quantity"],
                       "unit_price": i["unit_price"]} for i in body["items"]],
            "shipping_fee": shipping, "discount_total": discount,
            "placed_at": clock.now().isoformat(), "reservation_id": order_id, **extra}


def _place(body: dict[str, Any]) -> Any:
    from chalicelib.domain.loyalty.orders import NewOrder
    from chalicelib.services.loyalty import orders

    return orders.record(NewOrder.model_validate_json(json.dumps(body)))


def _reserve(order_id: str, coupon_ids: list[str], body: dict[str, Any],
             member: str = "m-1") -> Any:
    return checkout.reserve(member, ReservationRequest.model_validate(
        {"order_id": order_id, "coupon_ids": coupon_ids, "cart": body}))


def _status(cid: str, member: str = "m-1") -> str:
    return coupons.repo().get(keys.member_coupon(member, cid))["status"]


@pytest.fixture
def shop(engine, monkeypatch):
    serialise_moto(monkeypatch)
    publish()
    register("m-1")
    save_template("cny-1000-200", template("满1000减200", {"type": "threshold",
                                                        "threshold": 100000, "amount": 20000}))
    save_template("lip-20", template("美妆立减20", {"type": "fixed", "amount": 2000},
                                     scope={"include_categories": ["beauty"]}))
    return engine


def test_a_200_yuan_order_cannot_confirm_a_1000_minus_200_reservation(shop):
    cid = coupons.claim("m-1", "cny-1000-200").coupon_id
    _reserve("o-1", [cid], BIG)
    small = _order("o-1", BIG, discount=20000)
    small["items"][0].update(sku="MUG-01", unit_price=20000)
    with pytest.raises(Conflict) as e:
        _place(small)
    assert e.value.code == "CONFLICT"
    diffs = {d["path"]: (d["reserved"], d["order"]) for d in e.value.details}
    assert diffs == {"/items/0/sku": ("TV-55", "MUG-01"),
                     "/items/0/unit_price": (120000, 20000)}
    assert all(d["reason"] == "RESERVATION_MISMATCH" and d["message"] for d in e.value.details)
    # nothing happened: the hold stands, no order, no points
    assert checkout.get("o-1").status == "held" and _status(cid) == "reserved"
    assert books("m-1")["points"] == 0
    from chalicelib.services.loyalty import orders

    assert orders.repo().get(keys.order("o-1")) is None


def test_an_order_that_leaves_out_the_discount_is_refused_not_paid_points_on_it(shop):
    cid = coupons.claim("m-1", "cny-1000-200").coupon_id
    _reserve("o-2", [cid], BIG)
    with pytest.raises(Conflict) as e:
        _place(_order("o-2", BIG, discount=0))
    assert [(d["path"], d["reserved"], d["order"]) for d in e.value.details] == [
        ("/discount_total", 20000, 0)]
    extra = _order("o-2", BIG, discount=20000, shipping=800)
    extra["items"].append({"sku": "BAG", "quantity": 1, "unit_price": 100})
    extra["items"][0]["quantity"] = 2
    with pytest.raises(Conflict) as e:
        _place(extra)
    assert {d["path"] for d in e.value.details} == {"/items", "/items/0/quantity",
                                                    "/shipping_fee"}
    placed = _place(_order("o-2", BIG, discount=20000))
    assert placed.points_earned == 1000 and placed.qualifying_spend == 100000  # ¥1,000 paid
    assert checkout.get("o-2").status == "confirmed" and _status(cid) == "used"


def test_another_members_reservation_reports_the_member_not_that_cart(shop):
    register("m-2")
    cid = coupons.claim("m-1", "cny-1000-200").coupon_id
    _reserve("o-3", [cid], BIG)
    with pytest.raises(Conflict) as e:
        _place(_order("o-3", BIG, member="m-2", discount=0))
    assert [(d["path"], d["reserved"], d["order"]) for d in e.value.details] == [
        ("/member_id", "m-1", "m-2")]


def test_points_follow_the_reservations_line_allocation(shop):
    cid = coupons.claim("m-1", "lip-20").coupon_id
    res = _reserve("o-4", [cid], SPLIT)
    assert [ln.discount for ln in res.lines] == [2000, 0]  # all of it on the lipstick
    placed = _place(_order("o-4", SPLIT, discount=2000))
    by_sku = {ln["sku"]: ln for ln in placed.model_dump()["lines"]}
    # beauty earns x2 on ¥80 paid, apparel x1 on ¥100 (a proportional split would say 180+90)
    assert by_sku["LIP-07"]["qualifying"] == 8000 and by_sku["LIP-07"]["points"] == 160
    assert by_sku["TEE-01"]["qualifying"] == 10000 and by_sku["TEE-01"]["points"] == 100
    assert placed.points_earned == 260 and books("m-1")["points"] == 260


def test_replays_with_an_idempotency_key_confirm_once_and_earn_once(api_on, engine,
                                                                    monkeypatch):
    serialise_moto(monkeypatch)
    api = api_on
    assert api.put("/admin/program", role="admin", body=PROGRAM).status_code < 300
    assert api.post("/members", role="service", body={"member_id": "m-1"}).status_code == 201
    assert api.put("/admin/coupon-templates/cny-1000-200", role="marketer", body=template(
        "满1000减200", {"type": "threshold", "threshold": 100000, "amount": 20000}),
    ).status_code == 201
    cid = api.post("/me/coupons", role="member", body={"template_id": "cny-1000-200"}
                   ).json["coupon_id"]
    r = api.post("/checkout/reservations", role="member",
                 body={"order_id": "o-5", "coupon_ids": [cid], "cart": BIG})
    assert r.status_code == 201, r.json
    key = {"Idempotency-Key": "order-o-5"}
    wrong = api.post("/orders", role="service", body=_order("o-5", BIG, discount=0),
                     headers=key)
    assert wrong.status_code == 409 and wrong.json["error"]["details"][0]["path"] == \
        "/discount_total"
    body = _order("o-5", BIG, discount=20000)
    first = api.post("/orders", role="service", body=body, headers=key)  # corrected, same key
    again = api.post("/orders", role="service", body=body, headers=key)
    plain = api.post("/orders", role="service", body=body)
    assert [first.status_code, again.status_code, plain.status_code] == [201, 201, 201]
    assert first.json == again.json == plain.json and first.json["points_earned"] == 1000
    assert api.get("/me/points", role="member").json["available"] == 1000
    coupon = coupons.repo().get(keys.member_coupon("m-1", cid))
    assert coupon["status"] == "used" and int(coupon["uses"]) == 1
    assert api.get("/checkout/reservations/o-5", role="member").json["status"] == "confirmed"


def _together(**calls: Any) -> dict[str, Any]:
    """Start every call at once on its own thread: name → result or what it raised."""
    start = threading.Barrier(len(calls))
    got: dict[str, Any] = {}

    def run(name: str, fn: Any) -> None:
        start.wait(timeout=30)
        try:
            got[name] = fn()
        except Exception as e:  # the test looks at what each side raised
            got[name] = e

    threads = [threading.Thread(target=run, args=item) for item in calls.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return got


def test_an_order_racing_a_release_either_confirms_or_is_refused_never_both(shop):
    rounds = 6
    save_template("race", template("满1000减200", {"type": "threshold", "threshold": 100000,
                                                "amount": 20000},
                                   limits={"per_member_claim": rounds}))
    outcomes = set()
    rounds_won: list[str] = []
    earned = 0
    for n in range(rounds):
        order_id = f"o-race-{n}"
        cid = coupons.claim("m-1", "race").coupon_id
        _reserve(order_id, [cid], BIG)
        body = _order(order_id, BIG, discount=20000)

        def late_release(o: str = order_id, delay: float = 0.02 * n) -> None:
            time.sleep(delay)  # later and later, so the order wins some rounds
            checkout.release(o)

        got = _together(order=lambda b=body: _place(b), release=late_release)
        status = checkout.get(order_id).status
        from chalicelib.services.loyalty import orders

        stored = orders.repo().get(keys.order(order_id))
        if isinstance(got["order"], Exception):
            assert isinstance(got["order"], Conflict), got
            assert got["release"] is None and status == "released" and stored is None
            assert _status(cid) == "available"
            assert got["order"].details[0]["status"] == "released"
            outcomes.add("released")
            rounds_won.append("released")
        else:
            assert isinstance(got["release"], Conflict), got
            assert status == "confirmed" and stored is not None and _status(cid) == "used"
            earned += got["order"].points_earned
            outcomes.add("confirmed")
            rounds_won.append("confirmed")
    b = books("m-1")  # the books balance, and hold exactly the winners' points
    assert b["points"] == earned
    assert b["loyalty"].get("orders_count", 0) == sum(o == "confirmed" for o in rounds_won)
    assert outcomes  # each round has exactly one winner (which one depends on timing)


def test_a_release_between_the_orders_check_and_its_commit_cancels_the_order(shop, monkeypatch):
    """The order's transaction names the reservation item: its version check fails, the
    order reads the reservation again and is refused as released (no points, no order)."""
    from chalicelib.services.loyalty import hooks as loyalty_hooks
    from chalicelib.services.loyalty import orders

    cid = coupons.claim("m-1", "cny-1000-200").coupon_id
    _reserve("o-6", [cid], BIG)
    real = loyalty_hooks.reservation_for_order
    calls = []

    def check_then_release(**kw: Any) -> Any:
        calls.append(kw["order_id"])
        out = real(**kw)
        if len(calls) == 1:
            checkout.release("o-6")  # lands after the check, before the order commits
        return out

    monkeypatch.setattr(loyalty_hooks, "reservation_for_order", check_then_release)
    with pytest.raises(Conflict) as e:
        _place(_order("o-6", BIG, discount=20000))
    assert len(calls) == 2  # read again after the named "reservation" item failed
    assert e.value.details[0]["reason"] == "RESERVATION_NOT_HELD"
    assert e.value.details[0]["status"] == "released"
    assert _status(cid) == "available" and books("m-1")["points"] == 0
    assert orders.repo().get(keys.order("o-6")) is None


def test_a_coupon_taken_after_the_hold_lapsed_is_reported_by_name(shop, monkeypatch):
    from datetime import timedelta

    from chalicelib.services.loyalty import hooks as loyalty_hooks

    register("m-2")
    cid = coupons.claim("m-1", "cny-1000-200").coupon_id
    _reserve("o-7", [cid], BIG)
    real = loyalty_hooks.reservation_for_order

    def check_then_steal(**kw: Any) -> Any:
        out = real(**kw)
        # the hold lapsed and a re-reservation of the same coupon under another order won
        clock.freeze(clock.now() + timedelta(minutes=20))
        _reserve("o-8", [cid], BIG)
        return out

    monkeypatch.setattr(loyalty_hooks, "reservation_for_order", check_then_steal)
    from chalicelib.errors import ReservationExpired

    with pytest.raises(ReservationExpired) as e:
        _place(_order("o-7", BIG, discount=20000))
    assert [(d["reason"], d["coupon_id"]) for d in e.value.details] == [
        ("RESERVATION_EXPIRED", cid)]
    assert books("m-1")["points"] == 0
