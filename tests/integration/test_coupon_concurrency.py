"""Coupons under concurrency, on moto and on DynamoDB Local: nothing oversells or doubles."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.adapters import aws, keys
from chalicelib.domain.coupons.checkout import ReservationRequest
from chalicelib.errors import Conflict, LimitReached, SoldOut
from chalicelib.services import clock
from chalicelib.services.coupons import checkout, coupons
from tests.coupon_support import cart, fast_moto_transactions, save_template, template
from tests.loyalty_support import serialise_moto

# More threads than this only queue up: DynamoDB Local's throughput drops ~6x beyond ~10
# concurrent transactions on one machine, and moto requests are serialised anyway.
WORKERS = 8


@pytest.fixture(autouse=True)
def _atomic_moto_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each moto request atomic, as each DynamoDB request is (threads still interleave)."""
    serialise_moto(monkeypatch)
    fast_moto_transactions(monkeypatch)


def bulk_members(n: int, prefix: str = "m") -> list[str]:
    ids = [f"{prefix}-{i:03d}" for i in range(n)]
    with aws.table().batch_writer() as batch:
        for m in ids:
            batch.put_item(Item={**keys.member_profile(m), "member_id": m, "erased": False,
                                 "timezone": "Asia/Shanghai", "version": 1})
    return ids


def run_all(fn: Any, args: list[Any], workers: int = WORKERS) -> list[Any]:
    """Call fn(arg) for every arg from many threads started together; results or errors."""
    start = threading.Event()

    def one(arg: Any) -> Any:
        start.wait(timeout=30)
        try:
            return fn(arg)
        except Exception as e:  # the test inspects what each call raised
            return e

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(one, a) for a in args]
        start.set()
        return [f.result() for f in futures]


def remaining(template_id: str) -> int:
    return sum(int(s["remaining"]) for s in coupons.repo().shards(template_id))


def issued(members: list[str]) -> int:
    return sum(len(coupons.repo().wallet(m)) for m in members)


def test_200_concurrent_claims_on_a_stock_of_10_issue_exactly_10(engine):
    save_template("hot", template("hot", limits={"stock": 10}))
    members = bulk_members(200)
    results = run_all(lambda m: coupons.claim(m, "hot"), members)
    wins = [r for r in results if not isinstance(r, Exception)]
    assert len(wins) == 10
    assert all(isinstance(r, SoldOut) for r in results if isinstance(r, Exception)), {
        type(r).__name__ for r in results}
    assert remaining("hot") == 0
    assert issued(members) == 10


def racy_claim(member_id: str, template_id: str) -> bool:
    """The bug this design prevents: read the stock, then write it back unconditionally."""
    table = aws.table()
    key = keys.template_stock(template_id, 0)
    left = int(table.get_item(Key=key, ConsistentRead=True)["Item"]["remaining"])
    if left < 1:
        return False
    time.sleep(0.01)  # anything between the read and the write opens the window
    table.put_item(Item={**key, "remaining": left - 1})
    table.put_item(Item={**keys.member_coupon(member_id, "racy"), "template_id": template_id})
    return True


def test_the_read_then_write_variant_oversells_so_the_test_can_fail(engine):
    save_template("hot", template("hot", limits={"stock": 10}))
    members = bulk_members(60)
    results = run_all(lambda m: racy_claim(m, "hot"), members)
    assert sum(1 for r in results if r is True) > 10  # oversold


def test_flash_sale_shards_never_oversell_nor_say_sold_out_while_stock_remains(engine):
    save_template("flash", template("flash", limits={"stock": 20, "stock_shards": 5}))
    members = bulk_members(50)
    false_sold_out = []

    def claim(m: str) -> Any:
        try:
            return coupons.claim(m, "flash")
        except SoldOut:
            left = remaining("flash")  # stock never grows, so > 0 now means > 0 then
            if left:
                false_sold_out.append(left)
            raise

    results = run_all(claim, members)
    wins = [r for r in results if not isinstance(r, Exception)]
    assert len(wins) == 20
    assert all(isinstance(r, SoldOut) for r in results if isinstance(r, Exception))
    assert false_sold_out == []
    shards = coupons.repo().shards("flash")
    assert len(shards) == 5 and all(int(s["remaining"]) == 0 for s in shards)
    assert sum(int(s["claimed"]) for s in shards) == 20


def test_per_member_claim_limit_holds_under_concurrency(engine):
    save_template("three", template("three", limits={"per_member_claim": 3}))
    bulk_members(1, "solo")
    results = run_all(lambda _: coupons.claim("solo-000", "three"), list(range(20)))
    assert sum(1 for r in results if not isinstance(r, Exception)) == 3
    assert all(isinstance(r, LimitReached) for r in results if isinstance(r, Exception))
    assert len(coupons.wallet("solo-000")) == 3


def _reservation(order_id: str, coupon_ids: list[str]) -> ReservationRequest:
    return ReservationRequest.model_validate({
        "order_id": order_id, "coupon_ids": coupon_ids,
        "cart": cart(("A", "food", 1, 60000))})


def test_two_concurrent_reservations_of_one_coupon_exactly_one_wins(engine):
    save_template("ten", template("ten", limits={"per_member_claim": 10}))
    bulk_members(1, "buyer")
    for round_ in range(4):
        cid = coupons.claim("buyer-000", "ten").coupon_id
        results = run_all(lambda o, c=cid: checkout.reserve(
            "buyer-000", _reservation(o, [c])), [f"o-{round_}-a", f"o-{round_}-b"], workers=2)
        wins = [r for r in results if not isinstance(r, Exception)]
        assert len(wins) == 1, results
        assert all(isinstance(r, Conflict) for r in results if isinstance(r, Exception))
        item = coupons.repo().get(keys.member_coupon("buyer-000", cid))
        assert item["status"] == "reserved" and item["hold_order"] == wins[0].order_id


def test_confirm_replayed_three_times_uses_the_coupon_once(engine):
    save_template("ten", template("ten"))
    bulk_members(1, "buyer")
    cid = coupons.claim("buyer-000", "ten").coupon_id
    checkout.reserve("buyer-000", _reservation("o-1", [cid]))
    results = run_all(lambda _: checkout.confirm("o-1"), [1, 2, 3], workers=3)
    assert all(not isinstance(r, Exception) and r.status == "confirmed" for r in results), results
    item = coupons.repo().get(keys.member_coupon("buyer-000", cid))
    assert item["status"] == "used" and item["uses"] == 1 and item["used_order"] == "o-1"


def test_per_member_use_limit_holds_across_concurrent_orders(engine):
    bulk_members(1, "buyer")
    for round_ in range(3):
        tid = f"once-{round_}"
        save_template(tid, template(tid, limits={"per_member_claim": 2, "per_member_use": 1}))
        a = coupons.claim("buyer-000", tid).coupon_id
        b = coupons.claim("buyer-000", tid).coupon_id
        results = run_all(lambda x: checkout.reserve("buyer-000", _reservation(*x)),
                          [(f"o-{round_}-a", [a]), (f"o-{round_}-b", [b])], workers=2)
        assert sum(1 for r in results if not isinstance(r, Exception)) == 1, results


@pytest.mark.parametrize("taken", [False, True])
def test_a_lapsed_hold_counts_as_released(engine, taken):
    save_template("ten", template("ten"))
    bulk_members(1, "buyer")
    cid = coupons.claim("buyer-000", "ten").coupon_id
    start = clock.now()
    clock.freeze(start)
    checkout.reserve("buyer-000", _reservation("o-1", [cid]))
    clock.freeze(start + timedelta(minutes=16))
    assert coupons.wallet("buyer-000", "available")[0].coupon_id == cid
    assert checkout.get("o-1").status == "expired"
    if taken:
        checkout.reserve("buyer-000", _reservation("o-2", [cid]))
        with pytest.raises(checkout.ReservationExpired):
            checkout.confirm("o-1")
    else:  # nobody took it: a late confirm still goes through
        assert checkout.confirm("o-1").status == "confirmed"
