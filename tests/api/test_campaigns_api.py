"""Admin campaign API: versions and history, status changes, drafts-only delete, preview,
the audit log, roles and validation errors with paths and hints."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC: dict[str, Any] = json.loads((ROOT / "campaigns" / "birthday-gift.json").read_text())
URL = "/admin/campaigns/birthday-gift"


def draft(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(DOC)
    doc["status"] = "draft"
    doc.update(changes)
    return doc


def test_put_creates_version_1_and_an_identical_put_changes_nothing(api: Any) -> None:
    r = api.put(URL, role="marketer", sub="alice", body=draft())
    assert r.status_code == 200, r.json
    assert (r.json["version"], r.json["result"], r.json["created_by"]) == (1, "created", "alice")
    assert r.json["campaign"]["trigger"] == {"type": "birthday", "at": "09:00",
                                             "days_before": 0, "local_time": True}
    again = api.put(URL, role="marketer", body=draft())
    assert (again.json["version"], again.json["result"]) == (1, "unchanged")


def test_every_change_is_a_new_version_and_old_versions_stay_readable(api: Any) -> None:
    api.put(URL, role="marketer", body=draft())
    r = api.put(URL, role="admin", sub="bob", body=draft(name="Birthday gift v2"))
    assert (r.json["version"], r.json["updated_by"], r.json["created_by"]) == (2, "bob", "m-1")
    live = api.get(URL, role="marketer").json
    assert live["name"] == "Birthday gift v2"
    assert [v["version"] for v in live["versions"]] == [1, 2]
    assert api.get(f"{URL}?version=1", role="marketer").json["campaign"]["name"] == \
        "Birthday gift"
    assert api.get(f"{URL}?version=9", role="marketer").status_code == 404
    assert api.get(f"{URL}?version=abc", role="marketer").status_code == 400


def test_invalid_campaign_is_rejected_with_paths_and_hints(api: Any) -> None:
    doc = draft()
    doc["trigger"]["local_tme"] = True
    r = api.put(URL, role="marketer", body=doc)
    assert r.status_code == 400
    assert r.json["error"]["details"] == [{
        "path": "/trigger/local_tme", "message": "unknown field 'local_tme'",
        "hint": "did you mean 'local_time'? remove it, or check the spelling against "
                "campaigns/schema.json"}]


def test_the_body_id_must_match_the_url(api: Any) -> None:
    r = api.put("/admin/campaigns/other-id", role="marketer", body=draft())
    assert r.status_code == 400 and r.json["error"]["details"][0]["path"] == "/id"


def test_lint_warnings_come_back_with_a_saved_campaign(api: Any) -> None:
    r = api.put(URL, role="marketer", body=draft(budget=None))
    assert r.status_code == 200
    assert "no-budget" in [w["code"] for w in r.json["warnings"]]


@pytest.mark.parametrize("role", ["member", "service"])
def test_only_marketers_and_admins_reach_the_admin_api(api: Any, role: str) -> None:
    assert api.put(URL, role=role, body=draft()).status_code == 403
    assert api.get("/admin/campaigns", role=role).status_code == 403
    assert api.get("/admin/audit", role=role).status_code == 403


def test_status_moves_through_draft_active_paused_ended_and_no_further(api: Any) -> None:
    api.put(URL, role="marketer", body=draft())
    for status in ("active", "paused", "active", "ended"):
        r = api.post(f"{URL}/status", role="marketer", body={"status": status})
        assert (r.status_code, r.json["status"]) == (200, status)
    r = api.post(f"{URL}/status", role="marketer", body={"status": "active"})
    assert r.status_code == 409 and r.json["error"]["details"][0]["path"] == "/status"
    assert api.get(URL, role="marketer").json["versions"][-1]["status"] == "ended"


def test_a_put_cannot_skip_the_status_rules(api: Any) -> None:
    api.put(URL, role="marketer", body=draft(status="ended"))
    assert api.put(URL, role="marketer", body=draft(status="active")).status_code == 409


def test_listing_is_by_status_and_paginates(api: Any) -> None:
    for i in range(3):
        api.put(f"/admin/campaigns/c-{i}", role="marketer", body=draft(id=f"c-{i}"))
    api.post("/admin/campaigns/c-1/status", role="marketer", body={"status": "active"})
    active = api.get("/admin/campaigns?status=active", role="marketer").json
    assert [c["campaign_id"] for c in active["items"]] == ["c-1"]
    first = api.get("/admin/campaigns?limit=2", role="marketer").json
    rest = api.get(f"/admin/campaigns?limit=2&cursor={first['next_cursor']}",
                   role="marketer").json
    assert [c["campaign_id"] for c in first["items"] + rest["items"]] == ["c-0", "c-1", "c-2"]
    assert api.get("/admin/campaigns?status=live", role="marketer").status_code == 400
    assert api.get("/admin/campaigns?cursor=garbage", role="marketer").status_code == 400


def test_only_drafts_can_be_deleted_and_deletion_removes_history(api: Any) -> None:
    api.put(URL, role="marketer", body=draft())
    api.put(URL, role="marketer", body=draft(name="v2"))
    assert api.delete(URL, role="marketer").status_code == 204
    assert api.get(URL, role="marketer").status_code == 404
    r = api.put(URL, role="marketer", body=draft())  # the id can be reused
    assert r.json["version"] == 1
    api.post(f"{URL}/status", role="marketer", body={"status": "active"})
    assert api.delete(URL, role="marketer").status_code == 409
    assert api.delete("/admin/campaigns/nope", role="marketer").status_code == 404


def test_the_audit_log_says_who_changed_what_and_when(api: Any) -> None:
    api.put(URL, role="marketer", sub="alice", body=draft())
    api.put(URL, role="marketer", sub="bob", body=draft(priority=7))
    api.post(f"{URL}/status", role="admin", sub="carol", body={"status": "active"})
    items = api.get("/admin/audit", role="marketer").json["items"]
    assert [(i["who"], i["action"]) for i in items] == [
        ("carol", "status"), ("bob", "update"), ("alice", "create")]
    assert items[1]["changes"] == [{"path": "/priority", "before": 200, "after": 7}]
    assert items[0]["changes"] == [{"path": "/status", "before": "draft", "after": "active"}]
    only = api.get("/admin/audit?entity_id=nope", role="marketer").json["items"]
    assert only == []
    assert api.get("/admin/audit?month=2026-13x", role="marketer").status_code == 400


def test_preview_shows_audience_samples_occurrences_and_projection(api: Any) -> None:
    for i, (tz, bday) in enumerate([("Asia/Shanghai", "1990-03-01"),
                                    ("Europe/Berlin", "1985-07-15"), ("UTC", None)]):
        body: dict[str, Any] = {"member_id": f"m-{i}", "timezone": tz, "name": "Lena"}
        if bday:
            body["birthday"] = bday
        assert api.post("/members", role="service", body=body).status_code == 201
    api.put(URL, role="marketer", body=draft())
    r = api.post(f"{URL}/preview", role="marketer", body={"at": "2026-02-01T00:00:00Z"})
    assert r.status_code == 200, r.json
    out = r.json
    assert out["audience"] == {"size": 2, "exact": True, "profiles_read": 3}
    by_member = {s["member_id"]: s for s in out["samples"]}
    assert by_member["m-0"]["next"][0] == "2026-03-01T09:00:00+08:00"
    assert by_member["m-1"]["next"][0] == "2026-07-15T09:00:00+02:00"
    assert "Lena" not in json.dumps(out)  # names are masked
    assert out["occurrences"]["utc"][0] == "2026-02-01T01:00:00+00:00"
    # 2 members x ~1.9 birthdays before the window ends (2027-12-31), 1 a year at most
    assert out["projection"]["projected"]["coupons"] == 4
    assert out["projection"]["budget"]["coupons"]["within"] is True


def test_preview_of_an_unsaved_edit_and_of_a_missing_campaign(api: Any) -> None:
    r = api.post(f"{URL}/preview", role="marketer", body={"campaign": draft(),
                                                           "scan_limit": 10})
    assert r.status_code == 200 and r.json["audience"]["size"] == 0
    assert api.post("/admin/campaigns/nope/preview", role="marketer", body={}
                    ).status_code == 404
    bad = api.post(f"{URL}/preview", role="marketer", body={"campaign": {"id": 1}})
    assert bad.status_code == 400


def test_put_lints_against_the_coupon_templates_on_the_stack(api: Any) -> None:
    from chalicelib.domain.coupons.template import parse_template
    from chalicelib.services.coupons import coupons

    coupons.put_template("birthday-20", parse_template({
        "name": "¥20 birthday coupon", "benefit": {"type": "fixed", "amount": 2000},
        "validity": {"starts_at": "2026-01-01T00:00:00+08:00",
                     "ends_at": "2027-12-31T23:59:59+08:00"}}), "test")
    assert api.put(URL, role="marketer", body=draft()).json["warnings"] == []
    r = api.put("/admin/campaigns/other", role="marketer", body=draft(
        id="other", actions=[{"type": "issue_coupon", "template": "nope"}]))
    assert [w["code"] for w in r.json["warnings"]] == ["unknown-template"]


def test_the_audit_log_also_shows_other_marketer_changes_in_one_shape(api: Any) -> None:
    from chalicelib.domain.loyalty.program import DEFAULT_PROGRAM, parse_program
    from chalicelib.services.loyalty import program

    program.publish(parse_program(DEFAULT_PROGRAM), "dana")
    items = api.get("/admin/audit", role="admin").json["items"]
    assert [(i["who"], i["entity"], i["action"]) for i in items] == [
        ("dana", "program", "publish")]


def test_validate_reports_errors_and_lint_without_storing_anything(api_on: Any) -> None:
    """The console's "validate": every error with its JSON path and hint, nothing stored."""
    doc = draft()
    doc["trigger"]["local_tme"] = True
    r = api_on.post(f"{URL}/validate", role="marketer", body=doc)
    assert r.status_code == 400, r.json
    assert r.json["error"]["details"] == [{
        "path": "/trigger/local_tme", "message": "unknown field 'local_tme'",
        "hint": "did you mean 'local_time'? remove it, or check the spelling against "
                "campaigns/schema.json"}]
    ok = api_on.post(f"{URL}/validate", role="admin", body=draft())
    assert (ok.status_code, ok.json["valid"], ok.json["errors"]) == (200, True, [])
    assert [w["code"] for w in ok.json["warnings"]] == ["unknown-template"]
    assert api_on.get(URL, role="marketer").status_code == 404  # nothing was stored
    assert api_on.get("/admin/audit", role="marketer").json["items"] == []


def test_validate_takes_what_the_editor_holds_even_when_it_is_not_json(api: Any) -> None:
    r = api.post(f"{URL}/validate", role="marketer", raw='{"id": "birthday-gift",\n  "name": }')
    assert r.status_code == 400
    assert r.json["error"]["details"][0]["path"] == "/"
    assert "line 2 column" in r.json["error"]["details"][0]["message"]
    other = api.post("/admin/campaigns/other-id/validate", role="marketer", body=draft())
    assert [e["path"] for e in other.json["error"]["details"]] == ["/id"]
    assert api.post(f"{URL}/validate", role="member", body=draft()).status_code == 403
