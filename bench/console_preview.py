"""Console preview on 20,000 and 200,000 members (DynamoDB Local): the sampled answer's time,
the estimate against the exact count of the background job, and the job's own time.

    python bench/console_preview.py [--small 20000] [--large 200000] [--runs 5]

Members are written straight through the member index repository in parallel batches (the
bench measures preview, not sign-up). Goals (issue 11): preview on 200,000 members answers in
<= 2x its time on 20,000, and the estimate is within its stated margin of the exact count.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from common import moto_stack, summary

CITIES = ("Shanghai", "Chengdu", "Beijing", "Hangzhou")


def load(start: int, stop: int, threads: int = 6) -> None:
    from chalicelib.adapters.members.index import MemberIndex

    def chunk(lo: int) -> None:
        rnd = random.Random(lo)
        hi = min(stop, lo + 2000)
        profiles = [{"member_id": f"m{i:07d}", "city": rnd.choice(CITIES), "locale": "zh-CN",
                     "timezone": rnd.choice(["Asia/Shanghai"] * 4 + ["Asia/Tokyo"]),
                     "consent": {"push": True}} for i in range(lo, hi)]
        loyalty = [{"member_id": p["member_id"], "tier": rnd.choice(["silver", "gold"]),
                    "points": rnd.randrange(5000)} for p in profiles[::2]]
        MemberIndex().put_members(profiles, loyalty)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(chunk, range(start, stop, 2000)))


def measure(c: Any, runs: int) -> dict[str, Any]:
    from chalicelib.services.campaigns import campaigns
    from chalicelib.services.campaigns import preview as campaign_preview

    times, outs = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        outs.append(campaigns.preview(c, samples=5))
        times.append(time.perf_counter() - t0)
    job = outs[-1]["audience"].get("job_id")
    t0 = time.perf_counter()
    if job is None:  # read whole inline: already exact
        exact = outs[-1]["audience"]
    else:  # what the queue worker runs
        campaign_preview.run_job(c.id, job)
        exact = campaign_preview.job_status(c.id, job)["audience"]
    count_s = time.perf_counter() - t0
    inside = sum(abs(o["audience"]["size"] - exact["size"]) <= o["audience"].get("margin", 0)
                 for o in outs)
    return {"median_s": statistics.median(times), "exact": exact["size"],
            "estimate": outs[-1]["audience"]["size"], "margin": outs[-1]["audience"].get("margin"),
            "inside": inside, "runs": runs, "count_s": count_s,
            "read": outs[-1]["audience"]["profiles_read"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", type=int, default=20_000)
    ap.add_argument("--large", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    from chalicelib.domain.campaigns.validate import parse_campaign
    from chalicelib.local import ddblocal

    reason = ddblocal.unavailable_reason()
    if reason:
        summary(f"SUMMARY console_preview: skipped ({reason}) FAIL")
        return
    port = ddblocal.free_port()
    proc = ddblocal.start(port)
    os.environ["DYNAMODB_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
    try:
        with moto_stack("perks-bench-preview"):
            import json
            from pathlib import Path

            doc = json.loads((Path(__file__).resolve().parents[1] / "campaigns" /
                              "win-back.json").read_text())
            doc.update(status="draft", audience={"all": [
                {"attr": "city", "op": "eq", "value": "Shanghai"},
                {"attr": "tier", "op": "eq", "value": "gold"}]})
            c = parse_campaign(doc)
            t0 = time.perf_counter()
            load(0, args.small)
            print(f"loaded {args.small:,} members in {time.perf_counter() - t0:.1f}s")
            small = measure(c, args.runs)
            print("small", small)
            t0 = time.perf_counter()
            load(args.small, args.large)
            print(f"loaded {args.large:,} members in {time.perf_counter() - t0:.1f}s")
            # the same document's count finished < REUSE_SECONDS ago would be answered
            # again; the population changed, so count afresh
            from datetime import timedelta

            from chalicelib.services import clock
            from chalicelib.services.campaigns import preview as campaign_preview
            clock.freeze(clock.now() + timedelta(seconds=campaign_preview.REUSE_SECONDS + 1))
            large = measure(c, args.runs)
            print("large", large)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    ratio = large["median_s"] / small["median_s"]
    ok = ratio <= 2 and large["inside"] == large["runs"] and small["inside"] == small["runs"]
    summary(f"SUMMARY console_preview: preview {args.large:,}/{args.small:,} members="
            f"{ratio:.2f}x (goal <=2), "
            f"estimates within margin of exact={large['inside'] + small['inside']}/"
            f"{large['runs'] + small['runs']} (goal >={large['runs'] + small['runs']}), "
            f"preview on {args.large:,}={large['median_s'] * 1000:.0f} ms (goal report), "
            f"exact count job on {args.large:,}={large['count_s']:.1f} s (goal report) "
            + ("PASS" if ok else "FAIL"))


if __name__ == "__main__":
    main()
