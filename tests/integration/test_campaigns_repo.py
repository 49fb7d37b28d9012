"""Campaign storage on moto and DynamoDB Local: versions under races, key-only listing,
draft deletion, the audit log and the bounded member sample behind preview."""

from __future__ import annotations

import contextlib
import copy
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from chalicelib.adapters.campaigns.repository import CampaignRepository
from chalicelib.domain.campaigns.model import Status
from chalicelib.domain.campaigns.validate import parse_campaign
from chalicelib.errors import Conflict
from chalicelib.services.campaigns import campaigns
from chalicelib.services.members import members

ROOT = Path(__file__).resolve().parents[2]
DOC: dict[str, Any] = json.loads((ROOT / "campaigns" / "win-back.json").read_text())


def doc(**changes: Any) -> dict[str, Any]:
    d = copy.deepcopy(DOC)
    d["status"] = "draft"
    d.update(changes)
    return d


def test_concurrent_edits_each_get_their_own_version_or_a_conflict(engine: str) -> None:
    campaigns.put("win-back", parse_campaign(doc()), "alice")
    # moto rolls a failed transaction back by restoring a copy of the whole table taken when
    # it started, erasing transactions that committed meanwhile; on moto the edits therefore
    # take turns (the race itself is exercised on DynamoDB Local).
    turns = threading.Lock() if engine == "moto" else contextlib.nullcontext()

    def edit(i: int) -> str:
        try:
            with turns:
                campaigns.put("win-back", parse_campaign(doc(priority=i)), f"m{i}")
            return "ok"
        except Conflict:
            return "conflict"

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(edit, range(1, 13)))
    ok = results.count("ok")
    assert ok >= 1
    live = campaigns.get("win-back")
    assert live["version"] == 1 + ok
    assert [v["version"] for v in live["versions"]] == list(range(1, ok + 2))
    audit = campaigns.audit(None, 100, None, "win-back")["items"]
    assert len(audit) == ok + 1  # history, live item and audit never disagree


def test_a_write_based_on_a_stale_version_is_a_conflict_and_changes_nothing(engine: str
                                                                           ) -> None:
    campaigns.put("win-back", parse_campaign(doc()), "alice")
    stale = CampaignRepository().current("win-back")
    assert stale is not None
    campaigns.put("win-back", parse_campaign(doc(priority=1)), "bob")
    item = {**stale, "version": 2, "doc": doc(priority=2)}
    audit = CampaignRepository.audit_item("2026-01-01T00:00:00.000Z", "eve", "update",
                                          "win-back", 2, [])
    with pytest.raises(Conflict):
        CampaignRepository().save(item, audit, expected_version=1)
    assert campaigns.get("win-back")["campaign"]["priority"] == 1
    assert campaigns.audit("2026-01", 10, None)["items"] == []


def test_active_campaigns_are_listed_by_key_and_parse_back(engine: str) -> None:
    for cid in ("a-1", "a-2", "d-1"):
        campaigns.put(cid, parse_campaign(doc(id=cid)), "alice")
    campaigns.set_status("a-1", Status.active, "alice")
    campaigns.set_status("a-2", Status.active, "alice")
    assert sorted(c.id for c in campaigns.active_campaigns()) == ["a-1", "a-2"]
    assert campaigns.get_campaign("d-1") is not None
    assert campaigns.get_campaign("nope") is None
    page = campaigns.page("draft", 10, None)
    assert [i["campaign_id"] for i in page["items"]] == ["d-1"]


def test_deleting_a_draft_removes_every_version(engine: str) -> None:
    for i in range(3):
        campaigns.put("d-1", parse_campaign(doc(id="d-1", priority=i)), "alice")
    campaigns.delete("d-1", "alice")
    assert CampaignRepository().versions("d-1") == []
    assert campaigns.page(None, 10, None)["items"] == []


def test_a_null_quiet_hours_survives_storage(engine: str) -> None:
    d = doc(delivery={"quiet_hours": None, "cap_class": "service"})
    campaigns.put("win-back", parse_campaign(d), "alice")
    assert campaigns.load("win-back").delivery.quiet_hours is None
    again = campaigns.put("win-back", parse_campaign(d), "alice")
    assert again["result"] == "unchanged"


@pytest.mark.parametrize("limit", [1000, 7])
def test_member_sample_counts_matches_and_stops_at_its_limit(engine: str, limit: int) -> None:
    from chalicelib.domain.members.model import NewMember
    from chalicelib.services.campaigns.preview import WAVE

    for i in range(20 if limit >= 20 else 60):
        members.register(NewMember.model_validate_json(json.dumps(
            {"member_id": f"m-{i:02d}", "city": "Shanghai" if i % 2 else "Chengdu"})))
    c = parse_campaign(doc(audience={"attr": "city", "op": "eq", "value": "Shanghai"}))
    out = campaigns.preview(c, samples=3, scan_limit=limit)
    if limit >= 20:
        assert out["audience"] == {"size": 10, "exact": True, "profiles_read": 20}
    else:
        assert out["audience"]["exact"] is False
        # the budget spread over one wave of buckets read in parallel
        assert out["audience"]["profiles_read"] <= limit + WAVE - 1
    # samples are drawn from the matches read (a small random sample may hold fewer than 3)
    assert len(out["samples"]) == min(3, out["audience"].get("matched_in_sample", 10))
