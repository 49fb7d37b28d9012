"""Claim → quote → reserve → confirm under 20 % injected faults, members checking out at
the same time against a flash template with little stock. Callers retry like real clients
(same Idempotency-Key; the reservation's natural key is the order id).

Afterwards (faults paused): stock never oversold and fully accounted for (issued coupons ==
stock - remaining), every reserved coupon used exactly once by its order, no hold left
behind, every confirmed reservation confirmed. Runs on moto (sequential) and DynamoDB Local
(concurrent).
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.faults import FaultInjector
from tests.faults.client import RetryingClient
from tests.faults.flows import CART, members, ok, template

KINDS = ("throttle", "conflict", "timeout_after_commit", "connection_closed")
MEMBERS = [f"m-fc-{i}" for i in range(5)]
ROUNDS = 3
STOCK = 8


def test_checkout_flow_keeps_stock_and_coupons_consistent_under_faults(api_on, engine):
    api = api_on
    members(api, MEMBERS)
    template(api, "fault-flash", stock=STOCK, per_member_claim=100)
    client = RetryingClient(api)
    log: dict[str, list] = {m: [] for m in MEMBERS}

    def shop(member: str) -> None:
        for n in range(ROUNDS):
            claim = client.post("/me/coupons", role="member", sub=member,
                                body={"template_id": "fault-flash"})
            if claim.status != 201:
                log[member].append(("claim", claim.status, (claim.body or {}).get(
                    "error", {}).get("code")))
                continue
            coupon = claim.body["coupon_id"]
            quote = client.post("/checkout/quote", role="member", sub=member,
                                body={"cart": CART, "coupon_ids": [coupon]}, key=None)
            order_id = f"o-fc-{member}-{n}"
            held = client.post("/checkout/reservations", role="member", sub=member,
                               body={"order_id": order_id, "coupon_ids": [coupon], "cart": CART})
            done = client.post(f"/checkout/reservations/{order_id}/confirm", role="member",
                               sub=member) if held.status == 201 else None
            log[member].append(("checkout", coupon, quote.status, held.status,
                                done.status if done else None, order_id))

    threads = 4 if engine == "dynamodb-local" else 1
    with FaultInjector(ratio=0.2, seed=9, kinds=KINDS) as faults, \
            ThreadPoolExecutor(threads) as pool:
        list(pool.map(shop, MEMBERS))
    print(engine, faults.report(), client.report())
    assert client.gave_up == 0, client.report()
    with faults.paused():
        view = ok(api.get("/admin/coupon-templates/fault-flash", role="marketer", sub="mk-1"))
        wallets = {m: ok(api.get("/me/coupons", role="member", sub=m)) for m in MEMBERS}
        issued = [c for w in wallets.values() for c in w if c["template_id"] == "fault-flash"]
        assert view["remaining"] >= 0
        assert len(issued) == STOCK - view["remaining"], (len(issued), view)
        assert len(issued) <= STOCK
        sold_out = [e for m in MEMBERS for e in log[m] if e[0] == "claim"]
        assert all(e[2] in ("SOLD_OUT", "LIMIT_REACHED") for e in sold_out), sold_out
        assert view["remaining"] == 0, "stock left while claims were refused as sold out"
        statuses = Counter(c["status"] for c in issued)
        assert statuses["reserved"] == 0, f"holds left behind: {statuses}"
        for m in MEMBERS:
            by_id = {c["coupon_id"]: c for c in wallets[m]}
            for e in log[m]:
                if e[0] != "checkout":
                    continue
                _, coupon, quote, held, done, order_id = e
                assert quote == 200 and held == 201 and done == 200, e
                assert by_id[coupon]["status"] == "used", (e, by_id[coupon])
                res = ok(api.get(f"/checkout/reservations/{order_id}", role="member", sub=m))
                assert res["status"] == "confirmed", res
        asked = sum(1 for m in MEMBERS for e in log[m] if e[0] == "checkout")
        orphans = len(issued) - asked
        print(f"{engine}: {len(issued)} coupons issued for {asked} successful claims")
        assert orphans == 0, f"{orphans} coupons issued that no claim answered with"


# Found by this suite: a claim retried after its commit's answer was lost claimed a second
# coupon; fixed by deriving the coupon id from the Idempotency-Key (services/coupons/coupons.py).
def test_a_claim_retried_after_an_ambiguous_commit_issues_one_coupon(api):
    members(api, ["m-fc-r"])
    template(api, "fault-one", stock=5, per_member_claim=5)
    client = RetryingClient(api)
    with FaultInjector(ratio=1.0, kinds=("timeout_after_commit",),
                       operations={"TransactWriteItems"}, limit=1) as faults:
        out = client.post("/me/coupons", role="member", sub="m-fc-r",
                          body={"template_id": "fault-one"})
    assert faults.injected["timeout_after_commit"] == 1
    assert out.status == 201, out
    with faults.paused():
        wallet = ok(api.get("/me/coupons", role="member", sub="m-fc-r"))
    assert len(wallet) == 1, f"one claim asked for, {len(wallet)} coupons issued"
