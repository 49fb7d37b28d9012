from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib.adapters import aws, keys
from chalicelib.adapters.members.repository import MemberRepository
from chalicelib.domain.members.model import MemberPatch, NewMember
from chalicelib.errors import AlreadyExists, Conflict
from chalicelib.services.members import members


def test_create_is_conditional_on_the_id_being_free(engine):
    members.register(NewMember(member_id="m-1", birthday="--02-29", timezone="Europe/Berlin"))
    with pytest.raises(AlreadyExists):
        members.register(NewMember(member_id="m-1"))


def test_birthday_index_is_a_sparse_key_query_per_day_and_timezone(engine):
    members.register(NewMember(member_id="a", birthday="1992-02-29", timezone="Europe/Berlin"))
    members.register(NewMember(member_id="b", birthday="--02-29", timezone="Asia/Shanghai"))
    members.register(NewMember(member_id="c", timezone="Asia/Shanghai"))  # no birthday: not indexed
    got = aws.table().query(
        IndexName=keys.GSI1, KeyConditionExpression="GSI1PK = :p AND begins_with(GSI1SK, :tz)",
        ExpressionAttributeValues={":p": keys.birthday_partition("02-29"),
                                   ":tz": "Asia/Shanghai#"})["Items"]
    assert [i["member_id"] for i in got] == ["b"]


def test_changing_timezone_moves_the_birthday_index_entry(engine):
    members.register(NewMember(member_id="a", birthday="1990-07-01", timezone="Europe/Berlin"))
    members.update("a", MemberPatch(timezone="Asia/Kolkata"))
    item = aws.table().get_item(Key=keys.member_profile("a"))["Item"]
    assert item["GSI1SK"] == "Asia/Kolkata#a"
    members.update("a", MemberPatch(birthday=None))
    item = aws.table().get_item(Key=keys.member_profile("a"))["Item"]
    assert "GSI1PK" not in item and "birthday" not in item


def test_concurrent_stale_writes_lose_instead_of_overwriting(engine, monkeypatch):
    from tests.loyalty_support import serialise_moto

    serialise_moto(monkeypatch)  # a name change is a transaction (it is in the summary)
    members.register(NewMember(member_id="m-1", name="A"))
    repo = MemberRepository()
    before = repo.require("m-1")

    def write(i: int) -> str:
        try:
            repo.replace_profile(before, {**before, "name": f"writer-{i}"}, "2026-01-01T00:00:00Z")
            return "ok"
        except Conflict:
            return "conflict"

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(write, range(8)))
    assert results.count("ok") == 1 and results.count("conflict") == 7
    assert repo.require("m-1")["version"] == 2


def test_erasure_keeps_ledger_items_but_drops_devices_and_indexes(engine):
    members.register(NewMember(member_id="m-1", birthday="1990-01-02", phone="+8613800138000"))
    t = aws.table()
    t.put_item(Item={"PK": keys.member_pk("m-1"), "SK": "LEDGER#2026#e1", "points": 10})
    t.put_item(Item={"PK": keys.member_pk("m-1"), "SK": "LOYALTY", "tier": "gold",
                     "GSI2PK": "LASTORDER#2026-01-01", "GSI2SK": "Asia/Shanghai#m-1"})
    repo = MemberRepository()
    repo.put_device("m-1", {"platform": "ios", "token": "tok-123456789"})
    members.erase("m-1")
    items = {i["SK"]: i for i in repo.partition("m-1")}
    assert "LEDGER#2026#e1" in items
    assert not any(sk.startswith("DEVICE#") for sk in items)
    assert "GSI2PK" not in items["LOYALTY"]
    assert "phone" not in items["PROFILE"] and items["PROFILE"]["erased"] is True


def test_concurrent_registrations_of_one_token_leave_exactly_one_holder(engine):
    from chalicelib.domain.members.model import Device

    ids = [f"m-{i}" for i in range(6)]
    for m in ids:
        members.register(NewMember(member_id=m))
    device = Device(platform="android", token="fcm-contended-token-0123456789")
    with ThreadPoolExecutor(6) as pool:
        views = list(pool.map(lambda m: members.add_device(m, device), ids))
    assert len({v.device_id for v in views}) == 1
    repo = MemberRepository()
    holders = [m for m in ids if repo.devices(m)]
    assert len(holders) == 1, holders
    assert repo.device_owner(views[0].device_id) == holders[0]
    # Erasing the holder frees the token: nobody holds it, and a new member may take it.
    members.erase(holders[0])
    assert repo.device_owner(views[0].device_id) is None
    other = next(m for m in ids if m != holders[0])
    members.add_device(other, device)
    assert repo.device_owner(views[0].device_id) == other
