"""The segmentation audit outlives erasure, so it never holds a member's tag names."""

from __future__ import annotations

import json
from typing import Any

from tests.api.test_member_trust import SEGMENT, _entries, _register


def test_after_erasure_no_audit_entry_names_the_members_tags(api_on: Any) -> None:
    _register(api_on, tags=["b2b"])
    r = api_on.patch(SEGMENT.format("m-1"), role="marketer", sub="alice",
                     body={"tags": ["diabetic-care", "vip"]})
    assert r.status_code == 200, r.json
    r = api_on.patch(SEGMENT.format("m-1"), role="marketer", sub="alice",
                     body={"tags": ["vip"]})
    assert r.status_code == 200, r.json
    assert api_on.delete("/me", role="member", sub="m-1").status_code in (200, 204)
    entries = _entries(api_on, "m-1")
    assert len(entries) == 2
    text = json.dumps(entries, ensure_ascii=False)
    for tag in ("diabetic-care", "vip", "b2b"):
        assert tag not in text, entries
    assert [e["changes"][0] for e in entries] == [
        {"path": "/tags", "added": 0, "removed": 1}, {"path": "/tags", "added": 2, "removed": 1}]
