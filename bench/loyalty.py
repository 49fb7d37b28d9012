"""Loyalty request counts, measured with botocore event hooks.

Goals (issue 3):
- POST /orders <= 2 DynamoDB requests on the happy path (one BatchGetItem, one
  TransactWriteItems), with the program cache warm and cold;
- GET /me/points <= 2 read requests;
- the lot expiry job on a 10,000-member fixture reads <= 1.1 items per lot it expires.

The API part runs on moto. The expiry part runs on DynamoDB Local when Java is available
(moto deep-copies the whole table for every transaction item, which a 10,000-member table
makes impractically slow); without Java it falls back to moto with 1,000 members and says so.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import ROOT, counting, moto_stack, summary

MEMBERS = 10_000
EXPIRY_DAY = "2027-04-01"
EXPIRES_AT = "2027-03-31T16:00:00.000Z"  # 00:00 on 1 Apr 2027 in Asia/Shanghai
LATER_DAY, LATER_AT = "2027-05-01", "2027-04-30T16:00:00.000Z"


def _publish() -> None:
    from chalicelib.domain.loyalty.program import Program
    from chalicelib.services.loyalty import program as programs

    text = (Path(ROOT) / "campaigns" / "program.json").read_text(encoding="utf-8")
    programs.publish(Program.model_validate_json(text), "bench")


def _order(order_id: str, amount: int) -> str:
    from chalicelib.services import clock

    return json.dumps({"order_id": order_id, "member_id": "m-bench", "currency": "CNY",
                       "items": [{"sku": "SKU-1", "category": "apparel", "quantity": 1,
                                  "unit_price": amount}],
                       "shipping_fee": 800, "discount_total": 0,
                       "placed_at": clock.now().isoformat()})


def api_figures() -> dict[str, Any]:
    from chalice.test import Client

    from app import app
    from chalicelib.api.auth import mint
    from chalicelib.services import clock
    from chalicelib.services.loyalty import program as programs

    clock.freeze(datetime.now(UTC).replace(microsecond=0))
    service = {"Authorization": f"Bearer {mint('svc', ['service'])}",
               "Content-Type": "application/json"}
    member = {"Authorization": f"Bearer {mint('m-bench', ['member'])}"}
    out: dict[str, Any] = {}
    with moto_stack("perks-bench-loyalty"), Client(app, stage_name="test") as client:
        _publish()
        r = client.http.post("/members", headers=service, body=json.dumps({"member_id":
                                                                           "m-bench"}))
        assert r.status_code == 201, r.body
        with counting() as c:
            per_order, upgrades = [], []
            for i in range(20):  # ¥90 each: the 6th order makes silver (min_orders 6, "any")
                c.reset()
                r = client.http.post("/orders", headers=service, body=_order(f"o-{i}", 9000))
                assert r.status_code == 201, r.body
                tier = json.loads(r.body)["tier"]
                # An upgrade also reads the member's perk grant markers (upgrade gift, this
                # month's free shipping): reported on its own, not as a regular order.
                (upgrades if tier["changed"] else per_order).append(c.total("dynamodb"))
            out["orders_ops"] = dict(c.calls)
            out["orders_max"], out["orders_n"] = max(per_order), len(per_order)
            out["upgrade_orders"] = upgrades
            programs.invalidate()
            c.reset()
            r = client.http.post("/orders", headers=service, body=_order("o-cold", 9000))
            assert r.status_code == 201, r.body
            out["orders_cold"], out["orders_cold_ops"] = c.total("dynamodb"), dict(c.calls)
            c.reset()
            r = client.http.post("/orders", headers=service, body=_order("o-cold", 9000))
            assert r.status_code == 201, r.body
            out["orders_replay"] = c.total("dynamodb")
            c.reset()
            r = client.http.get("/me/points", headers=member)
            assert r.status_code == 200, r.body
            out["points_warm"] = c.total("dynamodb", writes_only=False)
            out["points_warm_writes"] = c.total("dynamodb", writes_only=True)
            out["points_body"] = json.loads(r.body)
            programs.invalidate()
            c.reset()
            r = client.http.get("/me/points", headers=member)
            assert r.status_code == 200, r.body
            out["points_cold"] = c.total("dynamodb", writes_only=False)
            out["points_cold_ops"] = dict(c.calls)
    return out


def _seed(n: int) -> int:
    """n members: every one has 1-3 lots expiring on EXPIRY_DAY and one expiring a month
    later (which the job must not read); returns the number of lots due."""
    from chalicelib.adapters import aws, keys

    due = 0
    with aws.table().batch_writer() as batch:
        for i in range(n):
            m = f"m-{i:05d}"
            lots = [(EXPIRY_DAY, EXPIRES_AT, 100 + j) for j in range(1 + i % 3)]
            lots.append((LATER_DAY, LATER_AT, 50))
            due += len(lots) - 1
            batch.put_item(Item={**keys.member_loyalty(m), "entity": "loyalty",
                                 "member_id": m, "version": 1, "tier": "member", "debt": 0,
                                 "points": sum(p for *_, p in lots)})
            for j, (day, at, points) in enumerate(lots):
                lot_id = f"l{i:05d}{j}"
                batch.put_item(Item={
                    **keys.member_lot(m, at, lot_id), **keys.lot_expiry_index(day, m, lot_id),
                    "entity": "lot", "member_id": m, "lot_id": lot_id, "points": points,
                    "remaining": points, "expires_at": at, "expiry_date": day,
                    "available_on": "2026-03-01", "source": "bench"})
        # the daily job ran yesterday
        batch.put_item(Item={**keys.loyalty_job_cursor("expiry"), "date": "2027-03-31"})
    return due


def expiry_figures() -> dict[str, Any]:
    from chalicelib import bootstrap
    from chalicelib.local import ddblocal
    from chalicelib.services.loyalty import jobs as loyalty_jobs

    bootstrap.reset()  # repositories hold the previous stack's table
    out: dict[str, Any] = {}
    proc = None
    if ddblocal.unavailable_reason() is None:
        port = ddblocal.free_port()
        proc = ddblocal.start(port)
        os.environ["DYNAMODB_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
        out["engine"], n = "DynamoDB Local", MEMBERS
    else:
        out["engine"], n = f"moto ({ddblocal.unavailable_reason()})", MEMBERS // 10
    try:
        with moto_stack("perks-bench-expiry"):
            _publish()
            t = time.perf_counter()
            due = _seed(n)
            out["seed_seconds"] = round(time.perf_counter() - t, 1)
            with counting() as c:
                t = time.perf_counter()
                report = loyalty_jobs.expire_due(datetime(2027, 3, 31, 16, 5, tzinfo=UTC),
                                                 workers=1)
                out["job_seconds"] = round(time.perf_counter() - t, 1)
                out["items_read"], out["ops"] = c.items_read, dict(c.calls)
            out.update(members=n, due=due, report=report)
            with counting() as c:
                again = loyalty_jobs.expire_due(datetime(2027, 3, 31, 16, 5, tzinfo=UTC))
                out["rerun_lots"], out["rerun_items_read"] = again["lots"], c.items_read
    finally:
        os.environ.pop("DYNAMODB_ENDPOINT_URL", None)
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=20)
    return out


def main() -> int:
    a = api_figures()
    print(f"POST /orders, warm program cache: max {a['orders_max']} DynamoDB requests over "
          f"{a['orders_n']} orders {a['orders_ops']}")
    print(f"POST /orders that upgraded the tier (perks granted): {a['upgrade_orders']} requests")
    print(f"POST /orders, cold program cache: {a['orders_cold']} requests {a['orders_cold_ops']}")
    print(f"POST /orders replayed: {a['orders_replay']} request (stored result, earns nothing)")
    print(f"GET /me/points: {a['points_warm']} read request(s) warm "
          f"({a['points_warm_writes']} writes), {a['points_cold']} cold {a['points_cold_ops']}")
    print(f"GET /me/points body: {a['points_body']}")
    e = expiry_figures()
    ratio = e["items_read"] / max(e["report"]["lots"], 1)
    print(f"expiry job on {e['engine']}: {e['members']} members, {e['due']} lots due, "
          f"{e['report']['lots']} expired ({e['report']['points']} points) in "
          f"{e['job_seconds']} s; items read {e['items_read']} -> {ratio:.3f} per lot; "
          f"requests {e['ops']}")
    print(f"expiry job re-run: {e['rerun_lots']} lots, {e['rerun_items_read']} items read")
    ok = (a["orders_max"] <= 2 and a["orders_cold"] <= 2 and a["points_warm"] <= 2
          and a["points_cold"] <= 2 and ratio <= 1.1 and e["report"]["lots"] == e["due"]
          and e["rerun_lots"] == 0 and e["members"] == MEMBERS)
    summary(f"SUMMARY loyalty: POST /orders={max(a['orders_max'], a['orders_cold'])} requests "
            f"(goal <=2), POST /orders upgrading the tier={max(a['upgrade_orders'], default=0)} "
            f"requests (goal report), "
            f"GET /me/points={max(a['points_warm'], a['points_cold'])} reads "
            f"(goal <=2), expiry items read per lot={ratio:.3f} (goal <=1.1) on "
            f"{e['members']} members {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
