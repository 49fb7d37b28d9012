"""Daily results counters written with the effects, read back by key (both engines)."""

from __future__ import annotations

import math

from chalicelib.adapters import aws, keys
from chalicelib.domain.delivery.work import Task
from chalicelib.services import clock
from chalicelib.services.campaigns import campaigns
from chalicelib.services.campaigns import results as campaign_results
from chalicelib.services.delivery import delivery, events
from tests.integration.delivery_support import (  # noqa: F401  (autouse fixture)
    INBOX_MSG,
    add_member,
    campaign,
    fast_moto_transactions,
    install,
    sends,
    stats,
)

EXPERIMENT = {"holdout_percent": 25, "variants": [
    {"id": "A", "weight": 1, "actions": [INBOX_MSG]},
    {"id": "B", "weight": 1, "actions": [INBOX_MSG]}]}


def _setup(n: int = 40):
    c = campaign({"type": "birthday"}, [INBOX_MSG], id="res", experiment=EXPERIMENT,
                 delivery={"quiet_hours": None})
    campaigns.put("res", c, "test")
    install(c)
    for i in range(n):  # a birthday campaign reaches members with a birthday on file
        add_member(f"m-{i:02d}", birthday="1990-03-02")
    return c


def _run(members: list[str], at: str) -> None:
    delivery.worker().run_tasks([Task("res", "2025", m, at) for m in members], sim=at)


def test_daily_counters_ride_with_each_effect_on_the_campaign_timezone_day(engine):
    _setup()
    members = [f"m-{i:02d}" for i in range(40)]
    _run(members, "2025-03-01T17:30:00.000Z")  # 01:30 on 2 March in Shanghai
    got = campaign_results.results("res", "2025-03-01", "2025-03-03")
    by_day = {d["day"]: d for d in got["days"]}
    assert by_day["2025-03-01"]["targeted"] == 0
    day = by_day["2025-03-02"]
    occ = stats("res")["totals"]
    assert day["targeted"] == 40 == occ["targeted"]
    assert day["delivered"] == occ["delivered"] and day["held_out"] == occ["held_out"]
    assert day["delivered"] + day["held_out"] == 40 and day["held_out"] > 0
    assert day["sent_inbox"] == occ["sent"]["inbox"] == day["delivered"]
    arms = {v["variant"]: v for v in got["variants"]}
    assert arms["A"]["delivered"] + arms["B"]["delivered"] == day["delivered"]
    assert got["holdout"]["members"] == day["held_out"]
    # a replay of the same tasks counts nothing twice (the send record guards the counters)
    _run(members, "2025-03-01T17:45:00.000Z")
    again = campaign_results.results("res", "2025-03-01", "2025-03-03")
    assert again["totals"] == got["totals"]

    # a redemption counts on its own day, for the arm on the member's send record
    treated = next(s for s in sends("m-00") + sends("m-01") + sends("m-02") + sends("m-03")
                   if s["state"] == "delivered")
    e = {"id": "redeemed-c-9", "type": "coupon_redeemed", "member_id": treated["member_id"],
         "coupon_id": "c-9", "source_ref": f"res#2025#{treated['member_id']}#0",
         "at": "2025-03-03T02:00:00.000Z"}
    assert events.handle(e) == {"redeemed": 1}
    assert events.handle(e) == {"redeemed": 0}
    # an order attributed to the send: a converter on the order's day (campaign timezone)
    events.handle({"id": "order-o-1", "type": "order", "member_id": treated["member_id"],
                   "order": {"id": "o-1", "total": 9900, "placed_at": "2025-03-02T20:00:00Z"}})
    after = campaign_results.results("res", "2025-03-01", "2025-03-03")
    d3 = {d["day"]: d for d in after["days"]}["2025-03-03"]
    assert d3["coupons_redeemed"] == 1 and d3["converters_treated"] == 1
    assert d3["orders_treated"] == 1 and d3["revenue_treated"] == 9900
    arm = {v["variant"]: v for v in after["variants"]}[treated["variant"]]
    assert arm["coupons_redeemed"] == 1 and arm["converters_treated"] == 1
    assert after["totals"]["coupons_redeemed"] == stats("res")["totals"]["coupons_redeemed"]
    assert after["lift"]["verdict"] in ("insufficient", "no_difference", "significant_lift")


def _counting():
    from bench.common import counting

    return counting()


def test_a_90_day_results_read_is_at_most_3_requests_and_no_scan(engine):
    _setup(0)
    # 90 days x 10 shards of realistic items: every counter and two arms' counters set
    from chalicelib.domain.delivery.results import VARIANT_COUNTERS, days_between
    from chalicelib.domain.delivery.stats import COUNTERS

    days = days_between("2025-01-01", "2025-03-31")
    counters = {k: 123 for k in COUNTERS} | {f"{k}@{a}": 45 for k in VARIANT_COUNTERS
                                            for a in ("A", "B")}
    with aws.table().batch_writer() as batch:
        for day in days:
            for shard in range(keys.DAY_SHARDS):
                k = keys.campaign_day("res", day, "x")
                batch.put_item(Item={**k, "SK": f"{keys.DAY}{day}#{shard:02d}",
                                     "campaign_id": "res", "day": day, **counters})
    with _counting() as n:
        got = campaign_results.results("res", "2025-01-01", "2025-03-31")
    reads = {k: v for k, v in n.calls.items() if k.startswith("dynamodb.")}
    assert len(got["days"]) == 90 and got["totals"]["delivered"] == 123 * 900
    assert "dynamodb.Scan" not in reads
    day_queries = reads.get("dynamodb.Query", 0)
    assert day_queries <= 3, reads
    # the campaign definition and budget are single-item reads besides the day Query
    assert sum(reads.values()) <= day_queries + 2, reads


def test_list_live_columns_come_from_a_bounded_batch_read(engine):
    c = _setup(12)
    clock.freeze(None)
    now = clock.iso()
    _run([f"m-{i:02d}" for i in range(12)], now)
    for i in range(3):
        other = campaign({"type": "recurring", "cron": "0 10 * * *"}, id=f"other-{i}")
        campaigns.put(f"other-{i}", other, "test")
    with _counting() as n:
        page = campaigns.page(None, 50, None, activity=True)
    items = {i["campaign_id"]: i for i in page["items"]}
    assert set(items) == {"res", "other-0", "other-1", "other-2"}
    res = items["res"]
    delivered = stats("res")["totals"]["delivered"]
    assert res["recent"]["delivered"][-1] == delivered and sum(res["recent"]["delivered"]) \
        == delivered and len(res["recent"]["days"]) == 7
    assert res["budget_used"] == {} or isinstance(res["budget_used"], dict)
    assert items["other-0"]["next_occurrence"] and items["other-0"]["recent"]["delivered"] \
        == [0] * 7
    assert res["next_occurrence"] is None  # birthdays fire per member
    batches = n.calls.get("dynamodb.BatchGetItem", 0)
    # per campaign: its recent shards, budget shards and legacy budget item; +1 request for
    # the listed CURRENT items (the index projects no documents), +1 for unprocessed keys
    assert 1 <= batches <= math.ceil(
        4 * (keys.DAY_SHARDS + keys.BUDGET_SHARDS + 1) / 100) + 2, n.calls
    assert "dynamodb.Scan" not in n.calls
    assert campaigns.page(None, 50, None)["items"][0].get("recent") is None
    del c


def _complaint(ticket: str, address: str) -> str:
    """An SES complaint event (as SNS delivers it) about an email carrying ``ticket``."""
    import json

    mail = {"messageId": "0100-ses", "destination": [address], "headersTruncated": False,
            "headers": [{"name": "List-Unsubscribe",
                         "value": f"<https://api.example.com/api/unsubscribe/{ticket}>"}]}
    return json.dumps({"eventType": "Complaint", "mail": mail, "complaint": {
        "complaintFeedbackType": "abuse", "feedbackId": "fb-1",
        "complainedRecipients": [{"emailAddress": address}]}})


def test_an_unsubscribe_counts_once_on_its_day_and_arm_with_the_consent_change(
        engine, api_on, monkeypatch):
    from datetime import UTC, datetime

    from chalicelib import config
    from chalicelib.domain.delivery import unsubscribe as tickets
    from chalicelib.services.members import consent_events

    monkeypatch.setenv("UNSUBSCRIBE_SECRET", "unsubscribe-key")
    config.reset()
    _setup(0)
    members = [f"u-{i}" for i in range(12)]
    for m in members:
        add_member(m, birthday="1990-03-02", email=f"{m}@example.com",
                   consent={"push": True, "sms": False, "email": True})
    _run(members, "2025-03-01T17:30:00.000Z")
    a, b = [s for m in members for s in sends(m) if s.get("variant")][:2]

    def ticket(member_id: str) -> str:
        return tickets.sign(["unsubscribe-key"], tickets.Ticket("email", member_id, "res"))

    clock.freeze(datetime(2025, 3, 2, 16, 30, tzinfo=UTC))  # 00:30 on 3 March in Shanghai
    for _ in range(2):  # the one-click POST twice: one consent change, one count
        resp = api_on.call("POST", f"/unsubscribe/{ticket(a['member_id'])}",
                           raw="List-Unsubscribe=One-Click",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert resp.json == {"status": "unsubscribed", "channel": "email"}
    # a complaint about the same email afterwards: consent is off already, nothing counts
    assert consent_events.email_feedback(
        _complaint(ticket(a["member_id"]), f"{a['member_id']}@example.com")) == {"already": 1}
    got = api_on.get("/admin/campaigns/res/results?from=2025-03-01&to=2025-03-03",
                     role="marketer").json
    by_day = {d["day"]: d["unsubscribed"] for d in got["days"]}
    assert by_day == {"2025-03-01": 0, "2025-03-02": 0, "2025-03-03": 1}
    assert got["totals"]["unsubscribed"] == 1
    arms = {v["variant"]: v["unsubscribed"] for v in got["variants"]}
    assert arms[a["variant"]] == 1 and sum(arms.values()) == 1

    # another member's complaint carrying the ticket: counted once too, for that member's arm
    assert consent_events.email_feedback(
        _complaint(ticket(b["member_id"]), f"{b['member_id']}@example.com")) == {"withdrawn": 1}
    after = campaign_results.results("res", "2025-03-01", "2025-03-03")
    assert after["totals"]["unsubscribed"] == 2
    arms = {v["variant"]: v["unsubscribed"] for v in after["variants"]}
    assert arms[b["variant"]] == (2 if b["variant"] == a["variant"] else 1)
