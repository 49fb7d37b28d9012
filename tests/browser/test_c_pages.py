"""Coupon templates, the loyalty program, member support and the audit log in a real browser:
create a coupon template (validated, saved after a diff, funnel, code batch download), edit
and publish the program after a diff, look up a member (masked, and the lookup shows in the
audit log), keyboard and tablet width, axe and screenshots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import ROOT, Stack, axe_violations, shot
from tests.browser.test_console import no_horizontal_scroll, sign_in


def a_typo_is_reported_at_its_line_then_undone(page: Any) -> None:
    """A typo is reported by the server at its line, in the editor; undone, it validates."""
    page.locator(".cm-line", has_text='"name"').click()
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.keyboard.insert_text('"colour": "red",')
    lines = page.locator(".cm-line").all_inner_texts()
    line = next(i for i, t in enumerate(lines) if '"colour"' in t) + 1
    page.get_by_role("button", name="校验").click()
    problem = page.locator("#problems li")
    expect(problem).to_have_count(1)
    expect(problem).to_contain_text("/colour")
    expect(problem).to_contain_text(f"第 {line} 行")
    expect(page.locator(".cm-lintRange-error")).to_have_text('"colour"')
    page.locator(".cm-content").click()
    page.keyboard.press("Control+z")
    expect(page.locator(".cm-content")).not_to_contain_text("colour")
    page.get_by_role("button", name="校验").click()
    expect(page.locator("#problem-summary")).to_contain_text("校验通过")


def test_create_a_coupon_template_then_generate_and_download_codes(page: Any,
                                                                   stack: Stack) -> None:
    sign_in(page)
    page.get_by_role("link", name="优惠券", exact=True).click()
    expect(page.get_by_role("heading", name="优惠券模板")).to_be_visible()
    page.get_by_role("link", name="新建优惠券模板").click()
    expect(page.locator(".cm-content")).to_contain_text('"benefit"')
    page.get_by_label("模板 ID").fill("console-new-10")
    a_typo_is_reported_at_its_line_then_undone(page)

    page.get_by_role("button", name="保存").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("保存此优惠券模板")
    dialog.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status")).to_contain_text("模板已创建")
    expect(page.locator("#stock")).to_contain_text("1,000 / 1,000")
    expect(page.locator("#funnel-claimed")).to_have_text("0")
    code, stored = stack.call("GET", "/admin/coupon-templates/console-new-10", "marketer")
    assert code == 200 and stored["definition"]["name"] == "新人 ¥10 券"
    audit = stack.call("GET", "/admin/audit?entity_id=console-new-10", "marketer")[1]["items"]
    assert [(i["who"], i["entity"], i["action"]) for i in audit] == [
        ("alice", "coupon_template", "create")]

    # Code batches: generate, listed, downloaded as CSV (behind the bearer token).
    page.get_by_label("生成数量").fill("5")
    page.get_by_role("button", name="生成券码").click()
    expect(page.get_by_role("status")).to_contain_text("已生成 5 个券码")
    rows = page.locator("#batches tbody tr")
    expect(rows).to_have_count(1)
    with page.expect_download() as got:
        rows.first.get_by_role("button", name="下载 CSV").click()
    csv = Path(got.value.path()).read_text(encoding="utf-8").splitlines()
    assert csv[0] == "code,status,member_id,bound_at" and len(csv) == 6
    assert axe_violations(page) == []
    shot(page, "coupon-template")

    page.get_by_role("link", name="返回优惠券模板列表").click()
    row = page.locator("#templates tbody tr", has_text="console-new-10")
    expect(row).to_contain_text("新人 ¥10 券")
    expect(row).to_contain_text("1,000")
    assert axe_violations(page) == []
    shot(page, "coupons")
    page.set_viewport_size({"width": 820, "height": 1180})
    assert no_horizontal_scroll(page)


def test_program_tiers_versions_diff_and_publish(page: Any, stack: Stack) -> None:
    program = json.loads((ROOT / "campaigns" / "program.json").read_text())
    code, first = stack.call("PUT", "/admin/program", "admin", program)
    assert code == 200, first
    sign_in(page)
    page.get_by_role("link", name="会员计划").click()
    expect(page.get_by_role("heading", name="会员计划")).to_be_visible()
    expect(page.locator("#tiers tbody tr")).to_have_count(len(program["tiers"]))
    expect(page.locator("#tiers")).to_contain_text("金卡 Gold")
    expect(page.locator("#earning")).to_contain_text("beauty \u00d72")
    assert axe_violations(page) == []
    shot(page, "program")

    page.get_by_role("button", name="编辑计划").click()
    page.locator(".cm-line", has_text='"max_points_per_order"').click()
    page.keyboard.press("End")
    page.keyboard.press("Shift+Home")
    page.keyboard.insert_text('"max_points_per_order": 60000')
    page.get_by_role("button", name="发布新版本").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("ins")).to_contain_text("60000")
    assert axe_violations(page) == []
    dialog.get_by_role("button", name="发布新版本").click()
    expect(page.get_by_role("status")).to_contain_text(f"已发布版本 {first['version'] + 1}")
    expect(page.locator("#earning")).to_contain_text("60,000")
    page.get_by_role("button", name=f"查看版本 {first['version'] + 1} 的改动").click()
    expect(page.locator("#version-diff ins")).to_contain_text("60000")
    expect(page.locator("#version-diff del")).to_contain_text("50000")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Loyalty program")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Birthday points")).to_be_visible()
    page.get_by_role("button", name="中文").click()
    live = stack.call("GET", "/admin/program", "marketer")[1]
    assert live["program"]["earning"]["max_points_per_order"] == 60000
    assert live["published_by"] == "alice"
    page.set_viewport_size({"width": 820, "height": 1180})
    assert no_horizontal_scroll(page)


def test_look_up_a_member_masked_and_the_lookup_is_audited(page: Any, stack: Stack) -> None:
    sign_in(page)
    page.get_by_role("link", name="会员查询").click()
    box = page.get_by_label("会员 ID")
    box.focus()
    box.fill("m-br-0")
    page.keyboard.press("Enter")  # keyboard only
    profile = page.locator("#profile")
    expect(profile).to_contain_text("王*明")
    expect(profile).to_contain_text("****-03-15")
    expect(page.locator("#audited")).to_contain_text("alice")
    expect(page.locator("main")).not_to_contain_text("王小明")
    expect(page.locator("main")).not_to_contain_text("1990")
    expect(page.locator("#points-available")).to_have_text("0")
    expect(page.locator("#adjust-delta")).to_have_count(0)  # admins only
    assert axe_violations(page) == []
    shot(page, "member")

    # The lookup is in the audit log: who looked at whom, when.
    page.get_by_role("link", name="审计日志").click()
    page.locator("#audit-entity").fill("m-br-0")
    page.get_by_role("button", name="查看", exact=True).click()
    row = page.locator("#audit tbody tr").first
    expect(row).to_contain_text("alice")
    expect(row).to_contain_text("m-br-0")
    expect(row).to_contain_text("查询")
    audit = stack.call("GET", "/admin/audit?entity_id=m-br-0", "admin")[1]["items"]
    assert audit[0]["who"] == "alice" and audit[0]["action"] == "lookup"
    page.locator("#audit-entity").fill("")
    page.get_by_role("button", name="查看", exact=True).click()
    expect(page.locator("#audit tbody tr").first).to_be_visible()
    page.locator("#audit details summary").first.click()
    assert axe_violations(page) == []
    shot(page, "audit")
    page.set_viewport_size({"width": 820, "height": 1180})
    assert no_horizontal_scroll(page)


def test_an_admin_adjusts_points_with_a_reason_after_confirming(page: Any, stack: Stack) -> None:
    page.goto("/")
    page.get_by_label("角色").select_option("admin")
    page.get_by_label("用户名").fill("root-1")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="活动")).to_be_visible()
    page.goto("/#/members/m-br-1")
    expect(page.locator("#profile")).to_contain_text("李*")
    page.get_by_label("调整积分（负数为扣减）").fill("50")  # noqa: RUF001 (the UI's own text)
    page.get_by_label("原因").fill("客诉补偿 goodwill")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="调整", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("已调整 50 积分")
    expect(page.locator("#points-available")).to_have_text("50")
    expect(page.locator("#ledger")).to_contain_text("客诉补偿 goodwill")
    audit = stack.call("GET", "/admin/audit", "admin")[1]["items"]
    assert any(i["entity"] == "points" and i["action"] == "adjust" and i["who"] == "root-1"
               for i in audit), audit
    assert axe_violations(page) == []
