"""Gift cancellation under injected faults: the points a cancelled gift cost come back
exactly once, whatever fails (throttling, conflicts, a timeout after the commit), with an
operator console that retries with the same Idempotency-Key.

Afterwards (faults paused): one ``return`` ledger entry per cancelled gift, every gift
cancelled, each member's ledger sums to its balance.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.faults import FaultInjector
from tests.faults.client import RetryingClient
from tests.faults.flows import history, members, ok, order_body, program

KINDS = ("throttle", "conflict", "timeout_after_commit", "connection_closed")
MEMBERS = [f"m-gf-{i}" for i in range(3)]
GIFTS_PER_MEMBER = 2


def _redeemed(api, member: str) -> list[str]:
    ok(api.post("/orders", role="service", sub="svc", body=order_body(f"o-{member}", member)))
    return [ok(api.post("/me/rewards/fault-gift/redeem", role="member", sub=member))[
        "redemption_id"] for _ in range(GIFTS_PER_MEMBER)]


def _books_balance(api, member: str) -> list[dict]:
    entries = history(api, member)
    points = ok(api.get("/me/points", role="member", sub=member))
    assert points["available"] + points["pending"] == sum(e["points"] for e in entries)
    return entries


def test_cancellations_return_points_exactly_once_under_faults(api_on, engine):
    api = api_on
    members(api, MEMBERS)
    program(api, gift_cost=100)
    gifts = {fid: m for m in MEMBERS for fid in _redeemed(api, m)}
    before = {m: ok(api.get("/me/points", role="member", sub=m))["available"] for m in MEMBERS}
    client = RetryingClient(api)
    results = {}

    def cancel(fid: str) -> None:
        results[fid] = client.post(f"/admin/fulfilments/{fid}/cancel", role="admin",
                                   sub="ops-1", body={"reason": "warehouse lost it"})

    with (FaultInjector(ratio=0.2, seed=11, kinds=KINDS) as faults,
          ThreadPoolExecutor(4 if engine == "dynamodb-local" else 1) as pool):
        list(pool.map(cancel, sorted(gifts)))
    print(engine, faults.report(), client.report())
    assert sum(faults.injected.values()) > 0
    assert client.gave_up == 0, client.report()
    with faults.paused():
        for fid, out in results.items():
            assert out.status == 200 and out.body["status"] == "cancelled", (fid, out)
        for m in MEMBERS:
            entries = _books_balance(api, m)
            returns = Counter(e["reason"].split()[1] for e in entries if e["kind"] == "return")
            mine = {f for f, who in gifts.items() if who == m}
            assert returns == dict.fromkeys(mine, 1), f"points back for {m}: {returns}"
            after = ok(api.get("/me/points", role="member", sub=m))["available"]
            assert after == before[m] + 100 * GIFTS_PER_MEMBER


def test_a_cancel_retried_after_an_ambiguous_commit_returns_points_once(api):
    members(api, ["m-gf-r"])
    program(api, gift_cost=100)
    [fid, _] = _redeemed(api, "m-gf-r")
    client = RetryingClient(api)
    with FaultInjector(ratio=1.0, kinds=("timeout_after_commit",),
                       operations={"TransactWriteItems"}, limit=1) as faults:
        out = client.post(f"/admin/fulfilments/{fid}/cancel", role="admin", sub="ops-1",
                          body={"reason": "member asked"})
    assert faults.injected["timeout_after_commit"] == 1
    assert out.status == 200 and out.body["status"] == "cancelled", out
    with faults.paused():
        returns = [e for e in _books_balance(api, "m-gf-r") if e["kind"] == "return"]
    assert len(returns) == 1, f"one cancellation asked for, {len(returns)} returns: {returns}"
