"""Rewards under concurrency, expiry and tier reviews, on moto and on DynamoDB Local."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.adapters import aws, keys
from chalicelib.errors import InsufficientFunds, LimitReached, SoldOut, Unprocessable
from chalicelib.services import clock
from chalicelib.services.loyalty import jobs as loyalty_jobs
from chalicelib.services.loyalty import loyalty
from tests.loyalty_support import PROGRAM, books, join, place, publish, refund, serialise_moto

T0 = datetime(2026, 3, 10, 4, tzinfo=UTC)  # 12:00 in Shanghai


@pytest.fixture
def ready(engine, monkeypatch):
    serialise_moto(monkeypatch)
    clock.freeze(T0)
    publish()
    return engine


def index_items(index: str, partitions: list[str]) -> list[dict[str, Any]]:
    """Every entry of a sharded index key (all its shards and the legacy key)."""
    from boto3.dynamodb.conditions import Key

    return [i for p in partitions for i in aws.table().query(
        IndexName=index, KeyConditionExpression=Key(f"{index}PK").eq(p))["Items"]]


def attempt(fn: Any) -> Any:
    try:
        return fn()
    except (InsufficientFunds, SoldOut, LimitReached) as e:
        return e


def test_fifty_concurrent_redemptions_by_a_member_who_can_afford_ten_exactly_ten_succeed(ready):
    join("m-1")
    loyalty.award("m-1", 1000, reason="welcome")  # the tote costs 100
    with ThreadPoolExecutor(max_workers=50) as pool:
        out = list(pool.map(lambda _: attempt(lambda: loyalty.redeem("m-1", "tote")),
                            range(50)))
    won = [o for o in out if not isinstance(o, Exception)]
    assert len(won) == 10
    assert all(isinstance(o, InsufficientFunds) for o in out if isinstance(o, Exception))
    assert sorted(w.available for w in won) == list(range(0, 1000, 100))
    assert loyalty.points("m-1").available == 0
    b = books("m-1")
    assert b["points"] == 0 and b["loyalty"]["rewards"] == {"tote": 10}
    assert len([e for e in b["ledger"] if e["kind"] == "spend"]) == 10


def test_reward_stock_is_never_exceeded_across_members(ready):
    members = [f"m-{i}" for i in range(12)]
    join(*members)
    for m in members:
        loyalty.award(m, 100, reason="test")
    with ThreadPoolExecutor(max_workers=12) as pool:
        out = list(pool.map(lambda m: attempt(lambda: loyalty.redeem(m, "limited")), members))
    assert len([o for o in out if not isinstance(o, Exception)]) == 5
    assert all(isinstance(o, SoldOut) for o in out if isinstance(o, Exception))
    assert {r.id: r.remaining for r in loyalty.rewards()}["limited"] == 0
    assert sum(books(m)["points"] for m in members) == 12 * 100 - 5 * 10


def test_per_member_limits_hold_under_concurrency(ready):
    publish(rewards=[{"id": "mug", "name": "Mug", "kind": "gift", "gift_sku": "MUG",
                      "cost_points": 10, "per_member_limit": 2}])
    join("m-1")
    loyalty.award("m-1", 1000, reason="test")
    with ThreadPoolExecutor(max_workers=10) as pool:
        out = list(pool.map(lambda _: attempt(lambda: loyalty.redeem("m-1", "mug")), range(10)))
    assert len([o for o in out if not isinstance(o, Exception)]) == 2
    assert all(isinstance(o, LimitReached) for o in out if isinstance(o, Exception))
    assert loyalty.points("m-1").available == 980


def test_a_coupon_reward_puts_the_coupon_in_the_wallet_in_the_same_transaction(ready):
    from chalicelib.services.coupons import coupons
    from tests.coupon_support import save_template, template

    join("m-1")
    loyalty.award("m-1", 500, reason="test")
    with pytest.raises(Unprocessable):  # no such template yet: nothing is spent
        loyalty.redeem("m-1", "coupon-20")
    assert loyalty.points("m-1").available == 500
    save_template("tpl-20-off", template("¥20 off", {"type": "fixed", "amount": 2000}))
    r = loyalty.redeem("m-1", "coupon-20")
    assert r.coupon_id and r.available == 300
    assert [c.coupon_id for c in coupons.wallet("m-1")] == [r.coupon_id]


def test_expiry_takes_exactly_the_lots_past_their_date_and_runs_idempotently(ready):
    join("m-1")
    place("o-a", amount=30000)  # 300 points, expire at the end of March 2027
    clock.freeze(T0 + timedelta(days=40))  # April 2026
    place("o-b", amount=20000)  # 200 points, expire at the end of April 2027
    loyalty.redeem("m-1", "tote")  # takes 100 from o-a's lot (earliest expiring)
    expiry = datetime(2027, 3, 31, 16, tzinfo=UTC)  # 1 Apr 2027 00:00 in Shanghai
    clock.freeze(expiry - timedelta(seconds=1))
    assert loyalty.points("m-1").available == 400
    clock.freeze(expiry)
    assert loyalty.points("m-1").available == 200  # lazily, before any job ran
    report = loyalty_jobs.expire_due()
    assert (report["lots"], report["points"]) == (1, 200)
    assert loyalty_jobs.expire_due()["lots"] == 0
    b = books("m-1")
    assert b["points"] == 200 and [lt["source"] for lt in b["lots"]] == ["order:o-b"]
    exp = [e for e in b["ledger"] if e["kind"] == "expire"]
    assert len(exp) == 1 and exp[0]["points"] == -200 and exp[0]["lots"][0]["points"] == 200
    left = index_items("GSI1", keys.lot_expiry_partitions("2027-04-01"))
    assert left == []


def test_pending_points_vest_after_the_return_window_without_a_job(ready):
    publish(points={"expiry_months": 12, "pending_days": 7, "refund_policy": "allow_negative"})
    join("m-1")
    r = place("o-1", amount=50000)
    assert r.points_pending and r.points_available_on == "2026-03-17"
    p = loyalty.points("m-1")
    assert (p.available, p.pending) == (0, 500)
    with pytest.raises(InsufficientFunds):
        loyalty.redeem("m-1", "tote")
    refund("o-1", {"refund_id": "rf-1", "amount": 10000})  # within the window
    assert loyalty.points("m-1").pending == 400
    clock.freeze(datetime(2026, 3, 16, 16, tzinfo=UTC))  # 17 Mar 00:00 in Shanghai
    p = loyalty.points("m-1")
    assert (p.available, p.pending) == (400, 0)


def test_upgrade_on_the_qualifying_order_and_downgrade_only_at_review(ready):
    join("m-1")
    first = place("o-1", amount=60000)
    assert not first.tier.changed and first.progress.spend_to_next == 40000
    second = place("o-2", amount=40000)  # ¥1,000 in the window: silver
    assert (second.tier.before, second.tier.after, second.tier.change) == (
        "member", "silver", "upgrade")
    assert second.tier.review_at == "2027-03-10"
    refund("o-2", {"refund_id": "rf-1", "amount": 40000})
    assert loyalty.tier("m-1").tier == "silver"  # a refund never downgrades before review
    clock.freeze(datetime(2027, 3, 9, 4, tzinfo=UTC))
    assert loyalty_jobs.review_due()["members"] == 0
    clock.freeze(datetime(2027, 3, 10, 4, tzinfo=UTC))
    report = loyalty_jobs.review_due()
    assert (report["members"], report["downgraded"]) == (1, 1)
    t = loyalty.tier("m-1")
    assert t.tier == "member" and t.review_at is None
    item = books("m-1")["loyalty"]
    assert (item["tier_prev"], item["tier_change"]) == ("silver", "downgrade")
    assert "GSI1PK" not in item
    assert loyalty_jobs.review_due()["members"] == 0


def test_a_member_who_still_qualifies_keeps_the_tier_for_another_period(ready):
    join("m-1")
    place("o-1", amount=100000)
    clock.freeze(datetime(2027, 3, 1, 4, tzinfo=UTC))
    place("o-2", amount=100000)  # keeps the window at silver level
    clock.freeze(datetime(2027, 3, 10, 4, tzinfo=UTC))
    assert loyalty_jobs.review_due()["retained"] == 1
    t = loyalty.tier("m-1")
    assert (t.tier, t.review_at, t.since) == ("silver", "2028-03-10", "2026-03-10T04:00:00.000Z")


def test_last_order_index_lets_delivery_find_inactive_members_by_key(ready):
    join("m-1", timezone="Europe/Berlin")
    place("o-1", amount=100, placed_at=T0 - timedelta(days=3))
    place("o-2", amount=100, placed_at=T0 - timedelta(days=30))  # late: does not move it back
    found = index_items("GSI2", keys.last_order_partitions("2026-03-07"))
    assert [i["GSI2SK"] for i in found] == ["Europe/Berlin#m-1"]
    assert found[0]["GSI2PK"] == f"LASTORDER#2026-03-07#{keys.date_shard('m-1'):02d}"
    assert books("m-1")["loyalty"]["orders_count"] == 2  # the index holds keys only


def test_program_rewards_list_shows_remaining_stock(ready):
    assert [r.id for r in loyalty.rewards()] == [r["id"] for r in PROGRAM["rewards"]]


def test_expiry_packs_members_per_transaction_and_redoes_a_batch_whose_lot_changed(ready):
    from chalicelib.adapters.loyalty import items as li
    from chalicelib.services.loyalty import jobs

    members = [f"m-{i:02d}" for i in range(20)]
    join(*members)
    for m in members:
        place(f"o-{m}", m, amount=30000)  # 300 points each, expiring 1 Apr 2027
    indexed = index_items("GSI1", keys.lot_expiry_partitions("2027-04-01"))
    indexed.sort(key=lambda i: i["GSI1SK"])
    groups = [(i["member_id"], [li.lot_from_item(i)]) for i in indexed]
    batches = jobs._pack(groups)
    assert [len(b) for b in batches] == [20]  # 20 x 3 items fit one transaction
    loyalty.redeem("m-07", "tote")  # the index snapshot is now stale for m-07
    result = jobs._expire_batch(batches[0], "2027-03-31T16:00:00.000Z")
    assert result == (20, 20, 20 * 300 - 100, 0)
    for m in members:
        assert books(m)["points"] == 0
    clock.freeze(datetime(2027, 3, 31, 16, tzinfo=UTC))
    assert loyalty_jobs.expire_due()["lots"] == 0  # nothing left in the index


def test_jobs_stop_at_their_time_budget_and_the_next_run_resumes(ready):
    join("m-1")
    place("o-1", amount=30000)
    clock.freeze(datetime(2027, 3, 31, 16, 5, tzinfo=UTC))
    first = loyalty_jobs.expire_due(budget_seconds=0)  # a first run looks back a month
    assert (first["unfinished"], first["lots"]) == ("2027-03-01", 0)  # stopped after a page
    second = loyalty_jobs.expire_due()
    assert second["unfinished"] is None and first["lots"] + second["lots"] == 1
    assert books("m-1")["points"] == 0
    assert loyalty_jobs.review_due(budget_seconds=0)["unfinished"] == "2027-03-01"
    assert loyalty_jobs.review_due()["unfinished"] is None
