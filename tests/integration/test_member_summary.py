"""The member's audience summary on LOYALTY (issue 12) and the member facts orders and refunds
keep on it (issue 13), on moto and on DynamoDB Local: the copy follows every profile change
in the same transaction, a broadcast reads one index item per member, the backfill moves
members of old exactly once, and facts count each order and refund exactly once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.adapters import aws, keys
from chalicelib.adapters.members.index import MemberIndex
from chalicelib.adapters.members.repository import MemberRepository
from chalicelib.domain.members.model import MemberPatch, NewMember, SegmentationPatch
from chalicelib.errors import Conflict
from chalicelib.services import clock
from chalicelib.services.members import index as member_index
from chalicelib.services.members import members
from tests.loyalty_support import place, publish, refund, serialise_moto

NOW = datetime(2026, 11, 11, 4, tzinfo=UTC)  # 12:00 on Double 11 in Shanghai


def item(member_id: str, sk: str) -> dict[str, Any]:
    return aws.table().get_item(Key={"PK": keys.member_pk(member_id), "SK": sk}).get("Item") or {}


def register(member_id: str, **fields: Any) -> None:
    members.register(NewMember.model_validate_json(json.dumps(
        {"member_id": member_id, "timezone": "Asia/Shanghai", **fields})))


@pytest.fixture
def frozen(engine: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    serialise_moto(monkeypatch)
    clock.freeze(NOW)
    yield engine
    clock.freeze(None)


def test_registration_writes_the_summary_and_profile_changes_follow_it(frozen: str) -> None:
    register("m-1", name="李雷", phone="+8613800138000", email="li@example.com",
             birthday="1995-06-01", city="成都", tags=["vip"])
    summary = item("m-1", keys.LOYALTY)
    assert summary["GSI3PK"] == keys.member_index("m-1")["GSI3PK"]
    assert "GSI3PK" not in item("m-1", keys.PROFILE)
    copy = summary["profile"]
    assert (copy["name"], copy["city"], copy["tags"], copy["birthday"]) == (
        "李雷", "成都", ["vip"], "1995-06-01")
    assert "phone" not in copy and "email" not in copy
    members.update_segmentation("m-1", SegmentationPatch(city="上海", tags=["vip", "staff"]),
                                "ops-1")
    members.update("m-1", MemberPatch(locale="en"), by_member=True)
    copy = item("m-1", keys.LOYALTY)["profile"]
    assert (copy["city"], copy["tags"], copy["locale"]) == ("上海", ["vip", "staff"], "en")
    version = item("m-1", keys.LOYALTY)["version"]
    members.update("m-1", MemberPatch(phone="+8613900139000"), by_member=True)
    assert item("m-1", keys.LOYALTY)["version"] == version  # not in the summary: not written


def test_a_stale_profile_change_changes_neither_the_profile_nor_the_summary(
        frozen: str) -> None:
    register("m-1", city="成都")
    repo = MemberRepository()
    before = repo.require("m-1")
    members.update_segmentation("m-1", SegmentationPatch(city="上海"), "ops-1")
    with pytest.raises(Conflict):
        repo.replace_profile(before, {**before, "city": "北京"}, clock.iso())
    assert repo.require("m-1")["city"] == "上海"
    assert item("m-1", keys.LOYALTY)["profile"]["city"] == "上海"


def test_orders_keep_the_copy_and_count_facts_exactly_once(frozen: str) -> None:
    publish()
    register("m-1", city="上海")
    place("o-1", "m-1", amount=20000, category="coffee", store_id="s-1", channel="app")
    place("o-1", "m-1", amount=20000, category="coffee", store_id="s-1", channel="app")  # replay
    clock.freeze(NOW + timedelta(days=1))
    place("o-2", "m-1", amount=10000, category="tea", store_id="s-2", channel="app")
    lo = item("m-1", keys.LOYALTY)
    assert lo["profile"]["city"] == "上海" and lo["GSI3PK"]
    [(week, bucket)] = lo["facts"]["weeks"].items()
    assert week == "2026-11-09" and [int(x) for x in bucket] == [2, 30000]
    assert lo["facts"]["store"] == {"s-1": 1000, "s-2": 1000}
    refund("o-1", {"refund_id": "r-1", "amount": 5000})  # partial: o-1 still counts
    refund("o-1", {"refund_id": "r-1", "amount": 5000})  # replay: counted once
    lo = item("m-1", keys.LOYALTY)
    assert [int(x) for x in lo["facts"]["weeks"]["2026-11-09"]] == [2, 25000]
    refund("o-2", {"refund_id": "r-2", "amount": 10000})  # complete: o-2 no longer counts
    lo = item("m-1", keys.LOYALTY)
    assert [int(x) for x in lo["facts"]["weeks"]["2026-11-09"]] == [1, 15000]
    assert lo["facts"]["store"] == {"s-1": 1000} and lo["facts"]["cat"] == {"coffee": 15000}


def test_a_refund_of_an_order_from_before_facts_takes_nothing_back(frozen: str) -> None:
    publish()
    register("m-1")
    place("o-old", "m-1", amount=20000)
    aws.table().update_item(Key=keys.order("o-old"), UpdateExpression="REMOVE in_facts")
    place("o-new", "m-1", amount=10000)
    refund("o-old", {"refund_id": "r-1", "amount": 20000})
    facts = item("m-1", keys.LOYALTY)["facts"]
    assert [int(x) for x in facts["weeks"]["2026-11-09"]] == [2, 30000]


def test_a_broadcast_reads_one_index_item_per_member(frozen: str) -> None:
    for i in range(30):
        register(f"b-{i:02d}", city="上海")
        for n in range(10):  # history the audience must not read
            aws.table().put_item(Item={**keys.member_ledger(f"b-{i:02d}", f"2026-01-{n + 10}",
                                                            f"e{n}"), "entity": "ledger"})
    read = {"items": 0, "ops": 0}

    def count(parsed: Any = None, **_: Any) -> None:
        read["items"] += int(parsed.get("ScannedCount", parsed.get("Count", 0)))
        read["ops"] += 1

    client = aws.table().meta.client
    client.meta.events.register("after-call.dynamodb.Query", count, unique_id="summary-count")
    try:
        seen = [m for b in range(keys.MEMBER_BUCKETS)
                for m in MemberIndex().members_page(b, None, 1000)[0]]
    finally:
        client.meta.events.unregister("after-call.dynamodb.Query", unique_id="summary-count")
    assert sorted(p["member_id"] for p, _ in seen) == [f"b-{i:02d}" for i in range(30)]
    assert all(p["city"] == "上海" for p, _ in seen)
    assert read["items"] == 30  # exactly one index item per member


def _as_before_summaries(member_id: str) -> None:
    """What registration and orders wrote before the summary: PROFILE in the index, LOYALTY
    without the copy."""
    table = aws.table()
    profile_key, loyalty_key = keys.member_profile(member_id), keys.member_loyalty(member_id)
    table.update_item(Key=profile_key, UpdateExpression="SET GSI3PK = :p, GSI3SK = :s",
                      ExpressionAttributeValues={":p": keys.member_index(member_id)["GSI3PK"],
                                                 ":s": keys.member_index(member_id)["GSI3SK"]})
    if item(member_id, keys.LOYALTY).get("points") is None:
        table.delete_item(Key=loyalty_key)
    else:
        table.update_item(Key=loyalty_key, UpdateExpression="REMOVE #p",
                          ExpressionAttributeNames={"#p": "profile"})


def test_members_of_old_are_read_whole_until_the_backfill_moves_them_once(frozen: str) -> None:
    publish()
    for m, city in (("old-1", "北京"), ("old-2", "成都"), ("new-1", "上海")):
        register(m, city=city, phone="+8613800138000")
    place("o-1", "old-2", amount=10000)
    register("gone", city="杭州")
    members.erase("gone")
    for m in ("old-1", "old-2", "gone"):
        _as_before_summaries(m)
    index = MemberIndex()

    def everyone() -> dict[str, tuple[dict[str, Any], dict[str, Any] | None]]:
        return {p["member_id"]: (p, lo) for p, lo in index.members(range(keys.MEMBER_BUCKETS))}

    before = everyone()
    assert sorted(before) == ["new-1", "old-1", "old-2"]
    assert before["old-1"][0]["city"] == "北京" and before["old-2"][1]["points"] == 100
    report = member_index.backfill_summary(batch=2)
    assert report == {"members": 4, "updated": 3, "unchanged": 1, "missing": 0}, report
    again = member_index.backfill_summary()
    assert again == {"members": 4, "updated": 0, "unchanged": 4, "missing": 0}, again
    for m in ("old-1", "old-2", "gone"):
        assert "GSI3PK" not in item(m, keys.PROFILE)
    assert "profile" not in item("gone", keys.LOYALTY)
    after = everyone()
    assert {m: (p["city"], lo and lo.get("points")) for m, (p, lo) in after.items()} == {
        "new-1": ("上海", None), "old-1": ("北京", None), "old-2": ("成都", 100)}
    assert all("phone" not in p for p, _ in after.values())


def test_the_backfill_command_moves_members_of_old(frozen: str, capsys: Any) -> None:
    from chalicelib.cli import main

    register("m-1", city="上海")
    _as_before_summaries("m-1")
    assert main(["--stage", "test", "members", "backfill-summary"]) == 0
    assert "1 moved" in capsys.readouterr().out
    assert item("m-1", keys.LOYALTY)["profile"]["city"] == "上海"
    assert "GSI3PK" not in item("m-1", keys.PROFILE)
