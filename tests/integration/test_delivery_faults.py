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
from chalicelib.services import clock, delivery
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
            assert coupons("quiet") == [] and inbox("quiet") == []
            s = stats("bday")["totals"]
    assert s["delivered"] == 24 and s["coupons_issued"] == 24
    assert s["sent"]["push"] == 24 and s["sent"]["inbox"] == 24
    assert s["suppressed"]["consent"] == 1 and s["targeted"] == 25
