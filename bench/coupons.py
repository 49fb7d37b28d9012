"""Coupons and checkout: request counts, optimiser cost, flash-sale shard balance.

Goals (issue 4), DynamoDB requests counted with botocore event hooks:
- confirm = 1 write request; quote <= 2 read requests and 0 writes; claim <= 2 read
  requests + 1 TransactWriteItems (through the HTTP API, on moto);
- optimiser: exact against brute force on wallets of up to 12 coupons (random wallets
  here; hypothesis in tests/unit/test_coupon_optimizer.py), and a quote over 30 coupons x
  50 cart lines costs <= 30x a quote with a single coupon on the same cart (same run;
  best of several timed batches each, so other processes on the machine matter less);
- flash sale: K=10 stock shards, 1,000 claims from 20 threads on a stock of 900: the
  busiest shard's write requests / the mean (goal <= 1.5) and "sold out" answers while
  stock remained (goal 0; each sold-out answer is checked with a consistent read of every
  shard right after it: stock never grows, so stock then means stock at the answer). Runs
  on DynamoDB Local when Java is available (real transaction conflicts), else on moto.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from common import counting, moto_stack, summary

CATEGORIES = ["food", "wine", "toys", "home", "beauty", "baby", "digital", "books"]


def _reads_writes(c: Any) -> tuple[int, int, int]:
    return (c.total(writes_only=False), c.total(writes_only=True),
            c.calls.get("dynamodb.TransactWriteItems", 0))


def api_figures() -> dict[str, Any]:
    from chalice.test import Client

    from app import app
    from chalicelib.api.auth import mint
    from chalicelib.services import clock

    clock.freeze(datetime.now(UTC).replace(microsecond=0))
    h = {"Content-Type": "application/json"}
    svc = {**h, "Authorization": f"Bearer {mint('svc', ['service'])}"}
    mkt = {**h, "Authorization": f"Bearer {mint('mk', ['marketer'])}"}
    mem = {**h, "Authorization": f"Bearer {mint('m-bench', ['member'])}"}
    tpl = {"name": "满500减100", "benefit": {"type": "threshold", "threshold": 50000,
                                           "amount": 10000},
           "validity": {"starts_at": "2020-01-01T00:00:00+08:00",
                        "ends_at": "2099-01-01T00:00:00+08:00"},
           "limits": {"stock": 1000, "stock_shards": 10, "per_member_claim": 5}}
    cart = {"items": [{"sku": "A", "category": "food", "quantity": 2, "unit_price": 30000}],
            "shipping_fee": 1000}
    out: dict[str, Any] = {}
    with moto_stack("perks-bench-coupons"), Client(app, stage_name="bench") as client:
        http = client.http

        def call(method: str, path: str, headers: dict[str, str], body: Any = None) -> Any:
            r = http.request(method, path, headers=headers,
                             body=json.dumps(body) if body is not None else b"")
            assert r.status_code < 300, (path, r.status_code, r.body)
            return json.loads(r.body) if r.body else None

        call("POST", "/members", svc, {"member_id": "m-bench"})
        call("PUT", "/admin/coupon-templates/d11", mkt, tpl)
        with counting() as c:
            cid = call("POST", "/me/coupons", mem, {"template_id": "d11"})["coupon_id"]
        out["claim_cold"] = _reads_writes(c)
        with counting() as c:
            call("POST", "/me/coupons", mem, {"template_id": "d11"})
        out["claim"] = _reads_writes(c)
        out["claim_ops"] = dict(c.calls)
        with counting() as c:
            q = call("POST", "/checkout/quote", svc, {"member_id": "m-bench", "cart": cart})
        out["quote"] = _reads_writes(c)
        out["quote_ops"] = dict(c.calls)
        out["quote_best"] = (q["best"]["coupon_ids"], q["best"]["discount"])
        with counting() as c:
            call("POST", "/checkout/reservations", svc, {"member_id": "m-bench", "order_id":
                                                         "o-1", "coupon_ids": [cid],
                                                         "cart": cart})
        out["reserve"] = _reads_writes(c)
        with counting() as c:
            call("POST", "/checkout/reservations/o-1/confirm", svc)
        out["confirm"] = _reads_writes(c)
        out["confirm_ops"] = dict(c.calls)
        with counting() as c:
            call("POST", "/checkout/reservations/o-1/confirm", svc)
        out["confirm_replay"] = _reads_writes(c)
    clock.freeze(None)
    return out


# --- optimiser --------------------------------------------------------------------------------

def _wallet(n: int) -> list[Any]:
    from tests.unit.coupon_factories import coupon

    groups = ["platform", "shop", "category", None]

    def one(k: int) -> Any:
        kind, g = k % 6, groups[k % 4]
        sc: dict[str, Any] = ({"include_categories": [CATEGORIES[k % 8],
                                                      CATEGORIES[(k + 3) % 8]]}
                              if k % 3 == 0 else {})
        if kind == 0:
            b: dict[str, Any] = {"type": "threshold", "threshold": 20000 + 5000 * k,
                                 "amount": 2000 + 300 * k}
        elif kind == 1:
            b = {"type": "percent", "percent_off": 5 + k % 20, "max_discount": 5000 + 100 * k}
        elif kind == 2:
            b = {"type": "stepped", "step": 10000, "amount": 1000 + 10 * k,
                 "max_steps": 3 + k % 4}
        elif kind == 3:
            b = {"type": "no_threshold", "amount": 300 + 10 * k}
        elif kind == 4:
            b, sc = {"type": "free_shipping"}, {}
        else:
            b = {"type": "gift", "sku": f"G{k}", "value": 1000 + k}
            sc = {**sc, "min_spend": 10000}
        return coupon(f"c{k:02d}", b, stacking={"group": g} if g else {}, scope=sc)

    return [one(k) for k in range(n)]


def _cpu_times(fns: list[tuple[Any, int]], rounds: int = 15) -> list[float]:
    """Best CPU time per call of each ``(fn, batch)``, batches interleaved round by round
    (process CPU time: other processes on a shared machine barely move it)."""
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for n, (fn, batch) in enumerate(fns):
            t = time.process_time()
            for _ in range(batch):
                fn()
            best[n] = min(best[n], (time.process_time() - t) / batch)
    return best


def optimiser_figures() -> dict[str, Any]:
    from chalicelib.domain.coupons.cart import lines_of
    from chalicelib.domain.coupons.eligibility import check_spend, coverage
    from chalicelib.domain.coupons.optimizer import search
    from chalicelib.domain.coupons.quote import quote
    from chalicelib.domain.coupons.stacking import Space
    from tests.unit.coupon_factories import cart, coupon, ctx
    from tests.unit.test_coupon_optimizer import brute_force

    rng = random.Random(20261111)
    items = [(f"S{i:03d}", CATEGORIES[i % 8], 1 + i % 3, 990 + rng.randint(0, 20000))
             for i in range(50)]
    big = cart(*items, shipping_fee=1200)
    wallet = _wallet(30)
    context = ctx(max_per_order=4)
    q30 = quote(big, wallet, context)
    t1, t30 = _cpu_times([(lambda: quote(big, wallet[:1], context), 100),
                          (lambda: quote(big, wallet, context), 10)])
    agree = total = 0
    for _ in range(100):
        n_lines = rng.randint(1, 6)
        c = cart(*[(f"S{i}", rng.choice(CATEGORIES[:3]), rng.randint(1, 3),
                    rng.randint(0, 40000)) for i in range(n_lines)],
                 shipping_fee=rng.choice([0, 800]))
        w = []
        for k in range(12):
            kind = rng.randint(0, 4)
            b = [{"type": "fixed", "amount": rng.randint(100, 20000)},
                 {"type": "threshold", "threshold": 20000, "amount": rng.randint(100, 20000)},
                 {"type": "percent", "percent_off": rng.randint(5, 50)},
                 {"type": "free_shipping"}, {"type": "gift", "sku": "G", "value": 100}][kind]
            sc = ({"include_categories": [rng.choice(CATEGORIES[:3])], "min_spend": 1}
                  if rng.random() < 0.5 else {})
            st = {"group": rng.choice(["a", "b", "c"])} if rng.random() < 0.5 else {}
            w.append(coupon(f"c{k:02d}", b, f"t{k}", stacking=st, scope=sc))
        lines = lines_of(c)
        usable = []
        for x in w:
            mask, eligible = coverage(x.rules, lines)
            if check_spend(x, mask, eligible, c.shipping_fee) is None:
                usable.append((x, mask, eligible))
        m = rng.randint(1, 5)
        got = [o.key() for o in search(Space(lines, c.shipping_fee, usable), m, 4)]
        total += 1
        agree += got == [e[0] for e in brute_force(c, w, m)]
    return {"t1_ms": t1 * 1e3, "t30_ms": t30 * 1e3, "ratio": t30 / t1,
            "best": (q30.best.coupon_ids, q30.best.discount + q30.best.shipping_discount),
            "agree": agree, "total": total}


# --- flash sale -------------------------------------------------------------------------------

def _serialise_moto() -> Any:
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.RLock()
    original = BotocoreStubber.process_request

    def atomic(self: Any, request: Any) -> Any:
        with lock:
            return original(self, request)

    BotocoreStubber.process_request = atomic  # type: ignore[method-assign]
    return original


def _flash_engine() -> tuple[Any, Any, str]:
    """(DynamoDB Local process or None, moto's original request hook or None, engine name):
    DynamoDB Local when it can start, else moto with requests serialised."""
    from chalicelib.local import ddblocal

    if ddblocal.unavailable_reason() is None:
        port = ddblocal.free_port()
        proc = ddblocal.start(port)
        os.environ["DYNAMODB_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
        return proc, None, "DynamoDB Local"
    return None, _serialise_moto(), f"moto ({ddblocal.unavailable_reason()})"


def _shard_counter(per_shard: Counter[int]) -> Callable[..., None]:
    """A botocore hook counting TransactWriteItems writes per stock shard."""
    from chalicelib.adapters import keys

    def count_shards(params: dict[str, Any] | None = None, **_: Any) -> None:
        for entry in (params or {}).get("TransactItems", []):
            body = next(iter(entry.values()))
            sk = body.get("Key", {}).get("SK")
            if isinstance(sk, dict):
                sk = sk.get("S")
            if isinstance(sk, str) and sk.startswith(keys.STOCK):
                per_shard[int(sk.rsplit("#", 1)[1])] += 1

    return count_shards


def _flash_setup(claims: int, shards: int, stock: int, per_shard: Counter[int]) -> list[str]:
    """The flash template and ``claims`` members; shard writes counted from here on."""
    from chalicelib import bootstrap
    from chalicelib.adapters import aws, keys
    from chalicelib.domain.coupons.template import parse_template
    from chalicelib.services.coupons import coupons

    bootstrap.reset()
    tpl = {"name": "限时抢购", "benefit": {"type": "fixed", "amount": 5000},
           "validity": {"starts_at": "2020-01-01T00:00:00+08:00",
                        "ends_at": "2099-01-01T00:00:00+08:00"},
           "limits": {"stock": stock, "stock_shards": shards}}
    coupons.put_template("flash", parse_template(tpl, "flash"), "bench")
    members = [f"m-{i:04d}" for i in range(claims)]
    with aws.table().batch_writer() as batch:
        for m in members:
            batch.put_item(Item={**keys.member_profile(m), "member_id": m,
                                 "erased": False, "timezone": "Asia/Shanghai"})
    aws.dynamodb_resource().meta.client.meta.events.register_first(
        "before-parameter-build.dynamodb.TransactWriteItems", _shard_counter(per_shard),
        unique_id="bench-flash-shards")
    coupons.metrics_add = lambda *a, **k: None  # no EMF lines in the bench output
    return members


def _flash_claims(members: list[str], threads: int) -> tuple[Counter[str], list[int], float]:
    """Every member claims at once: (outcomes, stock left at each false sold-out, seconds)."""
    from chalicelib.errors import SoldOut
    from chalicelib.services.coupons import coupons

    false_sold_out: list[int] = []
    outcome: Counter[str] = Counter()
    start = threading.Event()

    def claim(m: str) -> None:
        start.wait()
        try:
            coupons.claim(m, "flash")
            outcome["ok"] += 1
        except SoldOut:
            outcome["sold_out"] += 1
            remaining = _flash_left()
            if remaining:
                false_sold_out.append(remaining)
        except Exception as e:  # reported, not hidden
            outcome[type(e).__name__] += 1

    t = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(claim, m) for m in members]
        start.set()
        for f in futures:
            f.result()
    return outcome, false_sold_out, time.perf_counter() - t


def _flash_left() -> int:
    from chalicelib.services.coupons import coupons

    return sum(int(s["remaining"]) for s in coupons.repo().shards("flash"))


def flash_figures(claims: int = 1000, threads: int = 20, shards: int = 10,
                  stock: int = 900) -> dict[str, Any]:
    import contextlib

    from moto_fast import fast_transactions

    from chalicelib import bootstrap
    from chalicelib.services.coupons import coupons

    bootstrap.reset()
    proc, restore, engine = _flash_engine()
    per_shard: Counter[int] = Counter()
    try:
        fast = fast_transactions() if proc is None else contextlib.nullcontext()
        with moto_stack("perks-bench-flash"), fast:
            members = _flash_setup(claims, shards, stock, per_shard)
            outcome, false_sold_out, seconds = _flash_claims(members, threads)
            final = _flash_left()
            shard_items = coupons.repo().shards("flash")
    finally:
        if restore is not None:
            from moto.core.botocore_stubber import BotocoreStubber

            BotocoreStubber.process_request = restore  # type: ignore[method-assign]
        if proc is not None:
            proc.terminate()
            os.environ.pop("DYNAMODB_ENDPOINT_URL", None)
    writes = [per_shard.get(k, 0) for k in range(shards)]
    mean = sum(writes) / shards
    return {"engine": engine, "outcome": dict(outcome), "false": len(false_sold_out),
            "writes": writes, "ratio": max(writes) / mean if mean else 0.0,
            "claimed": [int(s.get("claimed", 0)) for s in shard_items], "final": final,
            "seconds": seconds, "stock": stock, "claims": claims}


def main() -> int:
    a = api_figures()
    for name in ("claim_cold", "claim", "quote", "reserve", "confirm", "confirm_replay"):
        r, w, tx = a[name]
        print(f"{name}: {r} read requests, {w} write requests ({tx} TransactWriteItems)")
    print(f"claim ops {a['claim_ops']}; quote ops {a['quote_ops']}; "
          f"confirm ops {a['confirm_ops']}")
    o = optimiser_figures()
    print(f"optimiser: single coupon {o['t1_ms']:.3f} ms, 30 coupons x 50 lines "
          f"{o['t30_ms']:.3f} ms -> ratio {o['ratio']:.1f}; best {o['best']}")
    print(f"optimiser exact vs brute force on 12-coupon wallets: {o['agree']}/{o['total']}")
    f = flash_figures()
    print(f"flash sale on {f['engine']}: {f['claims']} claims, 20 threads, stock "
          f"{f['stock']} over 10 shards in {f['seconds']:.1f} s: {f['outcome']}; "
          f"stock left {f['final']}; claimed per shard {f['claimed']}")
    print(f"flash sale write requests per shard {f['writes']} -> busiest / mean "
          f"{f['ratio']:.2f}; false sold-outs {f['false']}")
    claim_r, claim_w, claim_tx = a["claim"]
    quote_r, quote_w, _ = a["quote"]
    conf_w = a["confirm"][1]
    ok = (claim_r <= 2 and claim_tx == 1 and claim_w == 1 and a["claim_cold"][0] <= 2
          and quote_r <= 2 and quote_w == 0 and conf_w == 1
          and o["ratio"] <= 30 and o["agree"] == o["total"]
          and f["ratio"] <= 1.5 and f["false"] == 0 and f["outcome"].get("ok") == f["stock"])
    summary(f"SUMMARY coupons: confirm writes={conf_w} (goal <=1), quote reads={quote_r} "
            f"(goal <=2), quote writes={quote_w} (goal 0), claim reads={claim_r} (goal <=2), "
            f"claim TransactWriteItems={claim_tx} (goal 1), optimiser 30x50 / single="
            f"{o['ratio']:.1f} (goal <=30), busiest shard / mean={f['ratio']:.2f} (goal <=1.5),"
            f" false sold-outs={f['false']} (goal 0) {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
