"""Console results: a campaign with 90 days of data is read with <= 3 requests, 0 Scans.

Goals (issue 11): the results page's API call (GET /admin/campaigns/{id}/results for 90
days) costs <= 3 DynamoDB read requests and no Scan; reported besides: the campaign list's
live columns for a page of 50 campaigns (next occurrence, budget used, 7-day sparkline) in
BatchGetItem requests. Worst case items: 90 days x 10 shards, every counter set and two
variant arms' counters, on moto through the HTTP API (chalice's test client), requests
counted with botocore event hooks.
"""

from __future__ import annotations

import math
import time
from typing import Any

from common import counting, moto_stack, summary

CID = "bench-results"


def _seed() -> None:
    from chalicelib.adapters import aws, keys
    from chalicelib.domain.campaigns.validate import parse_campaign
    from chalicelib.domain.delivery.results import VARIANT_COUNTERS, days_between
    from chalicelib.domain.delivery.stats import COUNTERS
    from chalicelib.services.campaigns import campaigns

    doc = {"id": CID, "name": "bench", "status": "active",
           "window": {"start": "2020-01-01T00:00:00+00:00"},
           "trigger": {"type": "recurring", "cron": "0 10 * * *"},
           "actions": [{"type": "message", "channels": ["inbox"],
                        "content": {"zh-CN": {"title": "t", "body": "b"}}}],
           "experiment": {"holdout_percent": 10, "variants": [
               {"id": "A", "weight": 1}, {"id": "B", "weight": 1}]}}
    for i in range(50):
        campaigns.put(CID if i == 0 else f"{CID}-{i}", parse_campaign(
            {**doc, "id": CID if i == 0 else f"{CID}-{i}"}), "bench")
    counters = {k: 1234 for k in COUNTERS} | {f"{k}@{a}": 567 for k in VARIANT_COUNTERS
                                             for a in ("A", "B")}
    with aws.table().batch_writer() as batch:
        for day in days_between("2025-01-01", "2025-03-31"):
            for shard in range(keys.DAY_SHARDS):
                k = keys.campaign_day(CID, day, "x")
                batch.put_item(Item={**k, "SK": f"{keys.DAY}{day}#{shard:02d}",
                                     "campaign_id": CID, "day": day, **counters})


def figures() -> dict[str, Any]:
    from chalice.test import Client

    from app import app
    from tests.conftest import token

    _seed()
    auth = {"Authorization": f"Bearer {token('marketer', 'bench')}"}
    with Client(app, stage_name="bench") as client:
        with counting() as c:
            t0 = time.perf_counter()
            r = client.http.get(f"/admin/campaigns/{CID}/results?from=2025-01-01&to=2025-03-31",
                                headers=auth)
            ms = (time.perf_counter() - t0) * 1000
        assert r.status_code == 200, r.body
        results = {k: v for k, v in c.calls.items() if k.startswith("dynamodb.")}
        day_queries = results.get("dynamodb.Query", 0)
        with counting() as c2:
            r2 = client.http.get("/admin/campaigns?limit=50&activity=true", headers=auth)
        assert r2.status_code == 200, r2.body
        listing = {k: v for k, v in c2.calls.items() if k.startswith("dynamodb.")}
    return {"results_calls": results, "results_day_queries": day_queries,
            "results_reads": sum(results.values()), "scans": results.get("dynamodb.Scan", 0)
            + listing.get("dynamodb.Scan", 0), "results_ms": round(ms, 1),
            "list_calls": listing, "list_batches": listing.get("dynamodb.BatchGetItem", 0),
            "list_goal": math.ceil(50 * 11 / 100)}


def main() -> None:
    with moto_stack("perks-bench-results"):
        f = figures()
    print(f"results 90 days: {f['results_calls']} ({f['results_ms']} ms on moto)")
    print(f"list page of 50 with live columns: {f['list_calls']}")
    ok = f["results_reads"] <= 3 and f["scans"] == 0
    summary(f"SUMMARY console_results: results 90 days read requests="
            f"{f['results_reads']} (goal <=3), day-counter Query pages="
            f"{f['results_day_queries']} (goal report), Scans={f['scans']} (goal 0), list live "
            f"columns BatchGetItem for 50 campaigns={f['list_batches']} (goal "
            f"<={f['list_goal']}) {'PASS' if ok else 'FAIL'}")


if __name__ == "__main__":
    main()
