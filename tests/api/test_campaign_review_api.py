"""Console review endpoints: preview job polling, version list and rollback (marketer and
admin only; rollback honours Idempotency-Key)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOC: dict[str, Any] = json.loads((ROOT / "campaigns" / "birthday-gift.json").read_text())
URL = "/admin/campaigns/birthday-gift"


def draft(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(DOC)
    doc["status"] = "draft"
    doc.update(changes)
    return doc


def test_versions_and_rollback_over_http(api: Any) -> None:
    api.put(URL, role="marketer", body=draft())
    api.put(URL, role="marketer", body=draft(name="Renamed"))
    listed = api.get(f"{URL}/versions", role="marketer").json
    assert listed["current"] == 2 and [v["version"] for v in listed["items"]] == [2, 1]
    key = {"Idempotency-Key": "rollback-1"}
    r = api.post(f"{URL}/rollback", role="admin", sub="ann", headers=key,
                 body={"version": 1, "expected_version": 2})
    assert r.status_code == 200, r.json
    assert (r.json["version"], r.json["result"], r.json["name"]) == (3, "rolled_back",
                                                                    DOC["name"])
    replay = api.post(f"{URL}/rollback", role="admin", sub="ann", headers=key,
                      body={"version": 1, "expected_version": 2})
    assert replay.json["version"] == 3  # the same answer, no fourth version
    assert api.get(f"{URL}/versions", role="marketer").json["current"] == 3
    assert api.post(f"{URL}/rollback", role="marketer",
                    body={"version": 1, "expected_version": 2}).status_code == 409
    assert api.post(f"{URL}/rollback", role="marketer", body={"version": 0}).status_code == 400
    assert api.post(f"{URL}/rollback", role="marketer",
                    body={"version": 1, "extra": 1}).status_code == 400
    assert api.get("/admin/campaigns/nope/versions", role="marketer").status_code == 404


def test_members_and_services_are_refused(api: Any) -> None:
    api.put(URL, role="marketer", body=draft())
    for role in ("member", "service"):
        assert api.get(f"{URL}/versions", role=role).status_code == 403
        assert api.post(f"{URL}/rollback", role=role, body={"version": 1}).status_code == 403
        assert api.get(f"{URL}/preview/j-1", role=role).status_code == 403


def test_an_unknown_preview_job_is_404(api: Any) -> None:
    assert api.get(f"{URL}/preview/j-1", role="marketer").status_code == 404
