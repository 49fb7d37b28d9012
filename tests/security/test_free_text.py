"""Free text members and marketers send (names, descriptions, messages, reasons) refuses
control characters and bidirectional overrides, on every endpoint that takes it, with the
field's JSON path; multi-line fields keep newline and tab."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
NUL, RLO = "\x00", "\u202e"
# Each forbidden character once: C0, DEL/C1, bidi embeddings/overrides, isolates, marks.
BAD_CHARS = [NUL, "\x1b", "\x7f", "\x85", "\u202a", RLO, "\u2066", "\u2069", "\u200e", "\u200f"]


def _file(name: str) -> dict[str, Any]:
    return json.loads((ROOT / "campaigns" / name).read_text(encoding="utf-8"))


def _set(doc: dict[str, Any], pointer: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    *parents, last = pointer.strip("/").split("/")
    node: Any = doc
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


CAMPAIGN = _file("birthday-gift.json")
TEMPLATE = _file("coupons/birthday-20.json")
PROGRAM = _file("program.json")

# (id, method, path, role, base body, JSON pointer of a free-text field)
CASES: list[tuple[str, str, str, str, Callable[[], dict[str, Any]], str]] = [
    ("member-name", "PATCH", "/me", "member", dict, "/name"),
    ("register-name", "POST", "/members", "service", lambda: {"member_id": "m-ft"}, "/name"),
    ("operator-name", "PATCH", "/members/m-ft", "service", dict, "/name"),
    ("segment-city", "PATCH", "/admin/members/m-ft/segmentation", "marketer", dict, "/city"),
    ("segment-attribute", "PATCH", "/admin/members/m-ft/segmentation", "marketer",
     lambda: {"attributes": {}}, "/attributes/note"),
    ("campaign-name", "PUT", "/admin/campaigns/birthday-gift", "marketer",
     lambda: CAMPAIGN, "/name"),
    ("campaign-description", "PUT", "/admin/campaigns/birthday-gift", "marketer",
     lambda: CAMPAIGN, "/description"),
    ("message-title", "PUT", "/admin/campaigns/birthday-gift", "marketer",
     lambda: CAMPAIGN, "/actions/1/content/zh-CN/title"),
    ("message-body", "PUT", "/admin/campaigns/birthday-gift", "marketer",
     lambda: CAMPAIGN, "/actions/1/content/en-US/body"),
    ("template-name", "PUT", "/admin/coupon-templates/birthday-20", "marketer",
     lambda: TEMPLATE, "/name"),
    ("template-description", "PUT", "/admin/coupon-templates/birthday-20", "marketer",
     lambda: TEMPLATE, "/description"),
    ("program-name", "PUT", "/admin/program", "marketer", lambda: PROGRAM, "/name"),
    ("tier-name", "PUT", "/admin/program", "marketer", lambda: PROGRAM, "/tiers/0/name"),
    ("reward-name", "PUT", "/admin/program", "marketer", lambda: PROGRAM, "/rewards/0/name"),
    ("reward-description", "PUT", "/admin/program", "marketer", lambda: PROGRAM,
     "/rewards/0/description"),
    ("adjustment-reason", "POST", "/admin/members/m-ft/points", "admin",
     lambda: {"delta": 10}, "/reason"),
]
MULTI_LINE = {"campaign-description", "message-body", "template-description",
              "reward-description"}


def _send(api: Any, case: tuple[Any, ...], text: str) -> Any:
    _, method, path, role, base, pointer = case
    body = _set(base(), pointer, text)
    return api.call(method, path, role=role, sub="m-ft", body=body)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("char", BAD_CHARS, ids=lambda c: f"U+{ord(c):04X}")
def test_control_and_bidi_characters_are_refused_with_the_field_path(shared_api, case, char):
    resp = _send(shared_api, case, f"Spring {char}sale")
    assert resp.status_code == 400, resp.json
    details = resp.json["error"]["details"]
    hits = [d for d in details if d["path"] == case[5]]
    assert hits, details
    assert any(f"U+{ord(char):04X}" in d["message"] for d in hits), hits


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_newlines_only_where_a_field_is_multi_line(shared_api, case):
    resp = _send(shared_api, case, "line one\nline two\tend")
    bad = [d for d in (resp.json or {}).get("error", {}).get("details", [])
           if d["path"] == case[5]]
    if case[0] in MULTI_LINE:
        assert not bad, bad
    else:
        assert resp.status_code == 400 and bad, resp.json


def test_ordinary_chinese_and_emoji_text_passes():
    from pydantic import TypeAdapter

    from chalicelib.domain.models import safe_text

    text = "双11狂欢 · 满300减50 🎉 (Li Lei's 「VIP」 offer, 第2件半价)"
    assert TypeAdapter(safe_text(1, 200)).validate_python(text) == text
