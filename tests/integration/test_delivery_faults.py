"""Delivery under injected faults: 20 % of DynamoDB and SQS calls fail (throttling, lost
responses after a commit, SQS redelivery), and still every eligible member gets exactly one
coupon, one inbox message and one push."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from chalicelib.adapters import aws
from chalicelib.local import events as lambda_events
from chalicelib.services import clock
from chalicelib.services.delivery import delivery
from tests.faults import FaultInjector
from tests.integration.delivery_support import (  # noqa: F401  (autouse fixture)
    INBOX_MSG,
    add_member,
    campaign,
    coupon_template,
    coupons,
    fast_moto_transactions,
    inbox,
    install,
    queue_url,
    sends,
    stats,
    utc,
)
from tests.integration.test_delivery_rules import Recorder, channels

ACTIONS = [{"type": "issue_coupon", "template": "gift"},
           {"type": "message", "channels": ["push", "inbox"],
            "content": {"zh-CN": {"title": "生日快乐", "body": "{{ coupon.title }}"}}}]
ZONES = ["Asia/Shanghai", "Europe/Berlin", "Asia/Kolkata", "America/Los_Angeles"]


def drain_under(faults: FaultInjector, rounds: int = 400) -> None:
    """The event source mapping: receive, invoke, delete successes; failures come back."""
    sqs = aws.client("sqs")
    url = queue_url()
    arn = "arn:aws:sqs:us-east-1:123456789012:delivery"
    for _ in range(rounds):
        with faults.paused():
            msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                       VisibilityTimeout=30).get("Messages", [])
        if not msgs:
            return
        resp = delivery.handle_batch({"Records": [lambda_events.sqs_record(m, arn, "us-east-1")
                                                  for m in msgs]})
        failed = {f["itemIdentifier"] for f in resp.get("batchItemFailures", [])}
        with faults.paused():
            for m in msgs:
                if m["MessageId"] in failed:
                    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m[
                        "ReceiptHandle"], VisibilityTimeout=0)
        for m in msgs:  # deletes go through the injector too: redelivery happens
            if m["MessageId"] not in failed:
                try:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                except Exception:  # a failed delete is a redelivery later: fine
                    # (unless the delete went through before its answer was lost)
                    with faults.paused(), contextlib.suppress(ClientError):
                        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m[
                            "ReceiptHandle"], VisibilityTimeout=0)
    raise AssertionError("queue did not drain")


THROTTLE = ("throttle",)
MIXED = ("throttle", "timeout_after_commit", "redeliver")


@pytest.mark.parametrize(("engine", "kinds"), [("moto", THROTTLE), ("moto", MIXED),
                                               ("dynamodb-local", MIXED)], indirect=["engine"])
def test_every_eligible_member_gets_exactly_one_coupon_and_one_message(engine, kinds):
    push = Recorder()
    install(campaign({"type": "birthday", "at": "09:00"}, ACTIONS), channels=channels(push))
    coupon_template("gift")
    eligible = []
    for i in range(24):
        m = f"f{i:02d}"
        add_member(m, ZONES[i % len(ZONES)], "1990-12-01", name=m)
        eligible.append(m)
    add_member("quiet", "Asia/Shanghai", "1990-12-01",
               consent={"push": False, "sms": False, "email": False})

    with FaultInjector(ratio=0.2, seed=11, kinds=kinds) as faults:
        t = utc(2026, 11, 30, 18, 0)
        while t <= utc(2026, 12, 1, 18, 0):
            clock.freeze(t)
            for _attempt in range(5):  # a failed scheduled run is retried (async invoke)
                try:
                    delivery.tick(t)
                    break
                except Exception:
                    continue
            else:
                raise AssertionError("planner kept failing")
            drain_under(faults)
            t += timedelta(hours=1)
        clock.freeze(None)
        assert sum(faults.injected[k] for k in kinds) > 20, faults.report()
        with faults.paused():
            for m in eligible:
                assert len(coupons(m)) == 1, (m, sends(m), faults.report())
                assert len(inbox(m)) == 1, m
                assert len([s for s in sends(m) if s["state"] == "delivered"]) == 1
            assert sorted(m for m, _ in push.sent) == eligible
            # consent is per channel: no push for "quiet", but its coupon and inbox message,
            # exactly once like everyone else's
            assert len(coupons("quiet")) == 1 and len(inbox("quiet")) == 1
            s = stats("bday")["totals"]
    assert s["delivered"] == 25 and s["coupons_issued"] == 25
    assert s["sent"]["push"] == 24 and s["sent"]["inbox"] == 25
    assert s["suppressed"].get("consent", 0) == 0 and s["targeted"] == 25


# --- push and SMS at least once: the outbox ------------------------------------------------

GREETING = {"type": "message", "channels": ["push", "sms", "inbox"],
            "content": {"zh-CN": {"title": "生日快乐", "body": "送你一张券"}}}
MESSAGE_ID = "bday:2026-06-01:m1"


class Spy:
    """Wraps a real channel (moto's SNS) and records the message id of every send."""

    transactional = False

    def __init__(self, inner):
        self.inner, self.name, self.ids = inner, inner.name, []

    def reachable(self, member):
        return True

    def items(self, member, msg, at):
        return []

    def send(self, member, msg, delivery_id):
        res = self.inner.send(member, msg, delivery_id)
        self.ids.append(delivery_id)
        return res


def outbox_setup(channels_used=("push", "sms")):
    from chalicelib.adapters.delivery.channels import InboxChannel, PushChannel, SmsChannel
    from chalicelib.domain.delivery.work import Task
    from chalicelib.domain.members.model import Device
    from chalicelib.services.members import members

    spies = {"push": Spy(PushChannel()), "sms": Spy(SmsChannel())}
    msg = {**GREETING, "channels": [*channels_used, "inbox"]}
    install(campaign({"type": "birthday", "at": "09:00"}, [msg]),
            channels={**spies, "inbox": InboxChannel()})
    add_member("m1", "Asia/Shanghai", "1990-06-01", phone="+8613800138000")
    members.add_device("m1", Device(platform="android", token="android-token-m1"))
    t0 = utc(2026, 6, 1, 1, 0)
    clock.freeze(t0)
    return spies, Task("bday", "2026-06-01", "m1", clock.iso(t0)), t0


def pushed_ids() -> list[str]:
    """delivery_id of every push moto's SNS received (the app dedupes on it)."""
    import json

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns import sns_backends

    from chalicelib.config import get_settings

    backend = sns_backends[DEFAULT_ACCOUNT_ID][get_settings().region]
    return [json.loads(json.loads(raw)["GCM"])["data"]["delivery_id"]
            for ep in backend.platform_endpoints.values() for raw in ep.messages.values()]


def outbox_item(channel: str):
    from chalicelib.adapters import keys
    from tests.integration.delivery_support import item

    return item(keys.outbox_entry("m1", "bday", "2026-06-01", channel))


@pytest.mark.parametrize("engine", ["moto", "dynamodb-local"], indirect=True)
def test_a_worker_that_dies_after_its_commit_loses_no_push_or_sms(engine):
    from app import app
    from chalicelib.local.runner import fire_schedule
    from tests.faults.injector import WorkerCrashed

    spies, task, t0 = outbox_setup()
    with FaultInjector(ratio=1.0, kinds=("crash_after_commit",), services=("dynamodb",),
                       operations={"TransactWriteItems"}, limit=1) as faults, \
            pytest.raises(WorkerCrashed):
        delivery.worker().run_tasks([task])
    assert faults.injected["crash_after_commit"] == 1
    assert spies["push"].ids == [] and spies["sms"].ids == []
    assert len(inbox("m1")) == 1  # the commit happened: inbox exactly once
    assert outbox_item("push")["state"] == "pending"
    # SQS redelivers the task: the send record makes it a duplicate, nothing is sent twice
    delivery.worker().run_tasks([task])
    assert spies["push"].ids == [] and len(inbox("m1")) == 1
    # not stale yet: a live worker may still be sending
    assert delivery.sweep_outbox(t0 + timedelta(minutes=1))["stale"] == 0
    # the scheduled sweeper (registered in app.py, fired as EventBridge would) re-sends both
    clock.freeze(t0 + timedelta(minutes=6))
    report = fire_schedule("sweep-outbox", app=app)
    assert report["stale"] == 2 and report["sent"] == 2, report
    assert spies["push"].ids == [MESSAGE_ID] and spies["sms"].ids == [MESSAGE_ID]
    assert pushed_ids() == [MESSAGE_ID]
    assert outbox_item("push")["state"] == "sent" and "GSI2PK" not in outbox_item("push")
    # sent entries have left the index: later sweeps find nothing, nothing is sent again
    assert delivery.sweep_outbox(t0 + timedelta(days=1))["stale"] == 0
    clock.freeze(None)
    [record] = sends("m1")
    assert record["ch_push"] == "sent" and record["ch_sms"] == "sent"
    s = stats("bday")["totals"]
    assert s["sent"] == {"push": 1, "sms": 1, "inbox": 1, "webhook": 0, "email": 0}
    assert s["delivered"] == 1 and s["failed"] == 0 and len(inbox("m1")) == 1


@pytest.mark.parametrize("engine", ["moto", "dynamodb-local"], indirect=True)
def test_a_lost_mark_sent_is_resent_with_the_same_message_id(engine):
    spies, task, t0 = outbox_setup(("push",))
    # the provider call succeeds; every write after it (marking the entry sent) fails
    with FaultInjector(ratio=1.0, kinds=("throttle",), services=("dynamodb",),
                       operations={"TransactWriteItems", "UpdateItem"},
                       armed_by="sns.Publish") as faults:
        assert delivery.worker().run_tasks([task]) == {"delivered": 1}
    assert faults.injected["throttle"] > 0
    assert spies["push"].ids == [MESSAGE_ID]
    assert outbox_item("push")["state"] == "pending"
    report = delivery.sweep_outbox(t0 + timedelta(minutes=6))
    assert report["sent"] == 1, report
    # at least once: a duplicate, and it carries the same message id for the app to drop
    assert spies["push"].ids == [MESSAGE_ID, MESSAGE_ID]
    assert pushed_ids() == [MESSAGE_ID, MESSAGE_ID]
    assert delivery.sweep_outbox(t0 + timedelta(days=1))["stale"] == 0
    clock.freeze(None)
    s = stats("bday")["totals"]
    assert s["sent"]["push"] == 1 and s["failed"] == 0  # counted once
    assert len(inbox("m1")) == 1


@pytest.mark.parametrize("engine", ["moto", "dynamodb-local"], indirect=True)
def test_a_provider_that_keeps_failing_is_retried_with_backoff_then_dead_lettered(engine):
    from chalicelib.services.delivery import outbox as delivery_outbox

    spies, task, t0 = outbox_setup(("sms",))
    calls: list[str] = []

    def down(member, msg, delivery_id):
        calls.append(clock.iso())
        raise RuntimeError("provider down")

    spies["sms"].inner.send = down
    delivery.worker().run_tasks([task])
    assert len(calls) == 1 and outbox_item("sms")["state"] == "pending"
    t, sweeps = t0, []
    with FaultInjector(ratio=0.0, services=("dynamodb",)) as counting:
        for _ in range(24 * 12):  # every 5 minutes for a day
            t += timedelta(minutes=5)
            r = delivery.sweep_outbox(t)
            if r["stale"]:
                sweeps.append((t - t0, r))
    assert counting.calls["dynamodb.Scan"] == 0  # key queries on the sharded index only
    assert counting.calls["dynamodb.Query"] >= 24 * 12 * delivery_outbox.MAX_TRIES
    # tries: the worker's, then 5, 10, 20 and 40 minutes apart; the fifth failure gives up
    assert len(calls) == delivery_outbox.MAX_TRIES
    waits = [int(w.total_seconds() // 60) for w, _ in sweeps]
    assert waits == [5, 15, 35, 75], waits
    assert sweeps[-1][1]["dead_lettered"] == 1
    assert outbox_item("sms")["state"] == "dead" and "GSI2PK" not in outbox_item("sms")
    clock.freeze(None)
    s = stats("bday")["totals"]
    assert s["dead_lettered"] == 1 and s["failed_by_channel"]["sms"] == 1
    assert s["sent"]["inbox"] == 1
    [record] = sends("m1")
    assert record["ch_sms"] == "failed" and record["err_sms"] == "RuntimeError"
