"""Broadcasts (segmented Scan, members parked until their local time) and the key-query
event triggers (inactive, points expiring)."""

from __future__ import annotations

from chalicelib.adapters import aws, keys
from chalicelib.services.delivery import delivery
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


# --- a rehearsal walks a whole occurrence across time zones ---------------------------------

SPRING = {"type": "holiday", "calendar": "CN", "holidays": ["Spring Festival"], "at": "09:00",
          "local_time": True}
# Spring Festival 2027 is 6 February: 09:00 is 01:00Z in Shanghai, 08:00Z in Berlin (CET),
# 17:00Z in Vancouver (PST)
WALK = {"sh": ("Asia/Shanghai", "2027-02-06T01:00:00.000Z"),
        "be": ("Europe/Berlin", "2027-02-06T08:00:00.000Z"),
        "va": ("America/Vancouver", "2027-02-06T17:00:00.000Z")}


def spring_festival() -> None:
    from tests.integration.delivery_support import drain

    install(campaign(SPRING, [INBOX_MSG], id="spring-festival", delivery=PUSHLESS))
    for m, (tz, _) in WALK.items():
        add_member(m, tz)
    return drain


def delivered_at() -> dict[str, list[str]]:
    return {m: [msg["created_at"] for msg in inbox(m)] for m in WALK}


def test_successive_runs_walk_an_occurrence_through_later_time_zones(engine, monkeypatch):
    from datetime import datetime

    drain = spring_festival()
    # The walk spans 16 hours (Shanghai to Vancouver): a 17-hour catch-up holds all of it and
    # reads half the due buckets of the default 36 (each run reads every quarter of it).
    monkeypatch.setattr(delivery.planner(), "catchup_hours", 17)

    def run(at: str) -> None:
        delivery.run_campaign("spring-festival", datetime.fromisoformat(at))
        drain()

    run("2027-02-06T09:00:00+08:00")
    assert delivered_at() == {"sh": [WALK["sh"][1]], "be": [], "va": []}  # others parked
    run("2027-02-06T09:00:00+01:00")
    assert delivered_at() == {"sh": [WALK["sh"][1]], "be": [WALK["be"][1]], "va": []}
    run("2027-02-06T09:00:00-08:00")  # planned nothing before: Vancouver never got it
    assert delivered_at() == {m: [due] for m, (_, due) in WALK.items()}
    assert sends("va")[0]["due_at"] == WALK["va"][1]
    for at in ("2027-02-06T09:00:00+08:00", "2027-02-06T09:00:00+01:00",
               "2027-02-06T09:00:00-08:00"):
        run(at)  # rehearsing again delivers nothing twice
    assert delivered_at() == {m: [due] for m, (_, due) in WALK.items()}
    s = stats("spring-festival")["totals"]
    assert s["delivered"] == 3 and s["targeted"] == 3


def test_a_span_rehearsal_steps_through_the_planner_windows_like_the_scheduler(engine):
    from datetime import datetime

    drain = spring_festival()
    windows = delivery.rehearse("spring-festival",
                                datetime.fromisoformat("2027-02-06T09:00:00+08:00"),
                                datetime.fromisoformat("2027-02-06T09:00:00-08:00"),
                                after_each=lambda report: drain())
    assert len(windows) == 16 * 4 + 1  # 01:00Z..17:00Z in quarter-hour windows
    assert [w.end for w in windows][:2] == ["2027-02-06T01:00:00.000Z",
                                            "2027-02-06T01:15:00.000Z"]
    # each member at their own 09:00, by the window that holds it, exactly once
    assert delivered_at() == {m: [due] for m, (_, due) in WALK.items()}
    due = {m: sends(m)[0]["due_at"] for m in WALK}
    assert due == {m: d for m, (_, d) in WALK.items()}
    again = delivery.rehearse("spring-festival",
                              datetime.fromisoformat("2027-02-06T00:00:00Z"),
                              datetime.fromisoformat("2027-02-06T18:00:00Z"),
                              after_each=lambda report: drain())
    assert sum(r.scans for r in again) == 0  # the occurrence was scanned once
    assert delivered_at() == {m: [d] for m, (_, d) in WALK.items()}
    assert stats("spring-festival")["totals"]["delivered"] == 3
