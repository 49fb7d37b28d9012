"""Broadcasts (segmented Scan, members parked until their local time) and the key-query
event triggers (inactive, points expiring)."""

from __future__ import annotations

from chalicelib.adapters import aws, keys
from chalicelib.services import delivery
from tests.integration.delivery_support import (  # noqa: F401  (autouse fixture)
    INBOX_MSG,
    add_member,
    campaign,
    fast_moto_transactions,
    inbox,
    install,
    sends,
    stats,
    tick_through,
    utc,
)

PUSHLESS = {"quiet_hours": None, "cap_class": "service"}


def test_local_time_holiday_broadcast_reaches_each_member_at_their_own_10_oclock(engine):
    install(campaign({"type": "holiday", "calendar": "CN", "holidays": ["Mid-Autumn Festival"],
                      "at": "10:00"}, [INBOX_MSG], id="moon", delivery=PUSHLESS,
                     audience={"attr": "tags", "op": "contains", "value": "vip"}))
    add_member("sh", "Asia/Shanghai", tags=["vip"])
    add_member("be", "Europe/Berlin", tags=["vip"])
    add_member("la", "America/Los_Angeles", tags=["vip"])
    add_member("no", "Asia/Shanghai", tags=["regular"])
    # Mid-Autumn 2026 is 25 September: 10:00 is 02:00Z in Shanghai, 08:00Z in Berlin (CEST),
    # 17:00Z in Los Angeles (PDT)
    tick_through(utc(2026, 9, 24, 12, 0), utc(2026, 9, 25, 18, 0))
    due = {m: sends(m)[0]["due_at"] for m in ("sh", "be", "la")}
    assert due == {"sh": "2026-09-25T02:00:00.000Z", "be": "2026-09-25T08:00:00.000Z",
                   "la": "2026-09-25T17:00:00.000Z"}
    for m in ("sh", "be", "la"):
        [msg] = inbox(m)
        assert msg["created_at"] == due[m]  # delivered by the run at that quarter-hour
    assert inbox("no") == []
    # the member set was scanned once, when the occurrence began in the world's first
    # timezone (UTC+14: 10:00 on the 25th is 20:00Z on the 24th); everyone was parked then
    marker = aws.table().get_item(Key=keys.broadcast_marker("moon", "2026-09-25"))["Item"]
    assert marker["enqueued_at"] == "2026-09-24T20:00:00.000Z"
    assert stats("moon")["totals"]["delivered"] == 3


def test_fixed_time_broadcast_is_scanned_once_even_when_planned_twice(engine):
    install(campaign({"type": "once", "at": "2026-11-11T10:00:00+08:00"}, [INBOX_MSG],
                     id="d11", delivery=PUSHLESS))
    for i in range(30):
        add_member(f"b{i}", ["Asia/Shanghai", "Europe/Berlin"][i % 2])
    tick_through(utc(2026, 11, 11, 1, 45), utc(2026, 11, 11, 2, 0))
    c = delivery.campaigns().get("d11")
    again = delivery.planner().plan([c], utc(2026, 11, 11, 1, 45), utc(2026, 11, 11, 2, 0))
    assert again.scans == 0 and again.tasks == 0
    assert all(len(inbox(f"b{i}")) == 1 for i in range(30))
    assert stats("d11")["totals"]["delivered"] == 30


def test_inactive_members_are_found_by_their_last_order_date(engine):
    install(campaign({"type": "event", "event": "inactive", "params": {"inactive_days": 60}},
                     [INBOX_MSG], id="win-back", delivery=PUSHLESS))
    for m, day in (("idle", "2026-03-01"), ("busy", "2026-04-20")):
        add_member(m, "Asia/Shanghai")
        aws.table().put_item(Item={**keys.member_loyalty(m), "member_id": m,
                                   "last_order_at": f"{day}T04:00:00.000Z",
                                   **keys.last_order_index(day, "Asia/Shanghai", m)})
    # 60 days after 1 March is 30 April; 10:00 in Shanghai is 02:00Z
    tick_through(utc(2026, 4, 30, 1, 45), utc(2026, 4, 30, 2, 15))
    [rec] = sends("idle")
    assert rec["occurrence"] == "inactive-2026-03-01" and rec["state"] == "delivered"
    assert sends("busy") == []


def test_points_expiring_reminds_members_with_lots_expiring_in_n_days(engine):
    install(campaign({"type": "event", "event": "points_expiring",
                      "params": {"days_before_expiry": 7}},
                     [{"type": "message", "channels": ["inbox"],
                       "content": {"zh-CN": {"title": "积分即将过期", "body": "x"}}}],
                     id="expiring", delivery=PUSHLESS))
    add_member("p1")
    for lot, pts in (("l1", 120), ("l2", 30)):
        aws.table().put_item(Item={**keys.member_lot("p1", "2026-06-08T16:00:00.000Z", lot),
                                   **keys.lot_expiry_index("2026-06-09", "p1", lot),
                                   "member_id": "p1", "lot_id": lot, "remaining": pts})
    # 7 days before 9 June, at 10:00 Shanghai (the campaign timezone)
    tick_through(utc(2026, 6, 2, 1, 45), utc(2026, 6, 2, 2, 0))
    [rec] = sends("p1")
    assert rec["occurrence"] == "expiring-2026-06-09"
    assert len(inbox("p1")) == 1
