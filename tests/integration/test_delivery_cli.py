"""`perks campaigns run|stats` and `perks outbox`, in process on moto."""

from __future__ import annotations

import json

from chalicelib.cli import main
from chalicelib.cli.delivery import mask, outbox_entries
from chalicelib.domain.members.model import Device
from chalicelib.services.campaigns import campaigns
from chalicelib.services.members import members
from tests.integration.delivery_support import (  # noqa: F401  (autouse fixture)
    INBOX_MSG,
    add_member,
    campaign,
    coupon_template,
    fast_moto_transactions,
    inbox,
)

PUSH_GIFT = [{"type": "issue_coupon", "template": "birthday-20"},
             {"type": "message", "channels": ["push", "inbox"],
              "content": {"zh-CN": {"title": "{{ name }}，生日快乐！",  # noqa: RUF001
                                    "body": "送你一张{{ coupon.title }}"}}}]


def test_run_fires_an_occurrence_and_outbox_lists_the_push(moto_stack, capsys):
    c = campaign({"type": "birthday", "at": "09:00"}, PUSH_GIFT, id="birthday-gift",
                 status="draft")
    campaigns.put("birthday-gift", c, "test")
    coupon_template("birthday-20")
    add_member("m-1", "Asia/Shanghai", "1990-03-08", name="李雷")
    members.add_device("m-1", Device(platform="android", token="android-token-123"))
    # a draft is refused
    assert main(["--stage", "test", "campaigns", "run", "birthday-gift",
                 "--at", "2026-03-08T09:00:00+08:00"]) == 1
    campaigns.set_status("birthday-gift", campaigns.Status.active, "test")
    assert main(["--stage", "test", "campaigns", "run", "birthday-gift",
                 "--at", "2026-03-08T09:00:00+08:00"]) == 0
    out = capsys.readouterr().out
    assert "1 member task(s)" in out and "TOTAL" in out
    assert len(inbox("m-1")) == 1
    # a second run of the same occurrence sends nothing again
    assert main(["--stage", "test", "campaigns", "run", "birthday-gift",
                 "--at", "2026-03-08T09:00:00+08:00"]) == 0
    assert len(inbox("m-1")) == 1
    capsys.readouterr()
    assert main(["--stage", "test", "outbox", "--json"]) == 0
    [line] = capsys.readouterr().out.strip().splitlines()
    entry = json.loads(line)
    assert entry["channel"] == "push" and entry["to"] == "m-1"
    assert entry["title"] == "李雷，生日快乐！"  # noqa: RUF001
    assert entry["body"] == "送你一张¥20 gift"
    assert main(["--stage", "test", "campaigns", "stats", "birthday-gift", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["totals"]["delivered"] == 1 and stats["totals"]["sent"]["push"] == 1


def test_outbox_reads_moto_server_data_and_masks_phones():
    data = {"sns": {"PlatformEndpoint": [{"custom_user_data": "m-9", "token": "tok",
                                          "messages": {"1": json.dumps({
                                              "default": "b", "GCM": json.dumps({
                                                  "notification": {"title": "T",
                                                                   "body": "B"}})})}}],
                    "SMS": [{"message_id": "2", "phone_number": "+8613800138000",
                             "message": "hi"}]}}
    got = outbox_entries(data)
    assert [(e["channel"], e["to"], e["title"], e["body"]) for e in got] == [
        ("push", "m-9", "T", "B"), ("sms", "+861******8000", "", "hi")]
    assert mask("+123") == "****"


def test_dead_letters_are_counted_and_can_be_moved_back(moto_stack, capsys):
    from chalicelib.adapters import aws
    from chalicelib.config import get_settings

    s = get_settings()
    sqs = aws.client("sqs")
    sqs.send_message(QueueUrl=aws.queue_url(s.delivery_dlq_name), MessageBody='{"v": 1}')
    assert main(["--stage", "test", "delivery", "dlq", "--redrive"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert out == [{"dead_letters": {"delivery": 1, "events": 0}},
                   {"redriven": {"delivery": 1, "events": 0}}]
    got = sqs.receive_message(QueueUrl=aws.queue_url(s.delivery_queue_name))["Messages"]
    assert got[0]["Body"] == '{"v": 1}'


def test_a_message_that_keeps_failing_lands_in_the_dlq_and_is_counted_by_the_planner(
        moto_stack):
    from app import app
    from chalicelib.adapters import aws
    from chalicelib.config import get_settings
    from chalicelib.local.runner import Runner
    from chalicelib.services.delivery import delivery

    s = get_settings()
    aws.client("sqs").send_message(QueueUrl=aws.queue_url(s.delivery_queue_name),
                                   MessageBody='{"v": 99, "kind": "members"}')
    result = Runner(app).drain(s.delivery_queue_name)
    assert result.failed == 5  # five receives, then the redrive policy moves it
    assert delivery.tick().dead_letters == {"delivery": 1, "events": 0}


def test_campaigns_run_rehearses_a_whole_local_time_occurrence(moto_stack, capsys):
    spring = campaign({"type": "holiday", "calendar": "CN", "holidays": ["Spring Festival"],
                       "at": "09:00", "local_time": True}, [INBOX_MSG], id="spring-festival",
                      delivery={"quiet_hours": None, "cap_class": "service"})
    campaigns.put("spring-festival", spring, "test")
    for m, tz in (("sh", "Asia/Shanghai"), ("be", "Europe/Berlin"),
                  ("va", "America/Vancouver")):
        add_member(m, tz)
    run = ["--stage", "test", "campaigns", "run", "spring-festival"]
    assert main([*run, "--at", "2027-02-06T09:00:00+08:00"]) == 0
    assert [len(inbox(m)) for m in ("sh", "be", "va")] == [1, 0, 0]
    # Vancouver's 09:00: everyone whose local time has come by then (Berlin too)
    assert main([*run, "--at", "2027-02-06T09:00:00-08:00"]) == 0
    assert [len(inbox(m)) for m in ("sh", "be", "va")] == [1, 1, 1]
    # the span form walks every window again and repeats nothing
    assert main([*run, "--from", "2027-02-06T09:00:00+08:00",
                 "--to", "2027-02-06T09:00:00-08:00"]) == 0
    assert [len(inbox(m)) for m in ("sh", "be", "va")] == [1, 1, 1]
    assert "rehearsed 65 window(s)" in capsys.readouterr().out
    assert main([*run, "--at", "2027-02-06T09:00:00+08:00", "--to", "x"]) == 2
    assert main([*run, "--from", "2027-02-06T09:00:00+08:00"]) == 2
