"""Event-driven campaigns through the real path: table stream → events queue → worker."""

from __future__ import annotations

import pytest

from chalicelib.config import get_settings
from chalicelib.domain.members.model import NewMember
from chalicelib.services.delivery import delivery
from chalicelib.services.members import members
from tests.integration.delivery_support import (  # noqa: F401  (autouse fixture)
    add_member,
    campaign,
    coupon_template,
    coupons,
    fast_moto_transactions,
    inbox,
    install,
    sends,
    stats,
)
from tests.loyalty_support import place, publish

WELCOME = [{"type": "issue_coupon", "template": "welcome-5"},
           {"type": "message", "channels": ["inbox"],
            "content": {"zh-CN": {"title": "欢迎", "body": "{{ coupon.title }}"}}}]
BONUS = [{"type": "award_points", "points": 200, "reason": "first order bonus"},
         {"type": "message", "channels": ["inbox"],
          "content": {"zh-CN": {"title": "首单奖励", "body": "+200"}}}]


@pytest.fixture
def runner(engine):
    from app import app
    from chalicelib.local.runner import Runner

    r = Runner(app)
    for cfg in r.streams:  # app.py was imported under another test's table name
        cfg.stream_arn = get_settings().table_stream_arn
    assert r.poll_streams() == 0  # LATEST: the stream is read from now on
    return r


def settle(runner) -> None:
    """Stream → events queue → events worker, until nothing is left."""
    for _ in range(5):
        n = runner.poll_streams()
        runner.drain(get_settings().events_queue_name)
        if n == 0:
            return


def test_signup_gets_the_welcome_coupon_within_one_pass(runner):
    install(campaign({"type": "event", "event": "signup"}, WELCOME, id="welcome",
                     delivery={"quiet_hours": None}))
    coupon_template("welcome-5", amount=500)
    members.register(NewMember(member_id="new-1", consent={"push": True}))
    settle(runner)
    [c] = coupons("new-1")
    assert c["source"] == "campaign" and c["source_ref"].startswith("welcome#signup#new-1")
    [msg] = inbox("new-1")
    assert msg["body"] == "¥5 gift"
    # the stream and the queue are at least once: processing the event again sends nothing
    from chalicelib.services.delivery import events

    events.handle({"id": "signup", "type": "signup", "member_id": "new-1"})
    assert len(coupons("new-1")) == 1 and len(inbox("new-1")) == 1


def test_a_campaign_activated_a_moment_ago_gets_the_next_event(runner):
    """The events worker used to reuse its active-campaign list for 30 s: a signup right after
    the welcome campaign was activated (README: pause, resume, sign up) got nothing."""
    welcome = campaign({"type": "event", "event": "signup"}, WELCOME, id="welcome",
                       delivery={"quiet_hours": None})
    source = install()
    coupon_template("welcome-5", amount=500)
    members.register(NewMember(member_id="early-1"))
    settle(runner)  # an event batch while no campaign is active
    assert inbox("early-1") == []
    source.campaigns[welcome.id] = welcome  # activated now
    members.register(NewMember(member_id="new-2"))
    settle(runner)
    assert len(inbox("new-2")) == 1 and len(coupons("new-2")) == 1


def test_first_order_over_the_minimum_earns_bonus_points_and_is_attributed(runner):
    publish()
    install(campaign({"type": "event", "event": "first_order",
                      "params": {"min_order_total": 50000}}, BONUS, id="first-bonus",
                     delivery={"quiet_hours": None, "cap_class": "service"}),
            campaign({"type": "event", "event": "signup"}, WELCOME, id="welcome",
                     delivery={"quiet_hours": None}, experiment={"holdout_percent": 0}))
    coupon_template("welcome-5", amount=500)
    for m in ("big", "small"):
        members.register(NewMember(member_id=m, consent={"push": True}))
    settle(runner)
    place("o-big", "big", amount=60000)
    place("o-small", "small", amount=10000)
    settle(runner)
    [rec] = [s for s in sends("big") if s["campaign_id"] == "first-bonus"]
    assert rec["state"] == "delivered" and rec["occurrence"] == "first-order-o-big"
    assert [s for s in sends("small") if s["campaign_id"] == "first-bonus"] == []
    from chalicelib.services.loyalty import loyalty

    assert loyalty.points("big").available == 600 + 200
    s = stats("first-bonus")["totals"]
    assert s["points_awarded"] == 200 and s["delivered"] == 1
    w = stats("welcome")["totals"]
    assert w["orders_treated"] == 2 and w["revenue_treated"] == 70000
    assert w["converters_treated"] == 2 and w["order_rate_treated"] == 1.0
    # replaying the order event attributes nothing twice
    from chalicelib.services.delivery import events

    events.handle({"id": "order-o-big", "type": "order", "member_id": "big",
                   "order": {"id": "o-big", "total": 60000,
                             "placed_at": rec["decided_at"]}})
    assert stats("welcome")["totals"]["orders_treated"] == 2
    assert delivery.campaign_stats("welcome").totals.lift is None  # no holdout group


def test_redeemed_campaign_coupons_are_counted_once_with_their_discount(engine):
    from chalicelib.adapters import aws, keys
    from chalicelib.services.delivery import events

    install(campaign({"type": "birthday"}))
    aws.table().put_item(Item={**keys.reservation("o-7"), "order_id": "o-7", "coupons": [
        {"coupon_id": "c-1", "template_id": "t", "discount": 2000, "shipping_discount": 500}]})
    e = {"id": "redeemed-c-1", "type": "coupon_redeemed", "member_id": "m-1",
         "coupon_id": "c-1", "source_ref": "bday#2026#m-1#0", "order_id": "o-7"}
    assert events.handle(e) == {"redeemed": 1}
    assert events.handle(e) == {"redeemed": 0}  # the stream delivered it twice
    t = stats("bday")["totals"]
    assert t["coupons_redeemed"] == 1 and t["cost_minor"] == 2500
