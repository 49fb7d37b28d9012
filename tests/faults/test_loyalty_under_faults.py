"""Order → points → refund → reward under 20 % injected faults (DynamoDB throttling,
transaction conflicts, timeouts after commit, dropped connections), with callers that retry
like real clients: same Idempotency-Key, same order_id/refund_id, and a backend that resends
an order whose answer it lost (new key, same order).

Afterwards (faults paused): every order recorded and earning once, every refund reversing
once; each member's ledger sums to its balance; nothing lost, nothing doubled. Runs on moto
(sequential callers: moto's transactions are not atomic across threads) and on DynamoDB
Local (concurrent callers).
"""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.faults import FaultInjector
from tests.faults.client import RetryingClient
from tests.faults.flows import history, members, ok, order_body, program

KINDS = ("throttle", "conflict", "timeout_after_commit", "connection_closed")
MEMBERS = [f"m-fl-{i}" for i in range(5)]
ORDERS_PER_MEMBER = 4


def test_orders_and_refunds_have_exactly_once_effects_under_faults(api_on, engine):
    api = api_on
    members(api, MEMBERS)
    program(api, gift_cost=100)
    client = RetryingClient(api)
    orders = {f"o-fl-{m}-{n}": m for m in MEMBERS for n in range(ORDERS_PER_MEMBER)}
    results: dict[str, object] = {}
    threads = 4 if engine == "dynamodb-local" else 1

    def place(order_id: str) -> None:
        body = order_body(order_id, orders[order_id])
        first = client.post("/orders", role="service", sub="svc", body=body)
        # The backend lost the answer and sends the same order again with a new key.
        again = client.post("/orders", role="service", sub="svc", body=body,
                            key=uuid.uuid4().hex)
        results[order_id] = (first, again)

    def refund(member: str) -> None:
        results[f"refund-{member}"] = client.post(
            f"/orders/o-fl-{member}-0/refunds", role="service", sub="svc",
            body={"refund_id": f"r-{member}", "items": [{"sku": "sku-f-2", "quantity": 1}]})

    with FaultInjector(ratio=0.2, seed=5, kinds=KINDS) as faults:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(place, sorted(orders)))
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(refund, MEMBERS))
    print(engine, faults.report(), client.report())
    assert faults.injected["timeout_after_commit"] > 0 and faults.injected["throttle"] > 0
    assert client.gave_up == 0, client.report()
    for order_id in orders:
        first, again = results[order_id]
        assert first.status == 201 and again.status == 201, (order_id, first, again)
        assert first.body["points_earned"] == again.body["points_earned"]
    for m in MEMBERS:
        assert results[f"refund-{m}"].status == 201, results[f"refund-{m}"]
    with faults.paused():
        for m in MEMBERS:
            entries = history(api, m)
            kinds = Counter(e["kind"] for e in entries)
            earned = Counter(e["order_id"] for e in entries if e["kind"] == "earn")
            assert set(earned) == {o for o, who in orders.items() if who == m}, \
                f"lost earnings for {m}: {earned}"
            twice = [e for e in entries if e["kind"] == "earn" and earned[e["order_id"]] > 1]
            assert not twice, f"an order earned twice: {twice}"
            assert kinds["reverse"] == 1, f"refund effects for {m}: {kinds}"
            points = ok(api.get("/me/points", role="member", sub=m))
            assert points["available"] + points["pending"] == sum(
                e["points"] for e in entries), (points, entries)
            for o, who in orders.items():
                if who == m:
                    ok(api.get(f"/orders/{o}", role="service", sub="svc"))


def test_a_redemption_retried_after_an_ambiguous_commit_spends_once(api):
    members(api, ["m-fl-r"])
    program(api, gift_cost=100)
    ok(api.post("/orders", role="service", sub="svc", body=order_body("o-fl-r", "m-fl-r")))
    client = RetryingClient(api)
    with FaultInjector(ratio=1.0, kinds=("timeout_after_commit",),
                       operations={"TransactWriteItems"}, limit=1) as faults:
        out = client.post("/me/rewards/fault-gift/redeem", role="member", sub="m-fl-r")
    assert faults.injected["timeout_after_commit"] == 1
    assert out.status in (200, 201), out
    with faults.paused():
        spends = [e for e in history(api, "m-fl-r") if e["kind"] == "spend"]
    assert len(spends) == 1, f"one redemption asked for, {len(spends)} made: {spends}"


def test_an_admin_adjustment_retried_after_an_ambiguous_commit_credits_once(api):
    members(api, ["m-fl-adj"])
    program(api)
    client = RetryingClient(api)
    with FaultInjector(ratio=1.0, kinds=("timeout_after_commit",),
                       operations={"TransactWriteItems"}, limit=1) as faults:
        out = client.post("/admin/members/m-fl-adj/points", role="admin", sub="ops-1",
                          body={"delta": 500, "reason": "parcel lost in transit"})
    assert faults.injected["timeout_after_commit"] == 1
    assert out.status == 201, out
    with faults.paused():
        points = ok(api.get("/me/points", role="member", sub="m-fl-adj"))
    assert points["available"] == 500, f"credited {points['available']} for one 500 credit"
