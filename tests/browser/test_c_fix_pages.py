"""Console fixes in a real browser: default date ranges the server picks (not the browser's
UTC date), audit entries' details and labels, and a failed rollback's details."""

from __future__ import annotations

import json
import uuid
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Stack
from tests.browser.test_console import sign_in


def test_results_first_load_sends_no_dates_and_shows_the_servers_range(
        page: Any, stack: Stack) -> None:
    sign_in(page)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url)
            if "/api/admin/campaigns/birthday-gift/results" in r.url else None)
    page.goto("/#/results/birthday-gift")
    _, api = stack.call("GET", "/admin/campaigns/birthday-gift/results", "marketer")
    page.wait_for_selector(f"#results-body[data-range='{api['from']}..{api['to']}']")
    assert asked and "from=" not in asked[0] and "to=" not in asked[0], asked
    expect(page.locator("#from")).to_have_value(api["from"])  # the campaign timezone's days
    expect(page.locator("#to")).to_have_value(api["to"])


def test_audit_month_is_the_browsers_local_month(browser: Any, stack: Stack) -> None:
    # 2025-03-31 20:00 UTC is already April in Shanghai
    ctx = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai",
                              base_url=stack.console)
    try:
        p = ctx.new_page()
        p.clock.set_fixed_time("2025-03-31T20:00:00Z")
        sign_in(p)
        p.goto("/#/audit")
        expect(p.locator("#audit-month")).to_have_value("2025-04")
    finally:
        ctx.close()


def test_audit_shows_a_points_adjustments_delta_and_reason_and_every_label(
        page: Any, stack: Stack) -> None:
    reason = f"audit-detail-{uuid.uuid4().hex[:8]}"  # the stack lives for the session
    code, body = stack.call("POST", "/admin/members/m-br-2/points", "admin",
                            {"delta": 7, "reason": reason})
    assert code in (200, 201), body
    sign_in(page)
    page.goto("/#/audit")
    page.fill("#audit-entity", "m-br-2")
    page.press("#audit-entity", "Enter")
    row = page.locator("#audit tbody tr", has_text=reason)
    expect(row).to_be_visible()
    expect(row).to_contain_text("积分")
    expect(row).to_contain_text("调整")
    expect(row).to_contain_text("7")
    expect(row).not_to_contain_text("无字段改动")
    # every action label is translated (rollback and profile changes had no key)
    page.fill("#audit-entity", "")
    page.press("#audit-entity", "Enter")
    expect(page.locator("#audit tbody tr").first).to_be_visible()
    assert "audit.a." not in page.inner_text("#audit")
    assert "audit.e." not in page.inner_text("#audit")


def test_a_failed_rollback_shows_the_servers_details(page: Any, stack: Stack) -> None:
    _, cur = stack.call("GET", "/admin/campaigns/birthday-gift", "marketer")
    doc = {**cur["campaign"], "priority": int(cur["campaign"].get("priority", 0)) + 1}
    assert stack.call("PUT", "/admin/campaigns/birthday-gift", "admin", doc)[0] == 200
    refusal = {"error": {"code": "VALIDATION_ERROR", "message": "the campaign is invalid",
                         "details": [{"path": "/actions/0/template",
                                      "message": "unknown coupon template 'gone'"}]}}
    page.route("**/rollback", lambda route: route.fulfill(
        status=400, content_type="application/json", body=json.dumps(refusal)))
    sign_in(page)
    page.goto("/#/campaigns/birthday-gift")
    row = page.locator("#versions li").nth(1)
    row.get_by_role("button", name="回滚").click()
    page.get_by_role("dialog").get_by_role("button", name="回滚").click()
    error = page.locator("#history-error")
    expect(error).to_contain_text("/actions/0/template")
    expect(error).to_contain_text("unknown coupon template 'gone'")
