"""The marketer console in a real browser: sign in, list, edit with inline server validation,
preview, publish with confirmation, language, tablet width, a member refused, and axe."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import DRAFTS, ROOT, Stack, axe_violations, shot


def sign_in(page: Any) -> None:
    """Keyboard only: the dev sign-in form (local stack) as a marketer."""
    page.goto("/")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    sub = page.get_by_label("用户名")
    sub.focus()
    sub.fill("alice")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="活动")).to_be_visible()


def drafts() -> set[str]:
    docs = [json.loads(p.read_text()) for p in (ROOT / "campaigns").glob("*.json")]
    return {d["id"] for d in docs if "trigger" in d and d["status"] == "draft"} | DRAFTS


def no_horizontal_scroll(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_member_token_is_refused_with_a_clear_message(page: Any, stack: Stack) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    assert axe_violations(page) == []
    shot(page, "signin")
    page.get_by_label("或粘贴访问令牌").fill(stack.tokens["member"])
    page.get_by_role("button", name="使用令牌").click()
    expect(page.get_by_role("alert")).to_contain_text("会员令牌不能登录控制台")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    # The API refuses it too, whatever the page does.
    assert stack.call("GET", "/admin/campaigns", role="member")[0] == 403


def test_campaign_list_filters_searches_and_switches_language(page: Any) -> None:
    sign_in(page)
    rows = page.locator("table.list tbody tr")
    expect(rows.filter(has_text="birthday-gift")).to_have_count(1)
    assert rows.count() >= 5
    page.get_by_label("状态").select_option("draft")
    expect(rows).to_have_count(len(drafts()))
    for row in rows.all():
        expect(row).to_contain_text("草稿")
    page.get_by_label("状态").select_option("")
    page.get_by_label("搜索").fill("double")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("double11")
    page.get_by_label("搜索").fill("")
    assert axe_violations(page) == []
    shot(page, "campaigns")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Trigger")).to_be_visible()
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="活动")).to_be_visible()
    page.set_viewport_size({"width": 820, "height": 1180})  # a tablet, portrait
    assert no_horizontal_scroll(page)


def test_edit_validate_preview_and_publish_birthday_gift(page: Any, stack: Stack) -> None:
    sign_in(page)
    page.get_by_role("link", name="Birthday gift").click()
    editor = page.locator(".cm-content")
    expect(editor).to_contain_text('"days_before": 0')
    expect(page.locator("#campaign-status")).to_contain_text("草稿")

    # Type a misspelt field after "days_before" and validate on the server.
    page.locator(".cm-line", has_text='"days_before": 0').click()
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.keyboard.insert_text('"local_tme": true,')
    lines = page.locator(".cm-line").all_inner_texts()
    line = next(i for i, t in enumerate(lines) if '"local_tme"' in t) + 1
    page.get_by_role("button", name="校验").click()
    problem = page.locator("#problems li")
    expect(problem).to_have_count(1)
    expect(problem).to_contain_text(f"第 {line} 行")
    expect(problem).to_contain_text("/trigger/local_tme")
    expect(problem).to_contain_text("did you mean 'local_time'")
    marked = page.locator(".cm-lintRange-error")
    expect(marked).to_have_text('"local_tme"')
    assert lines[line - 1] in page.locator(".cm-line", has=marked).inner_text()
    assert axe_violations(page) == []
    shot(page, "editor-error")

    # Fix it (undo the typing) and validate again.
    editor.click()
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+z")
    expect(editor).not_to_contain_text("local_tme")
    page.get_by_role("button", name="校验").click()
    expect(page.locator("#problem-summary")).to_contain_text("校验通过")
    expect(page.locator(".cm-lintRange-error")).to_have_count(0)

    # Preview: every loaded member has a birthday, so all three are in the audience.
    page.get_by_role("button", name="预览").click()
    expect(page.locator("#audience-size")).to_have_text("3")
    samples = page.locator("#preview table tbody tr")
    expect(samples).to_have_count(3)
    expect(page.locator("#preview")).not_to_contain_text("王小明")  # names are masked
    shot(page, "editor-preview")

    # Publish, through the confirmation dialog.
    page.get_by_role("button", name="发布").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("发布此活动")
    assert axe_violations(page) == []
    shot(page, "publish-confirm")
    dialog.get_by_role("button", name="发布").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("status")).to_contain_text("进行中")
    expect(page.locator("#campaign-status")).to_contain_text("进行中")
    expect(page.get_by_role("button", name="暂停")).to_be_visible()
    code, live = stack.call("GET", "/admin/campaigns/birthday-gift", role="marketer")
    assert (code, live["status"], live["updated_by"]) == (200, "active", "alice")
    audit = stack.call("GET", "/admin/audit?entity_id=birthday-gift", role="marketer")[1]
    assert any(re.search("status", str(i)) and i.get("who", i.get("actor")) == "alice"
               for i in audit["items"]), audit


def test_cancelling_the_dialog_changes_nothing_and_shows_the_diff(page: Any,
                                                                   stack: Stack) -> None:
    sign_in(page)
    page.get_by_role("link", name="Double 11", exact=False).first.click()
    expect(page.locator(".cm-content")).to_contain_text('"id": "double11"')
    before = stack.call("GET", "/admin/campaigns/double11", role="marketer")[1]
    page.locator(".cm-line", has_text='"priority"').click()
    page.keyboard.press("End")
    page.keyboard.press("Shift+Home")
    page.keyboard.insert_text('"priority": 7,')
    page.get_by_role("button", name="保存").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("ins")).to_contain_text('"priority": 7,')
    expect(dialog.locator("del")).to_contain_text('"priority"')
    dialog.get_by_role("button", name="取消").click()
    expect(dialog).to_be_hidden()
    after = stack.call("GET", "/admin/campaigns/double11", role="marketer")[1]
    assert after["version"] == before["version"]
    page.set_viewport_size({"width": 820, "height": 1180})
    assert no_horizontal_scroll(page)
