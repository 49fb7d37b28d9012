"""Lucky-draw entries under 20 % injected faults (throttling, transaction conflicts,
timeouts after commit, dropped connections), with members that retry like real clients
(same Idempotency-Key). Afterwards, faults paused: points debited ⇔ entry recorded ⇔ stock
taken, for every entry; each ledger sums to its balance; the verifier agrees."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from chalicelib.services import clock
from chalicelib.services.engagement import draws
from tests.draw_support import draw
from tests.faults import FaultInjector
from tests.faults.client import RetryingClient
from tests.faults.flows import history, members, ok, program

KINDS = ("throttle", "conflict", "timeout_after_commit", "connection_closed")
MEMBERS = [f"m-dr-{i}" for i in range(3)]
ENTRIES_PER_MEMBER = 3


def test_entries_pay_record_and_take_stock_exactly_once_under_faults(api_on, engine):
    api = api_on
    members(api, MEMBERS)
    program(api)
    for m in MEMBERS:
        ok(api.post(f"/admin/members/{m}/points", role="admin",
                    body={"delta": 200, "reason": "draw test"}))
    ok(api.put("/admin/draws/lucky", role="marketer", body=draw(datetime.now(UTC))))
    client = RetryingClient(api)
    calls = [m for m in MEMBERS for _ in range(ENTRIES_PER_MEMBER)]
    threads = 4 if engine == "dynamodb-local" else 1
    with FaultInjector(ratio=0.2, seed=14, kinds=KINDS) as faults, \
            ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(lambda m: client.post(
            "/me/draws/lucky/entries", role="member", sub=m), calls))
    print(engine, faults.report(), client.report())
    assert faults.injected["timeout_after_commit"] > 0
    assert client.gave_up == 0, client.report()
    assert all(r.status == 201 for r in results), [r.status for r in results]
    with faults.paused():
        stats = ok(api.get("/admin/draws/lucky/stats", role="marketer"))
        assert stats["entries"] == len(calls)  # stock/won counters: one per entry
        for m in MEMBERS:
            mine = ok(api.get("/me/draws/lucky/entries", role="member", sub=m))["entries"]
            assert len(mine) == ENTRIES_PER_MEMBER
            ledger = history(api, m)
            kinds = Counter((e["kind"], e["reason"].split()[3]) for e in ledger
                            if e["reason"].startswith("draw lucky entry "))
            for e in mine:  # one spend per entry, one earn per points prize
                assert kinds[("spend", e["entry_id"])] == 1, (e, kinds)
                assert kinds[("earn", e["entry_id"])] == (1 if e.get("points_won") else 0)
            assert sum(kinds.values()) == len(mine) + sum(
                1 for e in mine if e.get("points_won"))
            points = ok(api.get("/me/points", role="member", sub=m))
            assert points["available"] == sum(e["points"] for e in ledger)
        clock.freeze(datetime.now(UTC) + timedelta(days=2))
        try:
            report = draws.verify("lucky")
        finally:
            clock.freeze(None)
        assert report["ok"] and report["entries"] == len(calls), report
