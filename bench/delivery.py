"""Delivery figures on a 100,000-member fixture (issue 6).

- birthday run: items read ÷ celebrants over a whole day of 15-minute planner runs
  (goal <= 1.05): the celebrants' items come from key queries on the birthday index,
  and each celebrant's profile travels with its task, so no one is read twice;
- SQS requests per 1,000 messages (goal <= 105), counted both ways: all SQS requests
  (SendMessageBatch to fan out, ReceiveMessage and DeleteMessageBatch to consume) per 1,000
  member messages delivered, and SendMessageBatch requests per 1,000 queue messages (each
  carries up to 50 members; members are spread so every request but a small tail is full);
- the scheduler invoked twice over the same day: duplicate effects (goal 0);
- a broadcast (segmented Scan, 10 % audience): run time for 100,000 members ÷ for 10,000
  (goal <= 11).

DynamoDB runs on DynamoDB Local (moto answers every index query and every transaction by
walking the whole table, which a 100,000-member table makes impractically slow); SQS runs
on moto in process. Without Java it falls back to moto with 10,000 and 1,000 members and
says so. Requests are counted with botocore event hooks.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from common import counting, moto_stack, summary

BIG, SMALL = 100_000, 10_000
ZONES = [("Asia/Shanghai", 60), ("Europe/Berlin", 10), ("America/Los_Angeles", 10),
         ("Asia/Kolkata", 10), ("Pacific/Chatham", 5), ("Asia/Tokyo", 5)]
DAY = datetime(2026, 6, 15, tzinfo=UTC)
BROADCAST_AT = "2026-07-01T12:00:00+08:00"


# --- counting items read by purpose ---------------------------------------------------------

class ItemsRead:
    """Items read per purpose: birthday index queries, member reads, everything else."""

    def __init__(self) -> None:
        self.by: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        self.entries = 0  # SQS messages sent with SendMessageBatch

    def before(self, event_name: str, params: Any = None, context: Any = None,
               **kw: Any) -> None:
        op = event_name.split(".")[-1]
        body = (params or {}).get("body") or b"{}"
        try:
            req = json.loads(body)
        except (ValueError, TypeError):
            req = {}
        purpose = "other"
        if op == "Query" and req.get("IndexName") == "GSI1" and "BDAY#" in json.dumps(
                req.get("ExpressionAttributeValues", {})):
            purpose = "birthday_index"
        elif op in ("GetItem", "BatchGetItem") and ('"PROFILE"' in json.dumps(req)
                                                    or '"LOYALTY"' in json.dumps(req)):
            purpose = "member_reads"
        if context is not None:
            context["bench_purpose"] = purpose
        self.requests[f"{op}:{purpose}"] += 1

    def after(self, event_name: str, parsed: Any = None, context: Any = None,
              **kw: Any) -> None:
        op = event_name.split(".")[-1]
        purpose = (context or {}).get("bench_purpose", "other")
        if not isinstance(parsed, dict):
            return
        n = 0
        if op in ("Query", "Scan"):
            n = int(parsed.get("ScannedCount", parsed.get("Count", 0)))
        elif op == "GetItem" and parsed.get("Item"):
            n = 1
        elif op == "BatchGetItem":
            n = sum(len(v) for v in parsed.get("Responses", {}).values())
        self.by[purpose] += n

    def sqs_before(self, event_name: str, params: Any = None, **kw: Any) -> None:
        body = (params or {}).get("body") or b"{}"
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            self.entries += len(json.loads(body).get("Entries", []))

    def attach(self) -> None:
        from chalicelib.adapters import aws

        self.entries = 0
        aws.client("sqs").meta.events.register("before-call.sqs.SendMessageBatch",
                                               self.sqs_before, unique_id=f"sqs-{id(self)}")
        for client in (aws.client("dynamodb"), aws.dynamodb_resource().meta.client):
            client.meta.events.register("before-call.dynamodb.*", self.before,
                                        unique_id=f"items-b-{id(self)}-{id(client)}")
            client.meta.events.register("after-call.dynamodb.*", self.after,
                                        unique_id=f"items-a-{id(self)}-{id(client)}")

    def detach(self) -> None:
        from chalicelib.adapters import aws

        aws.client("sqs").meta.events.unregister("before-call.sqs.SendMessageBatch",
                                                 unique_id=f"sqs-{id(self)}")
        for client in (aws.client("dynamodb"), aws.dynamodb_resource().meta.client):
            client.meta.events.unregister("before-call.dynamodb.*",
                                          unique_id=f"items-b-{id(self)}-{id(client)}")
            client.meta.events.unregister("after-call.dynamodb.*",
                                          unique_id=f"items-a-{id(self)}-{id(client)}")


# --- fixture ---------------------------------------------------------------------------------

def seed(n: int, rng: random.Random) -> None:
    """n member profiles (birthday index entries included) and their LOYALTY summaries (the
    member index a broadcast reads, as ``POST /members`` writes them), in batches."""
    from chalicelib.adapters import aws, keys
    from chalicelib.adapters.members.summary import summary_of
    from chalicelib.domain.members.model import month_day

    zones = [z for z, w in ZONES for _ in range(w)]
    start = datetime(2001, 1, 1)
    with aws.table().batch_writer() as batch:
        for i in range(n):
            mid = f"m{i:06d}"
            tz = rng.choice(zones)
            bday = (start + timedelta(days=rng.randrange(366))).strftime("%Y-%m-%d")
            item: dict[str, Any] = {
                **keys.member_profile(mid), "member_id": mid, "timezone": tz,
                "locale": "zh-CN", "name": f"会员{i}", "birthday": bday,
                "consent": {"push": rng.random() < 0.9, "sms": False, "email": False},
                "tags": ["vip"] if rng.random() < 0.1 else ["regular"],
                "signup_at": "2025-01-01T00:00:00.000Z", "erased": False, "version": 1}
            md = month_day(bday)
            assert md is not None
            item.update(keys.birthday_index(md, tz, mid))
            batch.put_item(Item=item)
            batch.put_item(Item={**keys.member_loyalty(mid), "member_id": mid,
                                 "entity": "loyalty", "profile": summary_of(item),
                                 **keys.member_index(mid), "version": 1})


def campaigns() -> list[Any]:
    from chalicelib.domain.campaigns.validate import parse_campaign

    base = {"status": "active", "window": {"start": "2026-01-01T00:00:00+08:00"},
            "limits": {"per_member": 1, "period": "year"}}
    msg = {"type": "message", "channels": ["push", "inbox"],
           "content": {"zh-CN": {"title": "{{ name }}生日快乐", "body": "{{ coupon.title }}"}}}
    bday = parse_campaign({**base, "id": "bench-bday", "name": "Birthday",
                           "trigger": {"type": "birthday", "at": "09:00"},
                           "actions": [{"type": "issue_coupon", "template": "bench-gift"}, msg]})
    vip = parse_campaign({**base, "id": "bench-vip", "name": "VIP day",
                          "trigger": {"type": "once", "at": BROADCAST_AT},
                          "audience": {"attr": "tags", "op": "contains", "value": "vip"},
                          "delivery": {"quiet_hours": None, "cap_class": "service"},
                          "actions": [{"type": "message", "channels": ["inbox"],
                                       "content": {"zh-CN": {"title": "VIP", "body": "x"}}}]})
    return [bday, vip]


class Push:
    """Push channel stand-in (SNS is not what this bench measures)."""

    name, transactional = "push", False

    def __init__(self) -> None:
        self.sent = 0

    def reachable(self, member: Any) -> bool:
        return True

    def items(self, member: Any, msg: Any, at: Any) -> list[Any]:
        return []

    def send(self, member: Any, msg: Any, delivery_id: str) -> Any:
        from chalicelib.adapters.delivery.channels import Result

        self.sent += 1
        return Result(True)


def install(push: Push) -> None:
    from chalicelib import bootstrap
    from chalicelib.adapters.delivery.channels import InboxChannel
    from chalicelib.domain.coupons.template import parse_template
    from chalicelib.services.coupons import coupons
    from chalicelib.services.delivery.campaigns import StaticCampaigns

    bootstrap.reset()
    coupons.put_template("bench-gift", parse_template({
        "template_id": "bench-gift", "name": "¥20 生日券",
        "validity": {"starts_at": "2020-01-01T00:00:00+08:00",
                     "ends_at": "2030-01-01T00:00:00+08:00"},
        "benefit": {"type": "fixed", "amount": 2000}}), "bench")
    bootstrap.bootstrap(campaign_source=StaticCampaigns(campaigns()), scan_segments=10,
                        channels={"push": push, "inbox": InboxChannel()})


def drain() -> int:
    """The SQS event source: receive ten, invoke the worker, delete what succeeded."""
    from chalicelib.adapters import aws
    from chalicelib.config import get_settings
    from chalicelib.local import events
    from chalicelib.services.delivery import delivery

    sqs = aws.client("sqs")
    url = aws.queue_url(get_settings().delivery_queue_name)
    n = 0
    while True:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                   VisibilityTimeout=60).get("Messages", [])
        if not msgs:
            return n
        resp = delivery.handle_batch({"Records": [events.sqs_record(
            m, "arn:aws:sqs:us-east-1:123456789012:delivery", "us-east-1") for m in msgs]})
        failed = {f["itemIdentifier"] for f in resp.get("batchItemFailures", [])}
        done = [m for m in msgs if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
        for m in msgs:
            if m["MessageId"] in failed:
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"],
                                              VisibilityTimeout=0)
        n += len(done)


def birthday_day() -> dict[str, Any]:
    """Every 15 minutes for 30 hours around DAY: plan, then drain."""
    from chalicelib.services import clock
    from chalicelib.services.delivery import delivery

    t = DAY - timedelta(hours=12)
    end = DAY + timedelta(hours=18)
    ticks = 0
    while t <= end:
        clock.freeze(t)
        delivery.tick(t)
        drain()
        ticks += 1
        t += timedelta(minutes=15)
    clock.freeze(None)
    return {"ticks": ticks}


def effects() -> dict[str, int]:
    """Effects in the table, by scanning (verification only)."""
    from chalicelib.adapters import aws

    counts: Counter[str] = Counter()
    table = aws.table()
    kw: dict[str, Any] = {"ProjectionExpression": "SK"}
    while True:
        page = table.scan(**kw)
        for item in page.get("Items", []):
            sk = item["SK"]
            for kind in ("SEND#", "INBOX#", "COUPON#"):
                if sk.startswith(kind):
                    counts[kind.rstrip("#")] += 1
        if not page.get("LastEvaluatedKey"):
            return dict(counts)
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def broadcast() -> dict[str, Any]:
    """The VIP broadcast's occurrence: plan at its instant, scan in 8 segments, deliver."""
    from chalicelib.services import clock
    from chalicelib.services.delivery import delivery

    at = datetime.fromisoformat(BROADCAST_AT).astimezone(UTC)
    clock.freeze(at)
    t0 = time.perf_counter()
    report = delivery.planner().plan([delivery.campaigns().get("bench-vip")],
                                     at - timedelta(minutes=15), at)
    drain()
    seconds = time.perf_counter() - t0
    clock.freeze(None)
    stats = delivery.campaign_stats("bench-vip").totals
    return {"seconds": seconds, "delivered": stats.delivered, "scans": report.scans}


def run_fixture(n: int, full: bool) -> dict[str, Any]:
    from chalicelib import bootstrap
    from chalicelib.services.delivery import delivery

    out: dict[str, Any] = {"members": n}
    rng = random.Random(n)
    push = Push()
    with moto_stack(f"perks-bench-delivery-{n}"):
        t = time.perf_counter()
        seed(n, rng)
        out["seed_seconds"] = round(time.perf_counter() - t, 1)
        install(push)
        if full:
            reads = ItemsRead()
            reads.attach()
            with counting() as c:
                t = time.perf_counter()
                out.update(birthday_day())
                out["birthday_seconds"] = round(time.perf_counter() - t, 1)
                out["birthday_sqs"] = dict((k, v) for k, v in c.calls.items()
                                           if k.startswith("sqs."))
            out["birthday_entries"] = reads.entries
            reads.detach()
            out["reads"] = dict(reads.by)
            out["read_requests"] = dict(reads.requests)
            stats = delivery.campaign_stats("bench-bday").totals
            out["celebrants"] = stats.targeted
            out["birthday_stats"] = {"delivered": stats.delivered,
                                     "suppressed": stats.suppressed, "sent": stats.sent}
            before = effects()
            # the scheduler invoked again over the same day: rewind the cursor, run again
            from chalicelib.adapters import aws, keys

            aws.table().delete_item(Key=keys.scheduler_cursor())
            t = time.perf_counter()
            birthday_day()
            out["rerun_seconds"] = round(time.perf_counter() - t, 1)
            after = effects()
            out["effects"] = before
            out["duplicates"] = sum(after.get(k, 0) - before.get(k, 0) for k in after)
        entries = ItemsRead()
        entries.attach()
        with counting() as c:
            out["broadcast"] = broadcast()
            sends = c.calls.get("sqs.SendMessageBatch", 0)
            entries.detach()
            out["broadcast_sqs"] = {"SendMessageBatch": sends, "entries": entries.entries,
                                    "ReceiveMessage": c.calls.get("sqs.ReceiveMessage", 0),
                                    "DeleteMessageBatch": c.calls.get(
                                        "sqs.DeleteMessageBatch", 0)}
    bootstrap.reset()
    return out


def with_engine(n: int, full: bool) -> dict[str, Any]:
    """One fixture on its own DynamoDB Local process (a second large table in the same
    process slows DynamoDB Local down by an order of magnitude, which is not what we measure)."""
    from chalicelib.local import ddblocal

    proc = None
    if ddblocal.unavailable_reason() is None:
        port = ddblocal.free_port()
        proc = ddblocal.start(port)
        os.environ["DYNAMODB_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
    try:
        return run_fixture(n, full)
    finally:
        os.environ.pop("DYNAMODB_ENDPOINT_URL", None)
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)


def birthday_report(a: dict[str, Any]) -> float:
    """Print the birthday day's figures; the celebrant items read per celebrant."""
    celebrants = a["celebrants"]
    member_items = a["reads"].get("birthday_index", 0) + a["reads"].get("member_reads", 0)
    total_items = sum(a["reads"].values())
    ratio: float = member_items / celebrants if celebrants else float("inf")
    print(f"birthday day: {a['ticks']} planner runs (15 min) over 30 h in "
          f"{a['birthday_seconds']} s (again: {a['rerun_seconds']} s); {celebrants} celebrants "
          f"targeted; {a['birthday_stats']}")
    print(f"items read: birthday index {a['reads'].get('birthday_index', 0)}, member reads "
          f"{a['reads'].get('member_reads', 0)}, other {a['reads'].get('other', 0)} "
          f"(cursor, coupon template per issued coupon, budget/stats: none)")
    print(f"read requests: {a['read_requests']}")
    print(f"  celebrant items read / celebrant = {ratio:.3f}; all items read / celebrant = "
          f"{total_items / max(1, celebrants):.3f}")
    return ratio


def main() -> int:
    from bench.moto_fast import fast_transactions
    from chalicelib.local import ddblocal

    big, small = BIG, SMALL
    if ddblocal.unavailable_reason() is None:
        engine = "DynamoDB Local (a fresh process per fixture)"
    else:
        engine = f"moto ({ddblocal.unavailable_reason()})"
        big, small = BIG // 10, SMALL // 10
    if len(sys.argv) > 1:  # e.g. `delivery.py 20000` for a quicker look
        big = int(sys.argv[1])
        small = big // 10
    with fast_transactions():
        b = with_engine(small, full=False)
        a = with_engine(big, full=True)

    print(f"engine: {engine} for DynamoDB, moto (in process) for SQS")
    print(f"fixture: {a['members']:,} members seeded in {a['seed_seconds']} s; "
          f"{b['members']:,} in {b['seed_seconds']} s")
    ratio = birthday_report(a)
    bs = a["broadcast_sqs"]
    per_1000_entries = 1000 * bs["SendMessageBatch"] / max(1, bs["entries"])
    delivered = a["broadcast"]["delivered"]
    per_1000_members = 1000 * bs["SendMessageBatch"] / max(1, delivered)
    consumer = bs["ReceiveMessage"] + bs["DeleteMessageBatch"]
    print(f"broadcast ({a['members']:,} members, 10 % audience): {delivered} delivered, "
          f"{bs['entries']} queue messages in {bs['SendMessageBatch']} SendMessageBatch "
          f"requests; consumer side {consumer} (receive + delete)")
    print(f"  SendMessageBatch per 1,000 queue messages = {per_1000_entries:.1f}; per 1,000 "
          f"members delivered = {per_1000_members:.1f}; all SQS requests per 1,000 members "
          f"= {1000 * (bs['SendMessageBatch'] + consumer) / max(1, delivered):.1f}")
    print(f"birthday day SQS: {a['birthday_sqs']}, {a['birthday_entries']} entries")
    print(f"double scheduler run over the same day: effects before {a['effects']}, "
          f"duplicates {a['duplicates']}")
    ta, tb = a["broadcast"]["seconds"], b["broadcast"]["seconds"]
    scale = ta / tb if tb else float("inf")
    print(f"broadcast run time: {a['members']:,} members {ta:.1f} s, {b['members']:,} members "
          f"{tb:.1f} s, ratio {scale:.2f}")
    all_per_1000 = 1000 * (bs["SendMessageBatch"] + consumer) / max(1, delivered)
    ok = (ratio <= 1.05 and all_per_1000 <= 105 and per_1000_entries <= 105
          and a["duplicates"] == 0 and scale <= 11)
    summary(f"SUMMARY delivery: birthday items read per celebrant={ratio:.3f} (goal <=1.05), "
            f"SQS requests per 1000 member messages={all_per_1000:.1f} (goal <=105), "
            f"SendMessageBatch per 1000 queue messages={per_1000_entries:.1f} (goal <=105), "
            f"duplicate effects on double run={a['duplicates']} (goal 0), "
            f"run time {a['members'] // 1000}k/{b['members'] // 1000}k={scale:.2f} "
            f"(goal <=11) {'PASS' if ok else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
