"""Every refusal code a detail carries is a registered ``details[].reason``, never only a
bare code in ``details[].message`` (claims, codes, audiences)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chalicelib.api import errors

ROOT = Path(__file__).resolve().parents[2]
CODE = r"[A-Z][A-Z0-9_]{3,}"


def _files() -> dict[str, str]:
    return {str(p.relative_to(ROOT)): p.read_text()
            for p in sorted((ROOT / "chalicelib").rglob("*.py"))}


def _detail_dicts(src: str) -> list[str]:
    """Dict literals that look like error details (they have a "message" key)."""
    return [m.group() for m in re.finditer(r'\{[^{}]*"message":[^{}]*\}', src)]


def test_every_reason_the_sources_can_emit_is_registered() -> None:
    emitted: dict[str, str] = {}
    for path, src in _files().items():
        for code in re.findall(rf'"reason": "({CODE})"', src):
            emitted.setdefault(code, path)
        for code in re.findall(rf'"message": "({CODE})"', src):  # bare codes as messages
            emitted.setdefault(code, path)
        if "/domain/coupons/" in path:  # problem functions whose result becomes the reason
            for code in re.findall(rf'return "({CODE})"', src):
                emitted.setdefault(code, path)
    assert {"CLAIM_ENDED", "CLAIM_NOT_STARTED", "NOT_CLAIMABLE", "AUDIENCE",
            "NOT_ACTIVE"} <= set(emitted)  # the scan sees the claim refusals
    unregistered = {c: p for c, p in emitted.items() if c not in errors.REASONS}
    assert not unregistered, f"register these in chalicelib/api/errors.py REASONS: {unregistered}"


def test_a_detail_whose_message_is_a_code_also_carries_it_as_reason() -> None:
    bare = [(path, d) for path, src in _files().items() for d in _detail_dicts(src)
            if re.search(rf'"message": "{CODE}"', d) and '"reason"' not in d]
    assert not bare, f"details with a code in message but no reason: {bare}"


@pytest.mark.parametrize(("validity", "reason"), [
    ({"starts_at": "2020-01-01T00:00:00+08:00", "ends_at": "2021-01-01T00:00:00+08:00"},
     "CLAIM_ENDED"),
    ({"starts_at": "2098-01-01T00:00:00+08:00", "ends_at": "2099-01-01T00:00:00+08:00"},
     "CLAIM_NOT_STARTED")])
def test_a_claim_outside_its_window_answers_the_registered_reason(api, validity, reason):
    from tests.coupon_support import register, save_template, template

    save_template("closed", {**template(), "validity": validity})
    register("m-1")
    r = api.post("/me/coupons", role="member", body={"template_id": "closed"})
    assert r.status_code == 422, r.json
    [detail] = r.json["error"]["details"]
    assert detail["reason"] == reason and detail["message"] == reason
    assert reason in errors.REASONS


def test_a_claim_of_a_template_that_is_not_claimable_answers_the_registered_reason(api):
    from tests.coupon_support import register, save_template, template

    save_template("staff", {**template(), "claimable": False})
    register("m-1")
    r = api.post("/me/coupons", role="member", body={"template_id": "staff"})
    assert r.status_code == 422, r.json
    assert r.json["error"]["details"][0]["reason"] == "NOT_CLAIMABLE"
