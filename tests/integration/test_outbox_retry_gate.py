"""Outbox retries ask again what the first try asked: consent per channel, the campaign's
status, erasure and quiet hours (postponed, not spent)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.services import clock
from chalicelib.services.delivery import delivery
from tests.faults import FaultInjector
from tests.integration.delivery_support import (  # noqa: F401  (autouse fixture)
    fast_moto_transactions,
    install,
    sends,
    stats,
)
from tests.integration.test_delivery_faults import MESSAGE_ID, outbox_item, outbox_setup

BOTH = pytest.mark.parametrize("engine", ["moto", "dynamodb-local"], indirect=True)


def left_pending(channels_used=("push", "sms")):
    """The worker commits, then dies before calling the providers: entries stay pending."""
    from tests.faults.injector import WorkerCrashed

    spies, task, t0 = outbox_setup(channels_used)
    with FaultInjector(ratio=1.0, kinds=("crash_after_commit",), services=("dynamodb",),
                       operations={"TransactWriteItems"}, limit=1), \
            pytest.raises(WorkerCrashed):
        delivery.worker().run_tasks([task])
    assert spies["push"].ids == [] and outbox_item("push")["state"] == "pending"
    return spies, t0


def with_status(status: str) -> None:
    """Re-install the birthday campaign with another status (as a marketer's pause would)."""
    from tests.integration.delivery_support import campaign

    old = delivery.worker()
    install(campaign({"type": "birthday", "at": "09:00"},
                     [{"type": "message", "channels": ["push", "sms", "inbox"],
                       "content": {"zh-CN": {"title": "生日快乐", "body": "送你一张券"}}}],
                     status=status), channels=old.channels)


def totals():
    clock.freeze(None)
    return stats("bday")["totals"]


@BOTH
def test_a_retry_after_push_consent_was_withdrawn_is_stopped_and_counted(engine):
    from chalicelib.domain.members.model import MemberPatch
    from chalicelib.services.members import members

    spies, t0 = left_pending()
    members.update("m1", MemberPatch.model_validate(
        {"consent": {"push": False, "sms": True}}))
    report = delivery.sweep_outbox(t0 + timedelta(minutes=6))
    assert report["stopped"] == 1 and report["sent"] == 1, report
    assert spies["push"].ids == [] and spies["sms"].ids == [MESSAGE_ID]
    push = outbox_item("push")
    assert push["state"] == "failed" and push["error"] == "consent_withdrawn"
    assert "GSI2PK" not in push  # left the sweeper's index
    assert delivery.sweep_outbox(t0 + timedelta(days=1))["stale"] == 0
    [record] = sends("m1")
    assert record["ch_push"] == "failed" and record["err_push"] == "consent_withdrawn"
    s = totals()
    assert s["outbox_stopped"]["consent_withdrawn"] == 1
    assert s["failed_by_channel"]["push"] == 1 and s["sent"]["sms"] == 1


@BOTH
@pytest.mark.parametrize("status", ["paused", "ended"])
def test_retries_of_a_paused_or_ended_campaign_stop(engine, status):
    spies, t0 = left_pending()
    with_status(status)
    report = delivery.sweep_outbox(t0 + timedelta(minutes=6))
    assert report["stopped"] == 2 and report["sent"] == 0, report
    assert spies["push"].ids == [] and spies["sms"].ids == []
    reason = f"campaign_{status}"
    assert outbox_item("push")["error"] == reason and outbox_item("sms")["error"] == reason
    assert totals()["outbox_stopped"][reason] == 2


@BOTH
def test_a_retry_for_a_member_marked_erased_is_stopped(engine):
    from chalicelib.adapters import keys
    from chalicelib.adapters.members.repository import MemberRepository

    spies, t0 = left_pending(("push",))
    MemberRepository().table.update_item(  # erased flag only, as a half-done erasure leaves
        Key=keys.member_profile("m1"), UpdateExpression="SET erased = :t",
        ExpressionAttributeValues={":t": True})
    report = delivery.sweep_outbox(t0 + timedelta(minutes=6))
    assert report["stopped"] == 1 and spies["push"].ids == [], report
    assert outbox_item("push")["error"] == "erased"
    assert totals()["outbox_stopped"]["erased"] == 1


@BOTH
def test_a_retry_in_quiet_hours_is_postponed_to_the_window_end_without_spending_a_try(engine):
    spies, t0 = left_pending(("push",))  # t0 is 09:00 Shanghai; quiet hours 22:00-08:00
    night = t0 + timedelta(hours=13, minutes=30)  # 22:30 Shanghai
    report = delivery.sweep_outbox(night)
    assert report["postponed"] == 1 and report["sent"] == 0, report
    assert spies["push"].ids == []
    entry = outbox_item("push")
    assert entry["state"] == "pending" and entry["tries"] == 1
    assert entry["retry_at"].startswith(clock.iso(t0 + timedelta(hours=23))[:16])  # 08:00
    assert delivery.sweep_outbox(night + timedelta(hours=2))["stale"] == 0  # still night
    morning = t0 + timedelta(hours=23, minutes=1)
    report = delivery.sweep_outbox(morning)
    assert report["sent"] == 1, report
    assert spies["push"].ids == [MESSAGE_ID]


# --- erasure --------------------------------------------------------------------------------

@BOTH
def test_erasure_stops_pending_sends_and_removes_every_rendered_outbox_message(engine):
    from chalicelib.services.members import members

    spies, t0 = left_pending()
    assert outbox_item("push")["message"]["title"] == "生日快乐"
    members.erase("m1")
    for ch in ("push", "sms"):
        entry = outbox_item(ch)
        assert "message" not in entry, entry
        assert entry["state"] == "failed" and entry["error"] == "erased"
        assert "GSI2PK" not in entry and "GSI2SK" not in entry  # left the sweeper's index
    assert delivery.sweep_outbox(t0 + timedelta(minutes=6))["stale"] == 0
    assert spies["push"].ids == [] and spies["sms"].ids == []
    [record] = sends("m1")
    assert record["ch_push"] == "failed" and record["err_push"] == "erased"
    assert totals()["outbox_stopped"]["erased"] == 2


@BOTH
def test_erasure_also_blanks_the_messages_of_sends_already_finished(engine):
    from chalicelib.services.members import members

    _spies, task, _ = outbox_setup(("push",))
    assert delivery.worker().run_tasks([task]) == {"delivered": 1}
    assert outbox_item("push")["state"] == "sent" and outbox_item("push")["message"]
    members.erase("m1")
    entry = outbox_item("push")
    assert "message" not in entry and entry["state"] == "sent"
    assert totals()["outbox_stopped"]["erased"] == 0
