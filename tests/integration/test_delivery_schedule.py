"""Scheduled delivery end to end: planner → SQS → worker → effects, on both engines."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.delivery.windows import floor_quarter
from chalicelib.services.delivery import delivery
from tests.integration.delivery_support import (  # noqa: F401  (autouse fixture)
    INBOX_MSG,
    add_member,
    campaign,
    coupon_template,
    coupons,
    drain,
    fast_moto_transactions,
    inbox,
    install,
    sends,
    stats,
    tick_through,
    utc,
)

GIFT = [{"type": "issue_coupon", "template": "bday-gift"}, INBOX_MSG]
MATRIX = {
    # member: (tz, expected UTC fire time of 09:00 local on 2026-03-08, LA's DST change day)
    "sh": ("Asia/Shanghai", utc(2026, 3, 8, 1, 0)),
    "la": ("America/Los_Angeles", utc(2026, 3, 8, 16, 0)),  # PDT since 10:00 UTC
    "be": ("Europe/Berlin", utc(2026, 3, 8, 8, 0)),
    "ko": ("Asia/Kolkata", utc(2026, 3, 8, 3, 30)),
    "ch": ("Pacific/Chatham", utc(2026, 3, 7, 19, 15)),  # +13:45 in March
}


def test_timezone_matrix_each_member_gets_one_message_in_the_right_quarter_hour(engine):
    install(campaign({"type": "birthday", "at": "09:00"}, GIFT))
    coupon_template("bday-gift")
    for m, (tz, _) in MATRIX.items():
        add_member(m, tz, "1990-03-08", name=f"N-{m}")
    add_member("other-day", "Asia/Shanghai", "1990-03-09")
    ticks = tick_through(utc(2026, 3, 7, 18, 0), utc(2026, 3, 8, 17, 0))
    assert len(ticks) > 90
    for m, (_, fire) in MATRIX.items():
        msgs = inbox(m)
        assert len(msgs) == 1, m
        assert msgs[0]["title"] == f"生日快乐 N-{m}"
        # processed by the first planner run at or after the fire time: the same quarter-hour
        created = msgs[0]["created_at"]
        assert created == (floor_quarter(fire - timedelta(seconds=1)) + timedelta(minutes=15)
                           ).strftime("%Y-%m-%dT%H:%M:%S.000Z"), m
        [rec] = sends(m)
        assert rec["due_at"] == fire.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        assert rec["state"] == "delivered" and rec["occurrence"] == "2026"
        assert len(coupons(m)) == 1
    assert inbox("other-day") == []
    s = stats("bday")["totals"]
    assert s["targeted"] == 5 and s["delivered"] == 5 and s["coupons_issued"] == 5
    assert s["sent"]["inbox"] == 5

    # the scheduler invoked again over the same window changes nothing
    before = stats("bday")
    c = delivery.campaigns().get("bday")
    report = delivery.planner().plan([c], utc(2026, 3, 7, 18, 0), utc(2026, 3, 8, 17, 0),
                                     deferred=True)
    assert report.tasks == 5
    drain()
    assert stats("bday") == before
    for m in MATRIX:
        assert len(inbox(m)) == 1 and len(coupons(m)) == 1 and len(sends(m)) == 1


def test_29_february_birthdays_are_celebrated_on_28_february_in_a_common_year(engine):
    install(campaign({"type": "birthday", "at": "09:00"}))
    add_member("leap", "Asia/Shanghai", "2000-02-29")
    add_member("feb28", "Asia/Shanghai", "--02-28")
    tick_through(utc(2027, 2, 28, 0, 30), utc(2027, 2, 28, 1, 15))
    assert len(inbox("leap")) == 1 and len(inbox("feb28")) == 1


@pytest.mark.parametrize("engine", ["moto"], indirect=True)
def test_a_missed_run_catches_up(engine):
    install(campaign({"type": "birthday", "at": "09:00"}))
    add_member("a", "Asia/Shanghai", "1990-05-01")
    tick_through(utc(2026, 4, 30, 23, 0), utc(2026, 4, 30, 23, 0))
    # the planner is down for three hours; the next run covers the whole gap
    tick_through(utc(2026, 5, 1, 2, 0), utc(2026, 5, 1, 2, 0))
    assert len(inbox("a")) == 1
