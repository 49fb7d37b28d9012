"""`make load`: Locust, headless and time-bounded, against the local stack on DynamoDB Local.

    python bench/load/run.py [--url http://127.0.0.1:8000] [--users 12] [--time 60]

Uses the stack at --url when it answers (your `make run`), else starts one on free ports.
Seeds members, a claimable coupon template and a campaign, runs bench/load/locustfile.py
(member: claim → quote → reserve → confirm; service: orders; marketer: campaign preview;
a /health probe), then prints requests, the error rate (goal: 0 errors other than 429) and
p50/p99 latency of each route as a ratio to GET /health measured in the same run. The result
is added to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TEMPLATE = "load-10-off"
CAMPAIGN = "load-preview"
MEMBERS = [f"m-load-{i:03d}" for i in range(40)]


def _call(method: str, url: str, token: str, body: Any = None) -> requests.Response:
    return requests.request(method, url, json=body, timeout=30, headers={
        "Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex})


def seed(base: str, tokens: dict[str, str]) -> None:
    for m in MEMBERS:
        r = _call("POST", f"{base}/members", tokens["service"], {
            "member_id": m, "name": f"Load {m}", "timezone": "Asia/Shanghai", "locale": "zh-CN",
            "consent": {"push": True}})
        if r.status_code not in (201, 409):
            raise SystemExit(f"seeding member {m}: {r.status_code} {r.text[:300]}")
    now = datetime.now(UTC)
    r = _call("PUT", f"{base}/admin/coupon-templates/{TEMPLATE}", tokens["marketer"], {
        "name": "¥10 off (load test)", "benefit": {"type": "no_threshold", "amount": 1000},
        "validity": {"starts_at": (now - timedelta(days=1)).isoformat(),
                     "ends_at": (now + timedelta(days=30)).isoformat()},
        "limits": {"stock": None, "per_member_claim": 1000, "per_member_use": None}})
    if r.status_code >= 300:
        raise SystemExit(f"seeding the coupon template: {r.status_code} {r.text[:500]}")
    campaign = json.loads((ROOT / "campaigns" / "double11.json").read_text())
    campaign.update(id=CAMPAIGN, status="draft")
    text = json.dumps(campaign).replace('"double11"', json.dumps(TEMPLATE))
    r = _call("PUT", f"{base}/admin/campaigns/{CAMPAIGN}", tokens["marketer"], json.loads(text))
    if r.status_code >= 300:
        raise SystemExit(f"seeding the campaign: {r.status_code} {r.text[:500]}")


def read_stats(prefix: Path) -> dict[str, dict[str, str]]:
    with open(f"{prefix}_stats.csv", newline="") as f:
        return {row["Name"]: row for row in csv.DictReader(f)}


def _ms(row: dict[str, str], column: str) -> float:
    try:
        return float(row[column])
    except (KeyError, ValueError):
        return float("nan")


def run_locust(args: argparse.Namespace, base: str, work: Path) -> None:
    """Seed the stack at ``base``, then run locust headless; its CSVs land in ``work``."""
    from tests.fuzz.stack import member_tokens, stage_tokens

    tokens = stage_tokens(args.stage)
    seed(base, tokens)
    config = {"tokens": {**tokens, "members": member_tokens(args.stage, MEMBERS)},
              "members": MEMBERS, "template": TEMPLATE, "campaign": CAMPAIGN}
    (work / "config.json").write_text(json.dumps(config))
    cmd = [sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"), "--headless",
           "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{args.time}s",
           "--host", base, "--csv", str(work / "load"), "--only-summary",
           "--stop-timeout", "10", "--exit-code-on-error", "0", "--loglevel", "WARNING"]
    print(f"locust: {args.users} users for {args.time} s against {base}", flush=True)
    proc = subprocess.run(cmd, cwd=HERE, check=False, capture_output=True, text=True,
                          timeout=args.time + 120, env={
                              **os.environ, "LOAD_CONFIG": str(work / "config.json"),
                              "LOAD_THROTTLED": str(work / "throttled.txt"),
                              "PYTHONPATH": str(ROOT)})
    print(proc.stdout[-6000:])
    if proc.returncode != 0:
        print(proc.stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"locust exited with {proc.returncode}")


def main(argv: list[str] | None = None) -> int:
    from tests.fuzz.stack import running_stack

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--users", type=int, default=12)
    ap.add_argument("--spawn-rate", type=float, default=4.0)
    ap.add_argument("--time", type=int, default=60, help="seconds of load")
    ap.add_argument("--stage", default="dev")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="perks-load-"))
    started = time.perf_counter()
    with running_stack(args.url, stage=args.stage) as base:
        run_locust(args, base, work)
    stats = read_stats(work / "load")
    agg = stats.pop("Aggregated", {})
    health = stats.get("/health", {})
    h50, h99 = _ms(health, "50%"), _ms(health, "99%")
    throttled_file = work / "throttled.txt"
    throttled = int(throttled_file.read_text() or 0) if throttled_file.exists() else 0
    total = int(agg.get("Request Count", 0))
    errors = int(agg.get("Failure Count", 0))
    lines = [f"{'route':48} {'requests':>8} {'errors':>6} {'p50 ms':>7} {'p99 ms':>7} "
             f"{'p50/health':>10} {'p99/health':>10}"]
    ratios: dict[str, tuple[float, float]] = {}
    for name, row in sorted(stats.items()):
        p50, p99 = _ms(row, "50%"), _ms(row, "99%")
        r50, r99 = p50 / h50 if h50 else float("nan"), p99 / h99 if h99 else float("nan")
        ratios[name] = (r50, r99)
        lines.append(f"{name:48} {row['Request Count']:>8} {row['Failure Count']:>6} "
                     f"{p50:>7.0f} {p99:>7.0f} {r50:>10.1f} {r99:>10.1f}")
    report = "\n".join(lines)
    print(report)
    fail_file = Path(f"{work / 'load'}_failures.csv")
    if errors and fail_file.exists():
        print("errors:\n" + fail_file.read_text()[:3000])
    rate = errors / total if total else 1.0
    worst = max(((n, r) for n, r in ratios.items() if n != "/health"),
                key=lambda x: x[1][1], default=("-", (float("nan"), float("nan"))))
    checkout = ratios.get("/checkout/reservations", (float("nan"), float("nan")))
    ok = total > 0 and errors == 0 and "/health" in stats
    summary = (f"SUMMARY load: requests={total} in {args.time} s with {args.users} users "
               f"(goal report), non-429 error rate={rate * 100:.2f}% (goal 0), "
               f"429 answers={throttled} (goal report), "
               f"reserve p50/health={checkout[0]:.1f}x (goal report), "
               f"reserve p99/health={checkout[1]:.1f}x (goal report), "
               f"worst p99/health={worst[1][1]:.1f}x {worst[0]} (goal report) "
               f"{'PASS' if ok else 'FAIL'}")
    print(summary)
    sys.path.insert(0, str(ROOT / "bench"))
    import run_all

    run_all.record_external("load", summary, report, time.perf_counter() - started)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
