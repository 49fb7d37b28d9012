"""A data model that holds under a sale (issue 12), on moto and on DynamoDB Local: date-keyed
index keys are sharded by member and read back from every shard (and from the legacy
unsharded key); broadcasts read the member index, never a table Scan; campaign budgets and
reward stock are sharded and exact under concurrency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.adapters import aws, keys
from chalicelib.adapters.delivery.repository import DeliveryRepository
from chalicelib.errors import SoldOut
from chalicelib.services import clock
from chalicelib.services.delivery import delivery
from chalicelib.services.loyalty import jobs as loyalty_jobs
from chalicelib.services.loyalty import loyalty
from tests.integration.delivery_support import (  # noqa: F401  (autouse fixture)
    INBOX_MSG,
    add_member,
    campaign,
    fast_moto_transactions,
    inbox,
    install,
    stats,
    tick_through,
    utc,
)
from tests.loyalty_support import books, join, place, publish, serialise_moto

T0 = datetime(2026, 3, 10, 4, tzinfo=UTC)  # 12:00 in Shanghai
MEMBERS = [f"s-{i:02d}" for i in range(40)]


@pytest.fixture
def sale(engine, monkeypatch):
    serialise_moto(monkeypatch)
    clock.freeze(T0)
    publish()
    join(*MEMBERS)
    for m in MEMBERS:
        place(f"o-{m}", m, amount=30000)  # 300 points each, expiring 1 Apr 2027
    yield engine
    clock.freeze(None)


def test_order_index_keys_are_sharded_by_member_and_every_shard_is_read(sale):
    shards = set()
    for m in MEMBERS:
        b = books(m)
        s = f"{keys.date_shard(m):02d}"
        assert b["loyalty"]["GSI2PK"] == f"LASTORDER#2026-03-10#{s}"
        [lot] = b["lots"]
        assert lot["GSI1PK"] == f"LOTEXP#2027-04-01#{s}"
        shards.add(s)
    assert len(shards) >= 10  # 40 members over 16 shards: no single hot key
    reads = DeliveryRepository()
    assert sorted(reads.inactive_members("2026-03-10")) == MEMBERS
    assert reads.inactive_members("2026-03-10", "Europe/Berlin") == []
    assert reads.expiring_points("2027-04-01") == {m: 300 for m in MEMBERS}
    clock.freeze(datetime(2027, 3, 31, 16, 5, tzinfo=UTC))
    report = loyalty_jobs.expire_due()
    assert (report["members"], report["lots"]) == (40, 40)
    assert all(books(m)["points"] == 0 for m in MEMBERS)


def _legacy(key: dict[str, str], index: str, pk: str) -> None:
    aws.table().update_item(Key=key, UpdateExpression=f"SET {index}PK = :p",
                            ExpressionAttributeValues={":p": pk})


def test_items_written_with_the_old_unsharded_keys_are_still_found(sale):
    old = MEMBERS[:3]
    for m in old:  # as written before sharding
        _legacy(keys.member_loyalty(m), "GSI2", "LASTORDER#2026-03-10")
        [lot] = books(m)["lots"]
        _legacy({"PK": lot["PK"], "SK": lot["SK"]}, "GSI1", "LOTEXP#2027-04-01")
    reads = DeliveryRepository()
    assert sorted(reads.inactive_members("2026-03-10", "Asia/Shanghai")) == MEMBERS
    assert reads.expiring_points("2027-04-01") == {m: 300 for m in MEMBERS}
    clock.freeze(datetime(2027, 3, 31, 16, 5, tzinfo=UTC))
    assert loyalty_jobs.expire_due()["lots"] == 40
    assert all(books(m)["points"] == 0 for m in old)


def test_a_tier_review_under_the_old_unsharded_key_is_still_done(engine, monkeypatch):
    serialise_moto(monkeypatch)
    clock.freeze(T0)
    publish()
    join("r-1", "r-2")
    for m in ("r-1", "r-2"):
        place(f"o-{m}", m, amount=100000)  # silver, reviewed on 2027-03-10
        assert books(m)["loyalty"]["GSI1PK"] == \
            f"REVIEW#2027-03-10#{keys.date_shard(m):02d}"
    _legacy(keys.member_loyalty("r-1"), "GSI1", "REVIEW#2027-03-10")
    clock.freeze(datetime(2027, 3, 10, 4, tzinfo=UTC))
    report = loyalty_jobs.review_due()
    assert (report["members"], report["downgraded"]) == (2, 2)
    clock.freeze(None)


def test_a_broadcast_reads_the_member_index_and_never_scans_the_table(engine, monkeypatch):
    import botocore.client

    install(campaign({"type": "once", "at": "2026-11-11T10:00:00+08:00"}, [INBOX_MSG],
                     id="d11", delivery={"quiet_hours": None, "cap_class": "service"}))
    for i in range(20):
        m = f"h{i:02d}"
        add_member(m, ["Asia/Shanghai", "Europe/Berlin"][i % 2])
        for n in range(5):  # history the audience must not read
            aws.table().put_item(Item={**keys.member_ledger(m, f"2026-01-0{n + 1}", f"e{n}"),
                                       "entity": "ledger", "points": 1})
    calls: list[tuple[str, dict[str, Any]]] = []
    real = botocore.client.BaseClient._make_api_call

    def spy(self: Any, op: str, params: dict[str, Any]) -> Any:
        calls.append((op, params))
        if op == "Scan":
            raise AssertionError("a broadcast must not scan the table")
        return real(self, op, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", spy)
    tick_through(utc(2026, 11, 11, 1, 45), utc(2026, 11, 11, 2, 0))
    assert all(len(inbox(f"h{i:02d}")) == 1 for i in range(20))
    assert stats("d11")["totals"]["delivered"] == 20
    assert not [op for op, _ in calls if op == "Scan"]
    audience = [p for op, p in calls if op == "Query" and p.get("IndexName") == keys.GSI3]
    assert audience  # the segments read the member index by key


@pytest.mark.parametrize("engine", ["moto", "dynamodb-local"], indirect=True)
def test_a_sharded_budget_is_spent_exactly_under_concurrent_workers(engine, monkeypatch):
    from chalicelib.domain.delivery import work
    from tests.integration.delivery_support import coupon_template, coupons

    monkeypatch.setattr(keys, "BUDGET_SHARE_MIN", 1)  # a small budget over every shard
    install(campaign({"type": "birthday"}, [{"type": "issue_coupon", "template": "t1"},
                                            INBOX_MSG], budget={"coupons": 20}))
    coupon_template("t1")
    members = [f"g{i:02d}" for i in range(40)]
    for m in members:
        add_member(m, birthday="1990-09-01")
    c = delivery.campaigns().get("bday")
    clock.freeze(utc(2026, 9, 1, 1, 0))
    tasks = delivery.planner()._birthdays(c, utc(2026, 9, 1, 0, 45), utc(2026, 9, 1, 1, 0), {})
    entries = work.pack(tasks, max_members=1)
    with ThreadPoolExecutor(8 if engine == "dynamodb-local" else 1) as pool:
        list(pool.map(lambda e: delivery.handle_entry(e.body()), entries))
    clock.freeze(None)
    assert sum(len(coupons(m)) for m in members) == 20
    s = stats("bday")["totals"]
    assert s["coupons_issued"] == 20 and s["suppressed"]["budget"] == 20
    assert delivery.repo().budget_used("bday") == {"coupons": 20}
    shards = delivery.repo().budget_shards("bday")
    assert len(shards) > 1 and sum(int(i["used_coupons"]) for i in shards) == 20


def test_reward_stock_counts_on_member_shards_and_falls_back_when_one_is_full(sale):
    publish(rewards=[{"id": "limited", "name": "Limited", "kind": "gift", "gift_sku": "L",
                      "cost_points": 10, "stock": 12}])
    with ThreadPoolExecutor(max_workers=20) as pool:
        out = list(pool.map(lambda m: _try(lambda: loyalty.redeem(m, "limited")), MEMBERS))
    won = [o for o in out if not isinstance(o, Exception)]
    assert len(won) == 12
    assert all(isinstance(o, SoldOut) for o in out if isinstance(o, Exception))
    assert {r.id: r.remaining for r in loyalty.rewards()}["limited"] == 0
    from boto3.dynamodb.conditions import Key

    counters = aws.table().query(KeyConditionExpression=Key("PK").eq("REWARD#limited"),
                                 ConsistentRead=True)["Items"]
    assert len(counters) > 1 and all(i["SK"].startswith("STOCK#") for i in counters)
    assert sum(int(i["redeemed"]) for i in counters) == 12


def _try(fn: Any) -> Any:
    try:
        return fn()
    except SoldOut as e:
        return e


def test_a_small_reward_stock_is_never_oversold_by_shards_with_no_share(sale):
    # 3 units over 8 counter shards: five shards have no share and must refuse even before
    # their counter exists; members hashed to them fall back to the three that have one.
    publish(rewards=[{"id": "rare", "name": "Rare", "kind": "gift", "gift_sku": "R",
                      "cost_points": 10, "stock": 3}])
    with ThreadPoolExecutor(max_workers=10) as pool:
        out = list(pool.map(lambda m: _try(lambda: loyalty.redeem(m, "rare")), MEMBERS))
    assert len([o for o in out if not isinstance(o, Exception)]) == 3
    assert {r.id: r.remaining for r in loyalty.rewards()}["rare"] == 0
