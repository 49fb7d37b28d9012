"""A campaign that issues the best-fitting template of a list: delivery ranks per member (the
coupon center's pure ranking), issues that one and records the pick on the send record."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import aws, keys
from chalicelib.domain.coupons.template import parse_template
from chalicelib.domain.delivery.work import Task
from chalicelib.services import clock
from chalicelib.services.coupons import coupons as coupon_service
from chalicelib.services.delivery import delivery
from tests.integration.delivery_support import (  # noqa: F401  (autouse fixture)
    add_member,
    campaign,
    coupons,
    fast_moto_transactions,
    inbox,
    install,
    sends,
    stats,
    utc,
)

NOW = utc(2026, 11, 12, 4, 0)


def template(tid: str, name: str, category: str, ends: str = "2030-01-01T00:00:00+08:00"
             ) -> None:
    t = parse_template({"template_id": tid, "name": name, "benefit": {
        "type": "fixed", "amount": 500}, "scope": {"include_categories": [category]},
        "validity": {"starts_at": "2020-01-01T00:00:00+08:00", "ends_at": ends}})
    coupon_service.put_template(tid, t, "test")


def habits(member_id: str, cat: dict[str, int], locale: str = "zh-CN") -> None:
    """A member whose orders left these decayed category scores on its LOYALTY summary."""
    add_member(member_id, locale=locale)
    aws.table().put_item(Item={**keys.member_loyalty(member_id), "version": 3,
                               "orders_count": 3, "lifetime_spend": 9000,
                               "facts": {"v": 1, "at": "2026-11-09", "cat": cat,
                                         "weeks": {"2026-11-09": [3, 9000]}}})


def habit_campaign() -> Any:
    return campaign({"type": "event", "event": "signup"},
                    [{"type": "issue_coupon",
                      "coupon": {"best_of": ["tea-5", "coffee-5", "bakery-5"]}},
                     {"type": "message", "channels": ["inbox"],
                      "content": {"zh-CN": {"title": "送你一张券", "body": "{{ coupon.title }}"},
                                  "en": {"title": "A coupon", "body": "{{ coupon.title }}"}}}],
                    id="habit", delivery={"quiet_hours": None, "cap_class": "service"})


def signup(*members: str) -> None:
    clock.freeze(NOW)
    try:
        delivery.worker().run_tasks([Task("habit", f"signup#{m}", m, clock.iso(),
                                          event={"type": "signup"}) for m in members])
    finally:
        clock.freeze(None)


def test_each_member_gets_the_template_of_its_habit_and_the_send_says_which(engine):
    install(habit_campaign())
    template("tea-5", "茶饮 ¥5", "tea")
    template("coffee-5", "咖啡 ¥5", "coffee")
    template("bakery-5", "烘焙 ¥5", "bakery")
    habits("m-coffee", {"coffee": 6000, "tea": 1000, "bakery": 3000})
    habits("m-bread", {"bakery": 5000, "tea": 2000}, locale="en")
    signup("m-coffee", "m-bread")

    assert [c["template_id"] for c in coupons("m-coffee")] == ["coffee-5"]
    assert [c["template_id"] for c in coupons("m-bread")] == ["bakery-5"]
    assert [m["body"] for m in inbox("m-coffee")] == ["咖啡 ¥5"]
    [sent] = sends("m-coffee")
    assert sent["coupon_choices"] == [{"of": ["tea-5", "coffee-5", "bakery-5"],
                                       "chosen": "coffee-5", "reason": "affinity"}]
    assert sends("m-bread")[0]["coupon_choices"][0]["chosen"] == "bakery-5"
    assert stats("habit")["totals"]["delivered"] == 2

    signup("m-coffee")  # a replay issues nothing more
    assert len(coupons("m-coffee")) == 1


def test_an_ended_template_is_never_picked_and_no_history_picks_deterministically(engine):
    install(habit_campaign())
    template("tea-5", "茶饮 ¥5", "tea")
    template("coffee-5", "咖啡 ¥5", "coffee", ends="2026-06-01T00:00:00+08:00")  # ended
    template("bakery-5", "烘焙 ¥5", "bakery")
    habits("m-coffee", {"coffee": 9000, "tea": 500, "bakery": 500})
    add_member("m-new")  # no LOYALTY item at all
    signup("m-coffee", "m-new")

    assert [c["template_id"] for c in coupons("m-coffee")] == ["bakery-5"]  # tie: id order
    assert [c["template_id"] for c in coupons("m-new")] == ["bakery-5"]
    assert sends("m-new")[0]["coupon_choices"][0]["reason"] == "category"
