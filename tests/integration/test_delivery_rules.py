"""Consent, erasure, quiet hours, caps with priority, holdout, budget, limits."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib.adapters import aws
from chalicelib.services import clock
from chalicelib.services.delivery import delivery
from chalicelib.services.members import members
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
    queue_url,
    sends,
    stats,
    tick_through,
    utc,
)

PUSH = {"type": "message", "channels": ["push", "inbox"],
        "content": {"zh-CN": {"title": "双11", "body": "满500减100"}}}


class Recorder:
    """A push channel that records what it would send."""

    name = "push"
    transactional = False

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def reachable(self, member):
        return True

    def items(self, member, msg, at):
        return []

    def send(self, member, msg, delivery_id):
        from chalicelib.adapters.delivery.channels import Result

        self.sent.append((member["member_id"], clock.iso()))
        return Result(True)


def channels(push: Recorder) -> dict:
    from chalicelib.adapters.delivery.channels import InboxChannel

    return {"push": push, "inbox": InboxChannel()}


def test_revoked_consent_and_erased_members_get_nothing(engine):
    # require_consent: without any marketing consent the member gets nothing at all (without
    # it the inbox and coupons need no consent: test_delivery_effects_truth.py)
    install(campaign({"type": "birthday"}, [{"type": "issue_coupon", "template": "t1"},
                                            INBOX_MSG], delivery={"require_consent": True}))
    coupon_template("t1")
    add_member("yes", birthday="1990-06-01")
    add_member("no", birthday="1990-06-01", consent={"push": False, "sms": False,
                                                     "email": False})
    add_member("gone", birthday="1990-06-01")
    members.erase("gone")
    tick_through(utc(2026, 6, 1, 0, 45), utc(2026, 6, 1, 1, 0))
    assert len(inbox("yes")) == 1 and len(coupons("yes")) == 1
    assert inbox("no") == [] and coupons("no") == []
    assert inbox("gone") == [] and coupons("gone") == []
    s = stats("bday")["totals"]
    assert s["suppressed"]["consent"] == 1 and s["delivered"] == 1
    # an erased member reached by an event (no index involved) is suppressed, not served
    from chalicelib.domain.delivery.work import Task

    delivery.worker().run_tasks([Task("bday", "x-1", "gone", clock.iso())])
    assert stats("bday")["totals"]["suppressed"]["erased"] == 1
    assert coupons("gone") == []


def test_quiet_hours_defer_to_the_end_of_the_window_and_do_not_drop(engine):
    push = Recorder()
    install(campaign({"type": "once", "at": "2026-06-01T23:00:00+08:00"}, [PUSH], id="d11"),
            channels=channels(push))
    add_member("sh", "Asia/Shanghai")   # 23:00 local: quiet until 08:00 = 00:00Z
    add_member("be", "Europe/Berlin")   # 17:00 local: sent at once
    tick_through(utc(2026, 6, 1, 15, 0), utc(2026, 6, 1, 15, 0))
    assert [m for m, _ in push.sent] == ["be"]
    assert stats("d11")["totals"]["deferred"] == 1
    assert len(inbox("sh")) == 0
    tick_through(utc(2026, 6, 1, 15, 15), utc(2026, 6, 1, 23, 45))
    assert [m for m, _ in push.sent] == ["be"]
    tick_through(utc(2026, 6, 2, 0, 0), utc(2026, 6, 2, 0, 30))
    assert push.sent == [("be", "2026-06-01T15:00:00.000Z"), ("sh", "2026-06-02T00:00:00.000Z")]
    assert len(inbox("sh")) == 1 and len(inbox("be")) == 1
    s = stats("d11")["totals"]
    assert s["delivered"] == 2 and s["sent"]["push"] == 2 and s["deferred"] == 1


def test_frequency_cap_keeps_the_higher_priority_campaign(engine):
    low = campaign({"type": "birthday"}, [INBOX_MSG], id="low", priority=5)
    high = campaign({"type": "birthday"}, [INBOX_MSG], id="high", priority=50)
    install(low, high)
    for i in range(4):
        add_member(f"m{i}", birthday="1990-07-01")
    tick_through(utc(2026, 7, 1, 0, 45), utc(2026, 7, 1, 1, 0))
    for i in range(4):
        [rec] = [r for r in sends(f"m{i}") if r["state"] == "delivered"]
        assert rec["campaign_id"] == "high"
        assert len(inbox(f"m{i}")) == 1
    assert stats("low")["totals"]["suppressed"]["cap"] == 4
    assert stats("high")["totals"]["delivered"] == 4


def test_holdout_members_get_nothing_and_are_counted(engine):
    install(campaign({"type": "birthday"}, [INBOX_MSG], experiment={"holdout_percent": 50}))
    for i in range(30):
        add_member(f"h{i}", birthday="1990-08-01")
    tick_through(utc(2026, 8, 1, 0, 45), utc(2026, 8, 1, 1, 0))
    s = stats("bday")["totals"]
    assert s["targeted"] == 30 and s["held_out"] + s["delivered"] == 30
    assert 5 <= s["held_out"] <= 25
    got = sum(len(inbox(f"h{i}")) for i in range(30))
    assert got == s["delivered"]


@pytest.mark.parametrize("engine", ["moto", "dynamodb-local"], indirect=True)
def test_budget_stops_at_zero_under_concurrent_workers(engine):
    install(campaign({"type": "birthday"}, [{"type": "issue_coupon", "template": "t1"},
                                            INBOX_MSG], budget={"coupons": 7}))
    coupon_template("t1")
    for i in range(24):
        add_member(f"b{i:02d}", birthday="1990-09-01")
    c = delivery.campaigns().get("bday")
    from chalicelib.domain.delivery import work

    clock.freeze(utc(2026, 9, 1, 1, 0))
    # one entry per member, processed by eight concurrent workers (moto's in-process
    # transactions are not thread-safe — they deep-copy the table — so moto runs them in turn)
    tasks = delivery.planner()._birthdays(c, utc(2026, 9, 1, 0, 45), utc(2026, 9, 1, 1, 0), {})
    entries = work.pack(tasks, max_members=1)
    with ThreadPoolExecutor(8 if engine == "dynamodb-local" else 1) as pool:
        list(pool.map(lambda e: delivery.handle_entry(e.body()), entries))
    clock.freeze(None)
    issued = sum(len(coupons(f"b{i:02d}")) for i in range(24))
    assert issued == 7
    s = stats("bday")["totals"]
    assert s["coupons_issued"] == 7 and s["suppressed"]["budget"] == 17
    assert delivery.repo().budget_used("bday") == {"coupons": 7}


def test_per_member_limit_holds_across_occurrences(engine):
    install(campaign({"type": "recurring", "cron": "0 10 * * *"}, [INBOX_MSG], id="daily",
                     limits={"per_member": 2, "period": "campaign"},
                     delivery={"quiet_hours": None, "cap_class": "service"}))
    add_member("l1")
    for day in (1, 2, 3):
        tick_through(utc(2026, 10, day, 1, 45), utc(2026, 10, day, 2, 0))
    assert len(inbox("l1")) == 2
    assert stats("daily")["totals"]["suppressed"]["limit"] == 1


def test_sqs_requests_carry_many_members_per_entry(engine):
    install(campaign({"type": "birthday"}))
    for i in range(120):
        add_member(f"s{i:03d}", birthday="1990-11-11")
    report = delivery.tick(utc(2026, 11, 11, 1, 0))
    assert report.tasks == 120 and report.entries == 10 and report.sqs_requests == 1
    attrs = aws.client("sqs").get_queue_attributes(QueueUrl=queue_url(), AttributeNames=[
        "ApproximateNumberOfMessages"])["Attributes"]
    assert int(attrs["ApproximateNumberOfMessages"]) == 10
    drain()
