"""Journeys end to end on both engines: entry by event or schedule, waits on the DUE index at
member-local times, branches on what happened, exactly once per entry, re-entry rules."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from chalicelib.adapters import keys
from chalicelib.domain.campaigns.validate import parse_campaign
from chalicelib.domain.coupons.checkout import ReservationRequest
from chalicelib.domain.delivery import policy
from chalicelib.services import clock
from chalicelib.services.coupons import checkout
from chalicelib.services.delivery import delivery, events
from tests.coupon_support import cart
from tests.integration.delivery_support import (  # noqa: F401  (autouse fixture)
    coupon_template,
    coupons,
    drain,
    fast_moto_transactions,
    inbox,
    install,
    item,
    sends,
    utc,
)
from tests.loyalty_support import books, join, place, publish

SAMPLES = Path(__file__).resolve().parents[2] / "campaigns"


def sample(name: str) -> Any:
    return parse_campaign(json.loads((SAMPLES / f"{name}.json").read_text()))


def state(member: str, campaign: str) -> dict[str, Any]:
    got = item(keys.journey_state(member, campaign))
    assert got is not None
    return got


def tick(at: Any) -> None:
    clock.freeze(at)
    delivery.tick(at)
    drain()


def due_work(at: Any) -> None:
    """The planner's deferred pass alone (the quarter-hour before ``at``): the DUE index."""
    clock.freeze(at)
    delivery.planner().plan([], at - timedelta(minutes=15), at, deferred=True)
    drain()


def signup(member: str) -> None:
    events.handle({"id": "signup", "type": "signup", "member_id": member, "at": clock.iso()})


def redeem_with_order(member: str, coupon_id: str, order_id: str, discount: int) -> None:
    """The member uses the coupon on an order (reserve, then the order confirms it)."""
    body = cart(("A", "food", 1, 10000))
    checkout.reserve(member, ReservationRequest.model_validate(
        {"order_id": order_id, "coupon_ids": [coupon_id], "cart": body}))
    place(order_id, member, sku="A", category="food", amount=10000,
          reservation_id=order_id, discount=discount)


def journey(campaign: str) -> dict[str, Any]:
    got = delivery.campaign_stats(campaign).journey
    assert got is not None
    return got


def test_onboarding_walks_each_member_through_its_branches_exactly_once(engine):
    install(sample("journey-onboarding"))
    coupon_template("new-member-5", amount=500)
    publish()
    join("keen", "quiet")
    clock.freeze(utc(2026, 3, 2, 1, 0))  # 09:00 in Shanghai
    signup("keen")
    signup("quiet")
    signup("quiet")  # the event again (stream replay): nothing more
    for m in ("keen", "quiet"):
        assert len(coupons(m)) == 1 and len(inbox(m)) == 1
        s = state(m, "journey-onboarding")
        assert (s["step"], s["status"], s["due"]) == ("day-3", "active",
                                                     "2026-03-05T02:00:00.000Z")
    [welcome] = coupons("keen")
    clock.freeze(utc(2026, 3, 3, 4, 0))
    redeem_with_order("keen", welcome["coupon_id"], "o-keen", 500)

    tick(utc(2026, 3, 5, 2, 0))  # day 3, 10:00 local: the reminder only if unused
    assert len(inbox("keen")) == 1
    assert [m["title"] for m in inbox("quiet")][-1] == "你的新人券还没用哦"
    tick(utc(2026, 3, 5, 2, 15))  # the next run finds nothing new
    assert len(inbox("quiet")) == 2
    assert state("quiet", "journey-onboarding")["step"] == "day-7"

    due_work(utc(2026, 3, 9, 2, 0))  # day 7: points for the member who ordered
    assert [m["title"] for m in inbox("keen")][-1] == "首单奖励 +200 积分"
    assert state("keen", "journey-onboarding")["status"] == "completed"
    assert state("quiet", "journey-onboarding")["status"] == "exited"
    assert len(inbox("quiet")) == 2
    balance = books("keen")["points"]
    due_work(utc(2026, 3, 9, 2, 15))
    due_work(utc(2026, 3, 9, 2, 0))  # the same window planned again: no second award
    assert books("keen")["points"] == balance
    j = journey("journey-onboarding")
    assert (j["entered"], j["active"], j["completed"], j["exited"]) == (2, 0, 1, 1)
    reached = {s["id"]: s["reached"] for s in j["steps"]}
    assert reached == {"welcome": 2, "day-3": 2, "coupon-used": 2, "reminder": 1,
                       "day-7": 2, "ordered": 2, "no-order": 1, "first-order-points": 1}
    assert {r["occurrence"] for r in sends("keen")} == {"signup", "signup@day-3",
                                                         "signup@day-7"}


def _treated(prefix: str, n: int) -> list[str]:
    """Member ids outside the win-back sample's 10 % holdout."""
    out = [f"{prefix}-{i}" for i in range(40)
           if not policy.held_out("journey-win-back", f"{prefix}-{i}", 10)]
    return out[:n]


def test_win_back_sends_a_bigger_coupon_five_days_later_unless_the_first_was_used(engine):
    install(sample("journey-win-back"))
    coupon_template("winback-10", amount=1000)
    coupon_template("winback-20", amount=2000)
    publish()
    back, lapsed = _treated("wb", 2)
    join(back, lapsed)
    clock.freeze(utc(2026, 1, 1, 4, 0))
    for m in (back, lapsed):
        place(f"first-{m}", m)
    tick(utc(2026, 3, 2, 2, 0))  # 60 days after the last order, 10:00 local
    for m in (back, lapsed):
        assert [c["template_id"] for c in coupons(m)] == ["winback-10"]
        assert state(m, "journey-win-back")["due"] == "2026-03-07T02:00:00.000Z"
    clock.freeze(utc(2026, 3, 4, 4, 0))
    redeem_with_order(back, coupons(back)[0]["coupon_id"], "o-back", 1000)
    due_work(utc(2026, 3, 7, 2, 0))  # (ticks would also re-plan the inactive trigger)
    assert [c["template_id"] for c in coupons(back)] == ["winback-10"]
    assert sorted(c["template_id"] for c in coupons(lapsed)) == ["winback-10", "winback-20"]
    assert state(back, "journey-win-back")["status"] == "exited"
    assert state(lapsed, "journey-win-back")["status"] == "completed"
    j = journey("journey-win-back")
    assert (j["entered"], j["active"], j["completed"], j["exited"]) == (2, 0, 1, 1)


def _order_journey(reentry: Any) -> Any:
    return parse_campaign({
        "id": "j-order", "name": "after each order", "status": "active",
        "window": {"start": "2020-01-01T00:00:00+00:00"},
        "trigger": {"type": "event", "event": "order"},
        "delivery": {"quiet_hours": None},
        "journey": {"reentry": reentry, "steps": [
            {"id": "thanks", "type": "action", "actions": [
                {"type": "issue_coupon", "template": "thanks-5"}]},
            {"id": "later", "type": "wait", "hours": 24},
            {"id": "again", "type": "action", "actions": [
                {"type": "issue_coupon", "template": "thanks-5"}]}]},
        "limits": {"per_member": 10, "period": "campaign"}})


def _order_event(member: str, n: int) -> None:
    events.handle({"id": f"order-{n}", "type": "order", "member_id": member,
                   "at": clock.iso(), "order": {"id": f"o-{n}", "total": 100, "points": 0}})


def test_reentry_after_days_waits_for_the_end_and_the_days_never_lets_in_again(engine):
    install(_order_journey({"after_days": 10}), _order_journey("never").model_copy(
        update={"id": "j-once"}))
    coupon_template("thanks-5")
    join("r")
    start = utc(2026, 5, 1, 4, 0)
    clock.freeze(start)
    _order_event("r", 1)
    clock.freeze(start + timedelta(hours=2))
    _order_event("r", 2)  # still in both journeys: no second entry
    assert len(coupons("r")) == 2
    tick(start + timedelta(hours=24))
    assert len(coupons("r")) == 4
    clock.freeze(start + timedelta(days=5))
    _order_event("r", 3)  # ended, but only 5 days after entering: too soon / never
    assert len(coupons("r")) == 4
    clock.freeze(start + timedelta(days=11))
    _order_event("r", 4)  # 11 days after: j-order lets the member in again, j-once not
    assert len(coupons("r")) == 5
    assert state("r", "j-order")["entry"] == "order-4"
    assert state("r", "j-once")["entry"] == "order-1"
    assert journey("j-order")["entered"] == 2 and journey("j-once")["entered"] == 1


def test_concurrent_entries_of_one_member_start_the_journey_once(engine):
    from concurrent.futures import ThreadPoolExecutor

    install(_order_journey("never"))
    coupon_template("thanks-5")
    join("race")
    clock.freeze(utc(2026, 5, 1, 4, 0))
    with ThreadPoolExecutor(4 if engine == "dynamodb-local" else 1) as pool:
        list(pool.map(lambda n: _order_event("race", n), range(4)))
    assert len(coupons("race")) == 1
    assert journey("j-order")["entered"] == 1
    assert state("race", "j-order")["seq"] == 1
