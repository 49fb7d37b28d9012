"""A sale day on the data model (issue 12): index hot keys and broadcast reads.

1. Index-key spread. Every base-item write that carries GSI keys is an index write to that
   GSI partition key. A simulated sale of 100,000 orders across 10,000 members in one local
   day (Double 11, Asia/Shanghai) is counted from the keys the code computes for the items
   each order writes (LOYALTY: GSI1 tier review for tiered members, GSI2 last order, GSI3
   member bucket; the new lot: GSI1 lot expiry): the key functions are deterministic, and
   100,000 real orders take too long on DynamoDB Local on a 2-core machine. "before" uses the
   unsharded keys the code wrote until now (kept as the legacy readers' keys). A smaller
   real run (REAL_ORDERS orders through the orders service on DynamoDB Local, moto when Java
   is missing) counts the same from the requests actually sent (botocore hooks).
2. Broadcast reads. MEMBERS members, each with HISTORY history items (ledger entries,
   coupons, inbox messages, send records), a broadcast's audience read on DynamoDB Local
   (moto when Java is missing), counted with botocore hooks: "before" is the segmented table
   Scan the planner once ran (items read = ScannedCount), "after" the planner's member-index
   segments (Query items read): one index entry per member, its LOYALTY audience summary.
   Goal <= 1.1 items per member.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from common import counting, moto_stack, summary

ORDERS, SALE_MEMBERS = 100_000, 10_000
REAL_ORDERS, REAL_MEMBERS = 3_000, 1_000
MEMBERS, HISTORY = 300, 50
DAY = "2026-11-11"
EXPIRY = "2027-12-01"  # lots of a sale day expire together (program: fixed months)
REVIEW = "2027-11-11"  # members upgraded that day are reviewed a year on
TZ = "Asia/Shanghai"
TIERED = 0.3  # share of members above the base tier (they carry a review key)
GSIS = ("GSI1", "GSI2", "GSI3")


def _share(counts: dict[str, Counter[str]]) -> tuple[float, str]:
    """The largest share of one GSI's writes on one of its partition keys, and that key."""
    worst, where = 0.0, ""
    for gsi, c in counts.items():
        total = sum(c.values())
        if not total:
            continue
        key, n = c.most_common(1)[0]
        if n / total > worst:
            worst, where = n / total, f"{gsi} {key}"
    return worst, where


def computed_spread() -> dict[str, Any]:
    from chalicelib.adapters import keys

    rng = random.Random(11)
    members = [f"m-{i:05d}" for i in range(SALE_MEMBERS)]
    tiered = set(rng.sample(members, int(SALE_MEMBERS * TIERED)))
    out: dict[str, Any] = {}
    for label in ("before", "after"):
        counts: dict[str, Counter[str]] = {g: Counter() for g in GSIS}
        for _ in range(ORDERS):
            m = members[rng.randrange(SALE_MEMBERS)]
            if label == "before":
                last, lot = keys.last_order_partition(DAY), keys.lot_expiry_partition(EXPIRY)
                review = keys.review_partition(REVIEW)
            else:
                last = keys.last_order_index(DAY, TZ, m)["GSI2PK"]
                lot = keys.lot_expiry_index(EXPIRY, m, "l")["GSI1PK"]
                review = keys.review_index(REVIEW, m)["GSI1PK"]
            counts["GSI2"][last] += 1
            counts["GSI3"][keys.member_index(m)["GSI3PK"]] += 1
            counts["GSI1"][lot] += 1
            if m in tiered:
                counts["GSI1"][review] += 1
        out[label] = _share(counts)
    return out


_SET = re.compile(r"(#\w+)\s*=\s*(:\w+)")


def _index_keys(entry: dict[str, Any]) -> dict[str, str]:
    """GSI partition keys a Put/Update (client-level request) writes."""
    from boto3.dynamodb.types import TypeDeserializer

    des = TypeDeserializer()

    def val(v: Any) -> Any:
        return des.deserialize(v) if isinstance(v, dict) and len(v) == 1 else v

    if "Item" in entry:
        return {g: val(entry["Item"][f"{g}PK"]) for g in GSIS if f"{g}PK" in entry["Item"]}
    names = entry.get("ExpressionAttributeNames", {})
    values = entry.get("ExpressionAttributeValues", {})
    expr = entry.get("UpdateExpression", "")
    sets = expr.split("SET", 1)[1].split(" REMOVE ")[0].split(" ADD ")[0] if "SET" in expr \
        else ""
    out = {}
    for n, v in _SET.findall(sets):
        attr = names.get(n, n)
        if attr in (f"{g}PK" for g in GSIS):
            out[attr[:-2]] = str(val(values[v]))
    return out


@contextlib.contextmanager
def dynamodb_local() -> Iterator[str]:
    """DynamoDB Local for the block (moto when Java is missing); yields the engine's name."""
    from chalicelib.local import ddblocal

    reason = ddblocal.unavailable_reason()
    if reason is not None:
        yield f"moto ({reason})"
        return
    port = ddblocal.free_port()
    proc = ddblocal.start(port)
    os.environ["DYNAMODB_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
    try:
        yield "DynamoDB Local"
    finally:
        os.environ.pop("DYNAMODB_ENDPOINT_URL", None)
        proc.terminate()
        proc.wait(timeout=20)


def real_spread() -> dict[str, Any]:
    """REAL_ORDERS orders through the orders service; index-key writes from the requests."""
    import json

    from chalicelib import bootstrap
    from chalicelib.adapters import aws
    from chalicelib.domain.loyalty.orders import NewOrder
    from chalicelib.services import clock
    from chalicelib.services.loyalty import orders
    from tests.loyalty_support import join, order, publish

    bootstrap.reset()  # a fresh object graph on this run's table
    counts: dict[str, Counter[str]] = {g: Counter() for g in GSIS}

    def hook(params: dict[str, Any], **_: Any) -> None:
        for t in params.get("TransactItems", []):
            for kind in ("Put", "Update"):
                if kind in t:
                    for g, pk in _index_keys(t[kind]).items():
                        counts[g][pk] += 1

    out: dict[str, Any] = {}
    with dynamodb_local() as engine, moto_stack("perks-bench-sale"):
        out["engine"] = engine
        clock.freeze(datetime(2026, 11, 10, 16, 1, tzinfo=UTC))  # 00:01 on Double 11
        publish()
        members = [f"m-{i:05d}" for i in range(REAL_MEMBERS)]
        join(*members)
        aws.table().meta.client.meta.events.register(
            "provide-client-params.dynamodb.TransactWriteItems", hook)
        rng = random.Random(11)
        t = time.perf_counter()
        quiet = contextlib.redirect_stdout(io.StringIO())  # metric lines, not figures
        quiet.__enter__()
        for i in range(REAL_ORDERS):
            clock.freeze(datetime(2026, 11, 10, 16, 1, tzinfo=UTC)
                         + timedelta(seconds=20 * i))
            body = order(f"o-{i:06d}", members[rng.randrange(REAL_MEMBERS)], amount=30000)
            orders.record(NewOrder.model_validate_json(json.dumps(body)))
        quiet.__exit__(None, None, None)
        out["seconds"] = round(time.perf_counter() - t, 1)
        clock.freeze(None)
    out["share"], out["key"] = _share(counts)
    out["writes"] = {g: sum(c.values()) for g, c in counts.items()}
    return out


def broadcast_reads() -> dict[str, Any]:
    from chalicelib import bootstrap
    from chalicelib.adapters import aws, keys
    from chalicelib.adapters.members.index import MemberIndex
    from chalicelib.domain.campaigns.validate import parse_campaign
    from chalicelib.services.delivery import delivery
    from chalicelib.services.delivery.campaigns import StaticCampaigns

    out: dict[str, Any] = {}
    with dynamodb_local() as engine, moto_stack("perks-bench-broadcast"):
        out["engine"] = engine
        table = aws.table()
        MemberIndex(table).put_members(
            [{"member_id": f"b-{i:04d}", "timezone": TZ, "locale": "zh-CN",
              "consent": {"push": True}} for i in range(MEMBERS)],
            [{"member_id": f"b-{i:04d}", "tier": "member", "points": 100}
             for i in range(MEMBERS)])
        with table.batch_writer() as batch:
            for i in range(MEMBERS):
                m = f"b-{i:04d}"
                for n in range(HISTORY):
                    kind = ("LEDGER#", "COUPON#", "INBOX#", "SEND#")[n % 4]
                    batch.put_item(Item={"PK": keys.member_pk(m), "SK": f"{kind}{n:04d}",
                                         "entity": "history", "n": n})
        segments = 4
        with counting() as c:  # before: the segmented Scan with a filter
            for seg in range(segments):
                kw: dict[str, Any] = {"Segment": seg, "TotalSegments": segments,
                                      "FilterExpression": "SK IN (:p, :l)",
                                      "ExpressionAttributeValues": {":p": keys.PROFILE,
                                                                    ":l": keys.LOYALTY}}
                while True:
                    page = table.scan(**kw)
                    if not page.get("LastEvaluatedKey"):
                        break
                    kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            out["before"] = c.items_read / MEMBERS
        doc = {"id": "d11", "name": "Double 11", "status": "active",
               "window": {"start": "2020-01-01T00:00:00+00:00"},
               "trigger": {"type": "once", "at": "2026-11-11T10:00:00+08:00"},
               "actions": [{"type": "message", "channels": ["inbox"],
                            "content": {"zh-CN": {"title": "双十一", "body": "x"}}}],
               "limits": {"per_member": 1, "period": "campaign"},
               "delivery": {"quiet_hours": None, "cap_class": "service"}}
        bootstrap.bootstrap(campaign_source=StaticCampaigns([parse_campaign(doc)]),
                            scan_segments=segments)
        spec = {"c": "d11", "o": "2026-11-11", "of": segments,
                "start": "2026-11-11T01:45:00.000Z", "end": "2026-11-11T02:00:00.000Z",
                "anchor": "2026-11-11T02:00:00.000Z", "local": False, "key": None}
        with counting() as c:
            enqueued = sum(delivery.planner().scan({**spec, "seg": s}) for s in range(segments))
            out["after"] = c.items_read / MEMBERS
            out["after_ops"] = {k: v for k, v in c.calls.items() if k.startswith("dynamodb")}
        out["enqueued"] = enqueued
        bootstrap.reset()
    return out


def main() -> int:
    comp = computed_spread()
    print(f"sale of {ORDERS} orders across {SALE_MEMBERS} members on {DAY} (computed from the "
          f"key functions): largest share of one GSI's writes on one key: before "
          f"{comp['before'][0]:.1%} ({comp['before'][1]}), after {comp['after'][0]:.1%} "
          f"({comp['after'][1]})")
    real = real_spread()
    print(f"real run on {real['engine']}: {REAL_ORDERS} orders across {REAL_MEMBERS} members "
          f"in {real['seconds']} s; index-key writes {real['writes']}; largest share on one "
          f"key {real['share']:.1%} ({real['key']})")
    b = broadcast_reads()
    print(f"broadcast on {b['engine']} to {MEMBERS} members holding {HISTORY} history items "
          f"each: items read per member before (segmented Scan) {b['before']:.2f}, after "
          f"(member index, one LOYALTY summary entry each) {b['after']:.2f}; {b['enqueued']} "
          f"members enqueued; requests {b['after_ops']}")
    ok = comp["after"][0] <= 0.10 and real["share"] <= 0.10 and b["after"] <= 1.1 \
        and b["enqueued"] == MEMBERS
    summary(f"SUMMARY sale: hottest index key share={comp['after'][0] * 100:.1f}% (goal <=10; "
            f"before {comp['before'][0] * 100:.0f}%, 100k orders computed; real "
            f"{REAL_ORDERS} orders {real['share'] * 100:.1f}%), broadcast items read per "
            f"member={b['after']:.2f} (goal <=1.1; before {b['before']:.2f}) "
            f"{'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
