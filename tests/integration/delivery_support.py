"""Helpers for delivery tests: members, campaigns, draining the delivery queue."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.adapters import aws, keys
from chalicelib.adapters.dynamo import plain, query_all
from chalicelib.adapters.members.repository import MemberRepository
from chalicelib.config import get_settings
from chalicelib.domain.campaigns.validate import parse_campaign
from chalicelib.services import clock
from chalicelib.services.delivery import delivery
from chalicelib.services.delivery.campaigns import StaticCampaigns

INBOX_MSG = {"type": "message", "channels": ["inbox"],
             "content": {"zh-CN": {"title": "生日快乐 {{ name }}", "body": "送你一张券"},
                         "en": {"title": "Happy birthday {{ name }}", "body": "A gift"}}}


def add_member(member_id: str, tz: str = "Asia/Shanghai", birthday: str | None = None, *,
               consent: dict[str, bool] | None = None, **extra: Any) -> dict[str, Any]:
    now = "2025-01-01T00:00:00.000Z"
    profile = {"member_id": member_id, "timezone": tz, "locale": extra.pop("locale", "zh-CN"),
               "consent": consent if consent is not None else
               {"push": True, "sms": True, "email": False},
               "signup_at": now, "created_at": now, "updated_at": now, "erased": False,
               **({"birthday": birthday} if birthday else {}), **extra}
    MemberRepository().create(profile)
    return profile


def campaign(trigger: dict[str, Any], actions: list[dict[str, Any]] | None = None,
             **kw: Any) -> Any:
    doc = {"id": kw.pop("id", "bday"), "name": kw.pop("name", "Birthday gift"),
           "status": kw.pop("status", "active"), "window": {"start": "2020-01-01T00:00:00+00:00"},
           "trigger": trigger, "actions": actions or [INBOX_MSG],
           "limits": {"per_member": 1, "period": "year"}, **kw}
    return parse_campaign(doc)


def install(*campaigns: Any, channels: dict[str, Any] | None = None, effects: Any = None,
            segments: int = 2) -> StaticCampaigns:
    source = StaticCampaigns(campaigns)
    bootstrap.bootstrap(campaign_source=source, channels=channels, effects=effects,
                        scan_segments=segments)
    return source


def queue_url() -> str:
    return aws.queue_url(get_settings().delivery_queue_name)


def drain(max_rounds: int = 200) -> int:
    """Receive and process delivery messages (as Lambda would) until the queue is empty."""
    from chalicelib.local import events

    sqs = aws.client("sqs")
    url = queue_url()
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"]
    handled = 0
    for _ in range(max_rounds):
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                   VisibilityTimeout=0 if False else 30,
                                   MessageSystemAttributeNames=["All"]).get("Messages", [])
        if not msgs:
            return handled
        resp = delivery.handle_batch({"Records": [events.sqs_record(m, arn, "us-east-1")
                                                  for m in msgs]})
        failed = {f["itemIdentifier"] for f in resp.get("batchItemFailures", [])}
        for m in msgs:
            if m["MessageId"] in failed:
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"],
                                              VisibilityTimeout=0)
            else:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        handled += len(msgs) - len(failed)
    raise AssertionError("delivery queue did not drain")


def tick_through(start: datetime, end: datetime, minutes: int = 15) -> list[datetime]:
    """Run the scheduled planner every ``minutes`` from ``start`` to ``end``, draining."""
    ticks = []
    t = start
    while t <= end:
        clock.freeze(t)
        delivery.tick(t)
        drain()
        ticks.append(t)
        t += timedelta(minutes=minutes)
    clock.freeze(None)
    return ticks


def partition(member_id: str, prefix: str) -> list[dict[str, Any]]:
    from boto3.dynamodb.conditions import Key

    return query_all(aws.table(), KeyConditionExpression=Key("PK").eq(keys.member_pk(member_id))
                     & Key("SK").begins_with(prefix))


def inbox(member_id: str) -> list[dict[str, Any]]:
    return partition(member_id, keys.INBOX)


def coupons(member_id: str) -> list[dict[str, Any]]:
    return partition(member_id, "COUPON#")


def sends(member_id: str) -> list[dict[str, Any]]:
    return partition(member_id, keys.SEND)


def stats(campaign_id: str) -> dict[str, Any]:
    return delivery.campaign_stats(campaign_id).model_dump()


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


def item(key: dict[str, str]) -> dict[str, Any] | None:
    got = aws.table().get_item(Key=key, ConsistentRead=True).get("Item")
    return plain(got) if got else None


def coupon_template(tid: str, amount: int = 2000) -> None:
    """An active fixed-amount coupon template valid 2020-2030."""
    from chalicelib.domain.coupons.template import parse_template
    from chalicelib.services.coupons import coupons as coupon_service

    t = parse_template({"template_id": tid, "name": f"¥{amount // 100} gift",
                        "validity": {"starts_at": "2020-01-01T00:00:00+08:00",
                                     "ends_at": "2030-01-01T00:00:00+08:00"},
                        "benefit": {"type": "fixed", "amount": amount}})
    coupon_service.put_template(tid, t, "test")


@pytest.fixture(autouse=True)
def fast_moto_transactions() -> Iterator[None]:
    """moto copies the whole table per transaction item; an undo log keeps tests fast."""
    from bench.moto_fast import fast_transactions

    with fast_transactions():
        yield
