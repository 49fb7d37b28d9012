"""Preview that stays fast, and version history with rollback, in a real browser: the panel
shows the sample estimate with its margin at once, then the exact count from the background
job; rolling back stores a new version equal to an old one, after a confirmation."""

from __future__ import annotations

import copy
import json
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import ROOT, Stack, axe_violations, shot
from tests.browser.test_console import no_horizontal_scroll, sign_in

CID = "preview-sample"
MEMBERS = 250  # more than the smallest sample size (100): the preview must estimate


def campaign(**changes: Any) -> dict[str, Any]:
    # Paused, and aimed at members no other test loads (city Hangzhou, no birthday), so the
    # other browser tests see neither the campaign run nor its members in their audiences.
    doc = copy.deepcopy(json.loads((ROOT / "campaigns" / "win-back.json").read_text()))
    doc.update(id=CID, name="Preview sample", status="paused",
               audience={"attr": "city", "op": "eq", "value": "Hangzhou"})
    doc.update(changes)
    return doc


def setup(stack: Stack) -> None:
    code, body = stack.call("PUT", f"/admin/campaigns/{CID}", "admin", campaign())
    assert code == 200, body
    for i in range(MEMBERS):
        code, body = stack.call("POST", "/members", "service",
                                {"member_id": f"m-pv-{i:03d}", "city": "Hangzhou",
                                 "timezone": "Asia/Shanghai" if i % 5 else "Asia/Tokyo",
                                 "locale": "zh-CN", "name": "测试"})
        assert code in (201, 409), body


def test_preview_shows_the_estimate_then_the_exact_count(page: Any, stack: Stack) -> None:
    setup(stack)
    sign_in(page)
    page.goto(f"/#/campaigns/{CID}")
    expect(page.locator(".cm-content")).to_contain_text('"Hangzhou"')
    page.get_by_label("样本量").select_option("100")
    page.get_by_role("button", name="预览").click()
    audience = page.locator("#audience")
    expect(audience).to_have_attribute("data-exact", "false")
    expect(page.locator("#audience-margin")).to_contain_text("±")
    expect(page.locator("#audience-kind")).to_contain_text("样本估算")
    expect(page.locator("#audience-counting")).to_be_visible()
    expect(page.locator("#timezones")).to_contain_text("Asia/Shanghai")
    shot(page, "preview-estimate")
    # The count job runs on the delivery queue of the local stack, as Lambda would run it.
    expect(audience).to_have_attribute("data-exact", "true", timeout=60_000)
    expect(page.locator("#audience-size")).to_have_text(str(MEMBERS))
    expect(page.locator("#audience-kind")).to_contain_text("精确计数")
    expect(page.locator("#preview")).not_to_contain_text("测试")  # names are masked
    assert axe_violations(page) == []
    shot(page, "preview-exact")
    page.set_viewport_size({"width": 820, "height": 1180})
    assert no_horizontal_scroll(page)


def test_rollback_creates_a_new_version_equal_to_an_old_one(page: Any, stack: Stack) -> None:
    code, _ = stack.call("PUT", f"/admin/campaigns/{CID}", "admin", campaign())
    assert code == 200
    code, v2 = stack.call("PUT", f"/admin/campaigns/{CID}", "admin",
                          campaign(name="Preview sample (edited)", priority=7))
    assert code == 200, v2
    old = v2["version"] - 1
    sign_in(page)
    page.goto(f"/#/campaigns/{CID}")
    history = page.locator("#versions")
    row = history.locator(f"li[data-version='{old}']")
    expect(row).to_be_visible()
    row.get_by_role("button", name="对比").click()
    expect(page.locator("#version-diff")).to_contain_text("Preview sample (edited)")
    row.get_by_role("button", name="回滚").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("回滚到旧版本")
    expect(dialog).to_contain_text("edited")  # the diff of what changes
    assert axe_violations(page) == []
    shot(page, "history-rollback")
    dialog.get_by_role("button", name="回滚").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".notice")).to_contain_text(f"新版本 {v2['version'] + 1}")
    expect(history.locator(f"li[data-version='{v2['version'] + 1}']")).to_contain_text("当前")
    expect(page.locator(".cm-content")).not_to_contain_text("(edited)")
    _, new = stack.call("GET", f"/admin/campaigns/{CID}", "marketer")
    _, before = stack.call("GET", f"/admin/campaigns/{CID}?version={old}", "marketer")
    assert new["version"] == v2["version"] + 1 and new["campaign"] == before["campaign"]
    audit = stack.call("GET", f"/admin/audit?entity_id={CID}", "marketer")[1]["items"]
    assert audit[0]["action"] == "rollback" and audit[0]["who"] == "alice"
