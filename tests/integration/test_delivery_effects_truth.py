"""Delivery effects say the truth: points multipliers, per-channel consent, coupon expiry."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.delivery.work import Task
from chalicelib.services import clock
from chalicelib.services.coupons import coupons as coupon_service
from chalicelib.services.delivery import delivery
from chalicelib.services.delivery.effects import Effect, Effects
from chalicelib.services.loyalty.hooks import coupon_issue_items
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
    utc,
)


class PointsRecorder(Effects):
    """Real coupons; points recorded instead of awarded (no loyalty program needed)."""

    def __init__(self) -> None:
        super().__init__(issue_coupon=coupon_issue_items,
                         template_facts=coupon_service.template_facts)
        self.awarded: list[int] = []

    def points(self, member_id: str, points: int, *a: Any) -> Effect:
        self.awarded.append(points)
        return Effect(counters={"points_awarded": points}, spend={"points": points})


def test_an_order_multiplier_awards_the_exact_product(engine):
    fx = PointsRecorder()
    install(campaign({"type": "event", "event": "order"},
                     [{"type": "award_points", "multiplier": 1.15}], id="x115",
                     delivery={"quiet_hours": None}), effects=fx)
    add_member("m-1")
    clock.freeze(utc(2026, 6, 1, 4, 0))
    try:
        delivery.worker().run_tasks([Task("x115", "order#o-1", "m-1", clock.iso(),
                                          event={"type": "order", "points": 100})])
    finally:
        clock.freeze(None)
    assert fx.awarded == [115]  # float arithmetic gave 114


# --- consent is per channel -------------------------------------------------------------------

NO_CONSENT = {"push": False, "sms": False, "email": False}


class PushRecorder:
    name = "push"
    transactional = False

    def __init__(self) -> None:
        self.sent: list[str] = []

    def reachable(self, member: dict[str, Any]) -> bool:
        return True

    def items(self, member: dict[str, Any], msg: Any, at: Any) -> list[dict[str, Any]]:
        return []

    def send(self, member: dict[str, Any], msg: Any, delivery_id: str) -> Any:
        from chalicelib.adapters.delivery.channels import Result

        self.sent.append(member["member_id"])
        return Result(True)


def signup(member_id: str) -> None:
    """The welcome campaign's event task for a member, processed by the worker."""
    delivery.worker().run_tasks([Task("welcome", f"signup#{member_id}", member_id,
                                      clock.iso(), event={"type": "signup"})])


def welcome(channels: list[str], **delivery_options: Any) -> Any:
    return campaign({"type": "event", "event": "signup"},
                    [{"type": "issue_coupon", "template": "w5"},
                     {"type": "message", "channels": channels,
                      "content": {"zh-CN": {"title": "欢迎", "body": "{{ coupon.title }}"}}}],
                    id="welcome", delivery={"quiet_hours": None, "cap_class": "service",
                                            **delivery_options})


def test_a_member_without_push_consent_still_gets_the_welcome_inbox_message(engine):
    from chalicelib.adapters.delivery.channels import InboxChannel

    push = PushRecorder()
    install(welcome(["push", "inbox"]), channels={"push": push, "inbox": InboxChannel()})
    coupon_template("w5", amount=500)
    add_member("quiet", consent=NO_CONSENT)
    add_member("loud", consent={"push": True, "sms": False, "email": False})
    for m in ("quiet", "loud"):
        signup(m)
    assert [m["body"] for m in inbox("quiet")] == ["¥5 gift"]
    assert len(coupons("quiet")) == 1
    assert push.sent == ["loud"]  # push still needs push consent
    assert len(inbox("loud")) == 1
    s = stats("welcome")["totals"]
    assert s["delivered"] == 2 and s["suppressed"].get("consent", 0) == 0


def test_push_only_message_without_consent_still_issues_the_coupon(engine):
    from chalicelib.adapters.delivery.channels import InboxChannel

    push = PushRecorder()
    install(welcome(["push"]), channels={"push": push, "inbox": InboxChannel()})
    coupon_template("w5", amount=500)
    add_member("quiet", consent=NO_CONSENT)
    signup("quiet")
    assert len(coupons("quiet")) == 1 and inbox("quiet") == [] and push.sent == []
    [rec] = sends("quiet")
    assert rec["state"] == "delivered" and rec["channels"] == []


def test_push_only_message_and_nothing_else_is_suppressed_for_consent(engine):
    install(campaign({"type": "event", "event": "signup"},
                     [{"type": "message", "channels": ["push"],
                       "content": {"zh-CN": {"title": "t", "body": "b"}}}], id="welcome",
                     delivery={"quiet_hours": None}), channels={"push": PushRecorder()})
    add_member("quiet", consent=NO_CONSENT)
    signup("quiet")
    assert stats("welcome")["totals"]["suppressed"]["consent"] == 1


def test_require_consent_gives_nothing_to_members_without_marketing_consent(engine):
    from chalicelib.adapters.delivery.channels import InboxChannel

    install(welcome(["inbox"], require_consent=True), channels={"inbox": InboxChannel()})
    coupon_template("w5", amount=500)
    add_member("quiet", consent=NO_CONSENT)
    add_member("mail", consent={"push": False, "sms": False, "email": True})
    for m in ("quiet", "mail"):
        signup(m)
    assert inbox("quiet") == [] and coupons("quiet") == []
    assert len(inbox("mail")) == 1 and len(coupons("mail")) == 1
    assert stats("welcome")["totals"]["suppressed"]["consent"] == 1


# --- {{ coupon.expires_at }} is the issued coupon's own expiry ------------------------------

def template_valid_for(tid: str, days: int) -> None:
    """A coupon template that runs until 2031 whose coupons are valid ``days`` days."""
    from chalicelib.domain.coupons.template import parse_template
    from chalicelib.services.coupons import coupons as coupon_service

    t = parse_template({"template_id": tid, "name": "生日券",
                        "validity": {"starts_at": "2020-01-01T00:00:00+08:00",
                                     "ends_at": "2031-01-01T00:00:00+08:00",
                                     "days_after_claim": days},
                        "benefit": {"type": "fixed", "amount": 2000}})
    coupon_service.put_template(tid, t, "test")


def test_messages_promise_the_issued_coupons_own_expiry_in_member_time_and_locale(engine):
    from chalicelib.adapters.delivery.channels import InboxChannel

    install(campaign({"type": "event", "event": "signup"},
                     [{"type": "issue_coupon", "template": "bday-14"},
                      {"type": "message", "channels": ["inbox"], "content": {
                          "zh-CN": {"title": "{{ coupon.expires_at }}",
                                    "body": "{{ coupon.expires_at | date }}前有效"},
                          "en": {"title": "{{ coupon.expires_at }}",
                                 "body": "valid until {{ coupon.expires_at | date }}"}}}],
                     id="welcome", delivery={"quiet_hours": None, "cap_class": "service"}),
            channels={"inbox": InboxChannel()})
    template_valid_for("bday-14", 14)
    add_member("sh", "Asia/Shanghai", locale="zh-CN")
    add_member("la", "America/Los_Angeles", locale="en-US")
    clock.freeze(utc(2026, 6, 1, 4, 0))  # 12:00 in Shanghai, 21:00 the day before in LA
    try:
        for m in ("sh", "la"):
            signup(m)
    finally:
        clock.freeze(None)
    [c] = coupons("sh")
    assert c["valid_until"] == "2026-06-15T04:00:00.000Z"  # 14 days, not the template's 2031
    [msg] = inbox("sh")
    assert (msg["title"], msg["body"]) == ("2026年6月15日", "2026年6月15日前有效")
    [msg] = inbox("la")  # 2026-06-14 21:00 in Los Angeles
    assert (msg["title"], msg["body"]) == ("14 Jun 2026", "valid until 14 Jun 2026")
