"""Segments on moto and DynamoDB Local: versions and audit, campaigns pinning the version they
were saved with, delete only when unused, file sync in dependency order, size estimates and
the weekly snapshot behind the trend."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.campaigns.segments import parse_segment
from chalicelib.domain.campaigns.validate import parse_campaign
from chalicelib.errors import Conflict, NotFound, ValidationFailed
from chalicelib.services.campaigns import campaigns, segments

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN: dict[str, Any] = json.loads((ROOT / "campaigns" / "win-back.json").read_text())
SHANGHAI = {"attr": "city", "op": "eq", "value": "Shanghai"}


def seg_doc(slug: str, audience: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {"slug": slug, "title": {"zh": "上海会员", "en": "Shanghai members"},
            "description": "", "owner": "crm", "audience": audience, **kw}


def put_seg(slug: str, audience: dict[str, Any], who: str = "alice") -> dict[str, Any]:
    return segments.put(slug, parse_segment(seg_doc(slug, audience)), who)


def campaign(audience: Any) -> Any:
    d = copy.deepcopy(CAMPAIGN)
    d["status"] = "draft"
    d["audience"] = audience
    return parse_campaign(d)


def test_versions_are_kept_and_every_change_is_audited(engine: str) -> None:
    assert put_seg("shanghai", SHANGHAI)["result"] == "created"
    assert put_seg("shanghai", SHANGHAI)["result"] == "unchanged"
    beijing = {"attr": "city", "op": "eq", "value": "Beijing"}
    out = put_seg("shanghai", beijing, "bob")
    assert (out["result"], out["version"]) == ("updated", 2)
    live = segments.get("shanghai")
    assert [v["version"] for v in live["versions"]] == [1, 2]
    assert segments.get("shanghai", 1)["doc"]["audience"] == SHANGHAI
    audit = campaigns.audit(None, 100, None, "shanghai")["items"]
    assert [(a["entity"], a["action"], a["who"]) for a in audit] == [
        ("segment", "update", "bob"), ("segment", "create", "alice")]
    assert audit[0]["changes"][0]["path"] == "/audience/value"
    assert [i["slug"] for i in segments.page(50, None)["items"]] == ["shanghai"]


def test_a_campaign_pins_the_segment_version_it_was_saved_with(engine: str) -> None:
    put_seg("shanghai", SHANGHAI)
    saved = campaigns.put("win-back", campaign({"all": [{"segment": "shanghai"}]}), "alice")
    ref = saved["campaign"]["audience"]["all"][0]
    assert ref == {"segment": "shanghai", "version": 1, "audience": SHANGHAI}
    assert campaigns.load("win-back").matcher({"city": "Shanghai"})
    put_seg("shanghai", {"attr": "city", "op": "eq", "value": "Beijing"})
    # the live campaign keeps version 1 until it is saved again
    assert campaigns.load("win-back").matcher({"city": "Shanghai"})
    again = campaigns.put("win-back", campaign({"all": [{"segment": "shanghai"}]}), "alice")
    assert again["result"] == "updated"
    assert again["campaign"]["audience"]["all"][0]["version"] == 2
    assert campaigns.load("win-back").matcher({"city": "Beijing"})


def test_unknown_segment_and_cycles_are_rejected_with_paths(engine: str) -> None:
    put_seg("lapsing-high-value", SHANGHAI)
    with pytest.raises(ValidationFailed) as e:
        campaigns.put("win-back", campaign({"segment": "lapsing-hi-value"}), "alice")
    assert e.value.details[0]["hint"] == "did you mean 'lapsing-high-value'?"
    put_seg("a", SHANGHAI)
    put_seg("b", {"segment": "a"})
    with pytest.raises(ValidationFailed) as e:
        put_seg("a", {"any": [{"segment": "b"}]})
    assert e.value.details[0]["message"] == "cycle: a → b → a"
    with pytest.raises(ValidationFailed):
        put_seg("self", {"segment": "self"})


def test_delete_only_when_no_campaign_or_segment_uses_it(engine: str) -> None:
    put_seg("shanghai", SHANGHAI)
    put_seg("gold-shanghai", {"all": [{"segment": "shanghai"},
                                      {"attr": "tier", "op": "eq", "value": "gold"}]})
    campaigns.put("win-back", campaign({"segment": "gold-shanghai"}), "alice")
    with pytest.raises(Conflict) as e:
        segments.delete("shanghai", "alice")
    assert {d["message"] for d in e.value.details} == {
        "referenced by campaign:win-back", "referenced by segment:gold-shanghai"}
    campaigns.delete("win-back", "alice")
    with pytest.raises(Conflict):
        segments.delete("shanghai", "alice")  # gold-shanghai still does
    segments.delete("gold-shanghai", "alice")
    segments.delete("shanghai", "alice")
    with pytest.raises(NotFound):
        segments.get("shanghai")
    actions = [a["action"] for a in campaigns.audit(None, 100, None, "shanghai")["items"]]
    assert actions[0] == "delete"


def test_sync_stores_segment_files_referenced_ones_first(engine: str, tmp_path: Path) -> None:
    from rich.console import Console

    from chalicelib.cli.campaigns_sync import sync

    (tmp_path / "segments").mkdir()
    # "a-gold" sorts first but references "b-shanghai": stored second
    for slug, aud in (("a-gold", {"all": [{"segment": "b-shanghai"},
                                          {"attr": "tier", "op": "eq", "value": "gold"}]}),
                      ("b-shanghai", SHANGHAI)):
        (tmp_path / "segments" / f"{slug}.json").write_text(
            json.dumps({"$schema": "./schema.json", **seg_doc(slug, aud)}, ensure_ascii=False))
    console = Console(record=True, width=200)
    assert sync(console, tmp_path, [], who="cli:test", prune=False, dry_run=False) == 0
    assert segments.get("a-gold")["version"] == 1
    console = Console(record=True, width=200)
    assert sync(console, tmp_path, [], who="cli:test", prune=False, dry_run=False) == 0
    assert console.export_text().splitlines()[-1] == "2 unchanged"


def test_size_estimate_and_the_weekly_snapshot(engine: str) -> None:
    from chalicelib.domain.members.model import NewMember
    from chalicelib.services.members import members

    for i in range(12):
        members.register(NewMember.model_validate_json(json.dumps(
            {"member_id": f"m-{i:02d}", "city": "Shanghai" if i % 3 == 0 else "Chengdu"})))
    put_seg("shanghai", SHANGHAI)
    now = segments.estimate_size("shanghai")
    assert (now["size"], now["exact"], now["trend"]) == (4, True, [])
    assert segments.snapshot_sizes() == {"segments": 1, "failed": 0}
    trend = segments.get("shanghai")["sizes"]
    assert len(trend) == 1 and trend[0]["size"] == 4 and trend[0]["week"].count("-W") == 1
    assert segments.snapshot_sizes() == {"segments": 1, "failed": 0}  # same week: rewritten
    assert len(segments.estimate_size("shanghai")["trend"]) == 1
