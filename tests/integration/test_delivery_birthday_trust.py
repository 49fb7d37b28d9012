"""A member with no birthday who sets it to today (PATCH /me) does not get this year's
birthday offer: a member-set birthday counts only once it has been on file 30 days before
the birthday. Through the delivery path (planner and worker), on both engines."""

from __future__ import annotations

from chalicelib.domain.delivery.work import Task
from chalicelib.domain.members.model import MemberPatch, NewMember
from chalicelib.services import clock
from chalicelib.services.delivery import delivery
from chalicelib.services.members import members
from tests.integration.delivery_support import (  # noqa: F401  (autouse fixture)
    INBOX_MSG,
    campaign,
    coupon_template,
    coupons,
    fast_moto_transactions,
    inbox,
    install,
    stats,
    tick_through,
    utc,
)

GIFT = [{"type": "issue_coupon", "template": "bday-gift"}, INBOX_MSG]


def _register(member_id: str, **fields: object) -> None:
    members.register(NewMember.model_validate({"member_id": member_id,
                                               "timezone": "Asia/Shanghai", **fields}))


def test_a_birthday_set_by_the_member_waits_30_days_then_counts_every_year(engine):
    install(campaign({"type": "birthday"}, GIFT))
    coupon_template("bday-gift")
    clock.freeze(utc(2026, 1, 10))
    _register("m-self")       # no birthday at registration
    _register("m-reg", birthday="1990-11-22")  # a trusted caller's birthday counts at once
    _register("m-early")
    members.update("m-early", MemberPatch(birthday="1990-11-22"), by_member=True)
    clock.freeze(utc(2026, 11, 22))  # on the day: the member sets its birthday to today
    members.update("m-self", MemberPatch(birthday="1990-11-22"), by_member=True)
    _register("m-op")
    members.correct("m-op", MemberPatch(birthday="1990-11-22"), "crm")  # operator: at once
    clock.freeze(None)

    tick_through(utc(2026, 11, 22, 0, 45), utc(2026, 11, 22, 1, 0))
    assert inbox("m-self") == [] and coupons("m-self") == []
    for member_id in ("m-reg", "m-early", "m-op"):
        assert len(inbox(member_id)) == 1 and len(coupons(member_id)) == 1, member_id
    assert stats("bday")["totals"]["delivered"] == 3

    # the worker holds the line too (a task planned before the rule, or replayed)
    profile = members.repo().require("m-self")
    outcome = delivery.worker().run_tasks([Task("bday", "2026", "m-self",
                                                "2026-11-22T01:00:00.000Z", profile=profile)])
    assert outcome == {"birthday_too_recent": 1}
    assert inbox("m-self") == [] and coupons("m-self") == []

    # a year on, the birthday has been on file long enough: it counts, once
    tick_through(utc(2027, 11, 22, 0, 45), utc(2027, 11, 22, 1, 0))
    assert len(inbox("m-self")) == 1 and len(coupons("m-self")) == 1
    assert len(inbox("m-reg")) == 2
