"""Preview from the member index on moto and DynamoDB Local: one index entry per member (the
LOYALTY summary), bucket samples that cover exactly what they claim, the estimate within its margin,
the exact count job through the preview queue, no Scan, and version rollback."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

from chalicelib.adapters import aws, keys
from chalicelib.adapters.members.index import MemberIndex
from chalicelib.domain.campaigns.model import Status
from chalicelib.domain.campaigns.validate import parse_campaign
from chalicelib.errors import Conflict, NotFound
from chalicelib.services.campaigns import campaigns
from chalicelib.services.campaigns import preview as campaign_preview
from chalicelib.services.members import members

ROOT = Path(__file__).resolve().parents[2]
DOC: dict[str, Any] = json.loads((ROOT / "campaigns" / "win-back.json").read_text())
CITIES = ("Shanghai", "Chengdu", "Beijing")


def doc(**changes: Any) -> dict[str, Any]:
    d = copy.deepcopy(DOC)
    d["status"] = "draft"
    d.update(changes)
    return d


def shanghai() -> Any:
    return parse_campaign(doc(audience={"attr": "city", "op": "eq", "value": "Shanghai"}))


def load(n: int, seed: int = 7) -> int:
    """``n`` members straight into the table (with LOYALTY for every other one); returns how
    many live in Shanghai."""
    rnd = random.Random(seed)
    profiles = [{"member_id": f"m{i:06d}", "city": rnd.choice(CITIES), "locale": "zh-CN",
                 "timezone": rnd.choice(["Asia/Shanghai", "Asia/Tokyo"]),
                 "consent": {"push": True}} for i in range(n)]
    loyalty = [{"member_id": p["member_id"], "tier": "gold", "points": 10}
               for p in profiles[::2]]
    MemberIndex().put_members(profiles, loyalty)
    return sum(p["city"] == "Shanghai" for p in profiles)


def index_item(member_id: str, sk: str) -> dict[str, Any]:
    return aws.table().get_item(Key={"PK": keys.member_pk(member_id), "SK": sk})["Item"]


def drain_preview_queue() -> int:
    """Run what the preview queue holds through the count function's own entry point (count
    jobs never ride the delivery queue: that one must hold nothing)."""
    from chalicelib.config import get_settings

    sqs = aws.client("sqs")
    delivery_url = aws.queue_url(get_settings().delivery_queue_name)
    assert not sqs.receive_message(QueueUrl=delivery_url).get("Messages")
    url = aws.queue_url(get_settings().preview_queue_name)
    ran = 0
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return ran
        for m in got:
            campaign_preview.handle_message(m["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            ran += 1


def test_the_loyalty_summary_is_the_one_index_entry_and_erasure_takes_it_out(
        engine: str) -> None:
    from chalicelib.domain.members.model import NewMember

    members.register(NewMember.model_validate_json(json.dumps(
        {"member_id": "m-1", "city": "Shanghai", "timezone": "Asia/Shanghai",
         "phone": "+8613800138000"})))
    want = keys.member_index("m-1")
    item = index_item("m-1", keys.LOYALTY)
    assert (item["GSI3PK"], item["GSI3SK"]) == (want["GSI3PK"], want["GSI3SK"])
    assert "GSI3PK" not in index_item("m-1", keys.PROFILE)
    found = list(MemberIndex().members([keys.member_bucket("m-1")]))
    assert [(p["member_id"], p["city"]) for p, _ in found] == [("m-1", "Shanghai")]
    assert "phone" not in found[0][0] and found[0][1] is None  # no loyalty state yet
    members.erase("m-1")
    assert "GSI3PK" not in index_item("m-1", keys.LOYALTY)
    assert "profile" not in index_item("m-1", keys.LOYALTY)
    assert list(MemberIndex().members([keys.member_bucket("m-1")])) == []


def test_loyalty_writes_carry_the_index_key(engine: str) -> None:
    from chalicelib.adapters.loyalty.items import loyalty_write
    from chalicelib.domain.loyalty.state import LoyaltyState

    state = LoyaltyState.from_item("m-2", None)
    op = loyalty_write(state, 0, "base")["Update"]
    aws.table().meta.client.transact_write_items(TransactItems=[{"Update": op}])
    item = index_item("m-2", keys.LOYALTY)
    assert item["GSI3PK"] == keys.member_index("m-2")["GSI3PK"]


def test_a_bucket_sample_holds_exactly_the_members_of_the_ranks_it_covers(engine: str) -> None:
    load(400)
    index = MemberIndex()
    bucket = keys.member_bucket("m000000")
    every = {p["member_id"] for p, _ in index.members([bucket])}
    whole = index.sample_bucket(bucket, 12345, quota=10_000)
    assert whole.covered == 1.0 and {p["member_id"] for p, _ in whole.members} == every
    start = keys.MEMBER_HASH_SPACE - 1000  # wraps around the end of the rank space
    part = index.sample_bucket(bucket, start, quota=3)
    assert 0 < part.covered < 1 and len(part.members) == 3
    end = (start + part.covered * keys.MEMBER_HASH_SPACE) % keys.MEMBER_HASH_SPACE
    inside = {m for m in every if (keys.member_rank(m) >= start or keys.member_rank(m) < end)}
    assert {p["member_id"] for p, _ in part.members} == inside
    loyal = [lo for _, lo in whole.members if lo]
    assert loyal and all(lo["tier"] == "gold" for lo in loyal)


def test_preview_estimates_at_once_and_the_job_counts_exactly_without_a_scan(
        engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    truth = load(600)
    table = aws.table()
    monkeypatch.setattr(type(table), "scan", lambda *a, **k: pytest.fail("preview scanned"),
                        raising=False)
    out = campaigns.preview(shanghai(), samples=3, scan_limit=100)
    a = out["audience"]
    assert a["exact"] is False and a["profiles_read"] <= 100 + campaign_preview.WAVE - 1
    assert a["margin"] > 0 and a["low"] <= a["size"] <= a["high"]
    # 3 margins (z = 5.9): a failure here means a wrong margin, not bad luck
    assert abs(a["size"] - truth) <= 3 * a["margin"], (a, truth)
    assert len(out["samples"]) == 3
    assert {s["timezone"] for s in out["samples"]} <= {"Asia/Shanghai", "Asia/Tokyo"}
    assert [z["timezone"] for z in out["timezones"]] != []
    job = campaign_preview.job_status("win-back", a["job_id"])
    assert job["status"] == "pending" and job["estimate"]["size"] == a["size"]
    assert drain_preview_queue() == 1
    done = campaign_preview.job_status("win-back", a["job_id"])
    assert done["status"] == "done"
    assert done["audience"] == {"size": truth, "exact": True, "profiles_read": 600}
    # a redelivered message finds the job finished and does nothing
    assert campaign_preview.run_job("win-back", a["job_id"]) == {"preview_jobs": 0}
    with pytest.raises(NotFound):
        campaign_preview.job_status("win-back", "nope")


def test_a_small_program_is_answered_exactly_with_no_job(engine: str) -> None:
    truth = load(40)
    a = campaigns.preview(shanghai(), samples=2)["audience"]
    assert a == {"size": truth, "exact": True, "profiles_read": 40}


def test_rollback_stores_a_new_version_equal_to_an_old_one_and_audits_it(engine: str) -> None:
    campaigns.put("win-back", parse_campaign(doc(priority=1)), "alice")
    campaigns.put("win-back", parse_campaign(doc(priority=2, name="Second")), "alice")
    with pytest.raises(Conflict):
        campaigns.rollback("win-back", 1, "bob", expected_version=1)
    r = campaigns.rollback("win-back", 1, "bob", expected_version=2)
    assert (r["version"], r["result"]) == (3, "rolled_back")
    v1, v3 = campaigns.get("win-back", 1), campaigns.get("win-back", 3)
    assert v3["campaign"] == v1["campaign"] and campaigns.get("win-back")["version"] == 3
    listed = campaigns.versions("win-back")
    assert [v["version"] for v in listed["items"]] == [3, 2, 1] and listed["current"] == 3
    entry = campaigns.audit(None, 10, None, "win-back")["items"][0]
    assert entry["action"] == "rollback" and entry["details"]["rolled_back_to"] == 1
    assert {"path": "/priority", "before": 2, "after": 1} in entry["changes"]
    again = campaigns.rollback("win-back", 1, "bob")
    assert again["result"] == "unchanged" and again["version"] == 3
    with pytest.raises(NotFound):
        campaigns.rollback("win-back", 9, "bob")


def test_rollback_keeps_the_live_status(engine: str) -> None:
    campaigns.put("win-back", parse_campaign(doc(priority=1)), "alice")
    campaigns.put("win-back", parse_campaign(doc(priority=2)), "alice")
    campaigns.set_status("win-back", Status.active, "alice")
    r = campaigns.rollback("win-back", 1, "bob")
    assert r["status"] == "active" and r["campaign"]["priority"] == 1


def test_a_journey_preview_counts_every_step_up_to_and_renders_its_messages(
        engine: str) -> None:
    load(6)
    onboarding = json.loads((ROOT / "campaigns" / "journey-onboarding.json").read_text())
    got: Any = campaigns.preview(parse_campaign({**onboarding, "status": "draft"}), samples=1)
    p = got["projection"]
    assert (p["recipients"], p["deliveries_per_recipient"], p["up_to"]) == (6, 1, True)
    # welcome coupon + inbox, reminder push + inbox, day-7 points + inbox: as if every
    # member reached every step
    assert {k: p["projected"][k] for k in ("coupons", "points", "messages")} == {
        "coupons": 6, "points": 1200, "messages": 24}
    steps = {s["id"]: s for s in p["journey"]}
    assert set(steps) == {"welcome", "reminder", "first-order-points"}
    assert steps["welcome"]["per_member"] == {"coupons": 1, "points": 0, "messages": 1}
    assert steps["first-order-points"]["total"]["points"] == 1200
    assert any("up to" in n for n in p["notes"])
    [sample] = got["samples"]
    assert [m["title"] for m in sample["messages"]][:2] == ["欢迎加入！", "你的新人券还没用哦"]  # noqa: RUF001
