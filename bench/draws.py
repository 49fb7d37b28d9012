"""Lucky draws: fairness of the outcome function and the cost of an entry.

Goals (issue 14):
- 100,000 simulated entries with the domain function (``domain.engagement.draws.outcome``,
  HMAC-SHA256 rolls of one seed) while stock holds: the prize counts match the weights,
  Pearson chi-square p > 0.01 (the survival function computed here with the regularized
  upper incomplete gamma function; no scipy);
- entries through the service on DynamoDB Local (moto when Java is missing): DynamoDB
  requests per entry (points cost, points prize: goal <= 8), and 200 entries from 8 threads:
  no prize beyond its stock, no budget overrun, entries per second reported.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from common import counting, moto_stack, summary

SIMULATED = 100_000
SEED = hashlib.sha256(b"perks bench draws").hexdigest()
WEIGHTS = {"grand": 1, "points_888": 20, "points_88": 150, "coupon_20": 80, "gift": 2,
           "thanks": 747}


def chi_square_p(observed: list[int], expected: list[float]) -> tuple[float, float]:
    stat = sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True))
    from chalicelib.domain.delivery.arms import chi2_sf

    return stat, chi2_sf(stat, len(observed) - 1)


def _draw_doc(now: datetime, prizes: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"id": "bench", "name": {"zh": "基准抽奖"},
            "window": {"opens_at": (now - timedelta(hours=1)).isoformat(),
                       "closes_at": (now + timedelta(days=1)).isoformat()},
            "prizes": prizes, **extra}


def simulate() -> dict[str, Any]:
    from chalicelib.domain.engagement.draws import outcome, parse_draw

    prizes = [{"id": k, "kind": "none", "weight": w} for k, w in WEIGHTS.items()]
    draw = parse_draw(_draw_doc(datetime.now(UTC), prizes))
    counts = dict.fromkeys(WEIGHTS, 0)
    t = time.perf_counter()
    for i in range(SIMULATED):
        won = outcome(draw, SEED, f"e{i:06d}", lambda p: True).prize_id
        assert won is not None
        counts[won] += 1
    seconds = time.perf_counter() - t
    total = sum(WEIGHTS.values())
    stat, p = chi_square_p(list(counts.values()),
                           [SIMULATED * w / total for w in WEIGHTS.values()])
    return {"counts": counts, "chi2": stat, "p": p, "us_per_entry": seconds / SIMULATED * 1e6}


def _engine() -> tuple[Any, str]:
    from chalicelib.local import ddblocal

    if ddblocal.unavailable_reason() is None:
        port = ddblocal.free_port()
        proc = ddblocal.start(port)
        os.environ["DYNAMODB_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
        return proc, "DynamoDB Local"
    return None, f"moto ({ddblocal.unavailable_reason()})"


def _setup(members: list[str]) -> None:
    import json
    from pathlib import Path

    from chalicelib import bootstrap
    from chalicelib.domain.engagement.draws import parse_draw
    from chalicelib.domain.loyalty.program import parse_program
    from chalicelib.services.engagement import draws
    from chalicelib.services.loyalty import loyalty
    from chalicelib.services.loyalty import program as programs

    bootstrap.reset()
    p = json.loads((Path(__file__).resolve().parents[1] / "campaigns/program.json").read_text())
    p.pop("$schema", None)
    p["points"]["pending_days"] = 0
    programs.publish(parse_program(p), "bench")
    for m in members:
        loyalty.award(m, 1000, reason="bench")
    prizes = [{"id": "big", "kind": "points", "amount": 300, "weight": 10, "stock": 5},
              {"id": "small", "kind": "points", "amount": 20, "weight": 40},
              {"id": "mug", "kind": "gift", "sku": "MUG", "cost": 3000, "weight": 10,
               "stock": 8},
              {"id": "thanks", "kind": "none", "weight": 40}]
    doc = _draw_doc(datetime.now(UTC), prizes, entry={"cost_points": 10},
                    budget={"points": 3000, "fen": 50000})
    draws.put("bench", parse_draw(doc), "bench")
    draws.metrics_add = lambda *a, **k: None


def service_figures(sequential: int = 40, concurrent: int = 200,
                    threads: int = 8) -> dict[str, Any]:
    from chalicelib.services.engagement import draws

    proc, engine = _engine()
    try:
        with moto_stack("perks-bench-draws"):
            members = [f"bd-{i:03d}" for i in range(concurrent // 4)]
            _setup(members)
            with counting() as c:
                for i in range(sequential):
                    draws.enter(members[i % len(members)], "bench")
                per_entry = c.total() / sequential
                writes = c.total(writes_only=True) / sequential
            start, errors = threading.Event(), []

            def one(m: str) -> None:
                start.wait()
                try:
                    draws.enter(m, "bench")
                except Exception as e:  # reported, not hidden
                    errors.append(type(e).__name__)

            t = time.perf_counter()
            with ThreadPoolExecutor(threads) as pool:
                futures = [pool.submit(one, m) for m in members for _ in range(4)]
                start.set()
                for f in futures:
                    f.result()
            seconds = time.perf_counter() - t
            stats = draws.stats("bench")
    finally:
        if proc is not None:
            proc.terminate()
            os.environ.pop("DYNAMODB_ENDPOINT_URL", None)
    won = {p["id"]: p["won"] for p in stats["prizes"]}
    held = won["big"] <= 5 and won["mug"] <= 8 and stats["budget_spent"]["points"] <= 3000
    return {"engine": engine, "requests": per_entry, "writes": writes, "errors": errors,
            "entries": stats["entries"], "rate": concurrent / seconds, "won": won,
            "held": held, "spent": stats["budget_spent"]}


def main() -> int:
    sim = simulate()
    print(f"simulated {SIMULATED} entries: {sim['counts']}")
    print(f"chi-square {sim['chi2']:.2f} on {len(WEIGHTS) - 1} df, p = {sim['p']:.3f}; "
          f"{sim['us_per_entry']:.1f} µs per outcome")
    svc = service_figures()
    print(f"{svc['engine']}: {svc['requests']:.1f} DynamoDB requests per entry "
          f"({svc['writes']:.1f} writes); 200 concurrent entries at {svc['rate']:.0f}/s, "
          f"won {svc['won']}, budget spent {svc['spent']}, errors {svc['errors']}")
    ok = sim["p"] > 0.01 and svc["requests"] <= 8 and svc["held"] and not svc["errors"]
    summary(f"SUMMARY draws: chi-square p={sim['p']:.3f} (goal >0.01), "
            f"outcome={sim['us_per_entry']:.1f} µs (goal report), "
            f"entry requests={svc['requests']:.1f} (goal <=8), "
            f"stock and budget held={1 if svc['held'] else 0} (goal =1), "
            f"200 concurrent entries={svc['rate']:.0f}/s on {svc['engine']} (goal report) "
            f"{'PASS' if ok else 'FAIL'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
